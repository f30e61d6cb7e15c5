"""Validators for value shapes several components' configs share (endpoints, URLs), and the "did you mean"
of config messages."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

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


def split_endpoint(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The name a misspelt one most likely meant, or None: case, ``_`` and ``-`` are ignored, and a name that
    contains the word (or is contained in it) wins over a mere look-alike, so ``EMAIL`` → ``EMAIL_ADDRESS``,
    ``phone`` → ``PHONE_NUMBER``, ``api_ky`` → ``api_key`` (``difflib`` alone misses the first two)."""
    by_key = {_key(choice): choice for choice in choices}
    key = _key(word)
    if not key or not by_key:
        return None
    if key in by_key:
        return by_key[key]
    parts = [k for k in by_key if k.startswith(key) or (len(key) >= 3 and (key in k or (len(k) >= 3 and k in key)))]
    found = difflib.get_close_matches(key, parts or list(by_key), n=1, cutoff=0.0 if parts else 0.6)
    return by_key[found[0]] if found else None


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())
