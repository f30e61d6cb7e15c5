"""Receiver authentication: a bearer token and/or required headers, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from glassbox.collector.receivers.otlp.config import ReceiverAuthConfig


class Authenticator:
    def __init__(self, settings: ReceiverAuthConfig | None):
        self._expected: list[tuple[str, bytes]] = []
        if settings is not None:
            if settings.bearer_token is not None:
                self._expected.append(("authorization", f"Bearer {settings.bearer_token.get_secret_value()}".encode()))
            for name, value in settings.headers.items():
                self._expected.append((name.lower(), value.get_secret_value().encode()))

    @property
    def enabled(self) -> bool:
        return bool(self._expected)

    def allows(self, headers: Iterable[tuple[str, str]]) -> bool:
        """True when every expected header is present with its value (names case-insensitive)."""
        if not self._expected:
            return True
        got: dict[str, str] = {}
        for name, value in headers:
            got.setdefault(name.lower(), value)
        return all(hmac.compare_digest(got.get(name, "").encode(), value) for name, value in self._expected)
