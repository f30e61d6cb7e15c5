"""Validators for value shapes several components' configs share (endpoints, URLs, Datadog sites), and the "did
you mean" of config messages."""

from __future__ import annotations

import re

_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")


def endpoint(value: str) -> str:
    """``host:port`` to listen on."""
    match = _HOST_PORT.match(value)
    if not match or not 0 <= int(match.group(2)) <= 65535:
        raise ValueError(f"{value!r} is not host:port (e.g. 127.0.0.1:4318; port 0 picks a free port)")
    return value


def url(value: str) -> str:
    """An http(s) URL to send to (trailing slash removed)."""
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL (e.g. http://127.0.0.1:8126)")
    return value.rstrip("/")


def datadog_site(value: str | None) -> str | None:
    """A Datadog site (``datadoghq.com``, ``us5.datadoghq.com``...), or None when unset."""
    if value is not None and not re.match(r"^[a-z0-9.\-]+$", value):
        raise ValueError(f"{value!r} is not a Datadog site (e.g. datadoghq.com, datadoghq.eu, us5.datadoghq.com)")
    return value


def split_endpoint(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)
