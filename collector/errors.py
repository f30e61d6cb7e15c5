"""Every error the relay raises on purpose, in one place.

* ``ConfigError`` — the config is wrong; every problem at once, each ``key.path: message``.
* ``StartupError`` — a component cannot start (port taken, model missing); one line naming the key and fix.
* ``BadRequest`` — an OTLP body cannot be used; the message is safe to return to the client (HTTP 400 /
  gRPC INVALID_ARGUMENT).
* ``Backpressure`` — queues or memory are full; receivers answer HTTP 429 / gRPC UNAVAILABLE with a delay.
* ``DeliveryError`` — a destination did not take a send: ``RetryableError`` (408, 429, 5xx, connection
  errors; retried with backoff) or ``PermanentError`` (other 4xx; dead-lettered with the reason). Both say
  exactly which items the destination did accept before it failed, so the sender acknowledges those only.

``ConfigError`` and ``StartupError`` are defined beside the processor contract (``processors.base``) because
processors raise them too and must not import the collector; they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Collection

from glassbox.processors.base import ConfigError, GlassboxError, StartupError

__all__ = [
    "Backpressure",
    "BadRequest",
    "ConfigError",
    "DeliveryError",
    "GlassboxError",
    "PermanentError",
    "RetryableError",
    "StartupError",
]


class BadRequest(GlassboxError, ValueError):
    """The body is not a valid OTLP request; the message is safe to return to the client."""


class Backpressure(GlassboxError):
    """Exporter queues (or memory) are full; receivers answer 429 / UNAVAILABLE so clients retry later."""

    def __init__(self, message: str, retry_after: float = 1.0, reason: str = "queue_full"):
        super().__init__(message)
        self.retry_after = retry_after
        self.reason = reason


class DeliveryError(GlassboxError):
    """A send failed after the destination accepted the items at ``accepted`` (indices into the items given)."""

    def __init__(self, message: str, accepted: Collection[int] = ()):
        super().__init__(message)
        self.accepted = frozenset(accepted)


class RetryableError(DeliveryError):
    """Worth retrying later (``retry_after`` seconds when the destination said so)."""

    def __init__(self, message: str, retry_after: float | None = None, accepted: Collection[int] = ()):
        super().__init__(message, accepted)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """The destination refused for good. ``refused``: the indices it refused (None: every item not accepted);
    items neither accepted nor refused were not attempted and are sent again."""

    def __init__(
        self, reason: str, message: str, accepted: Collection[int] = (), refused: Collection[int] | None = None
    ):
        super().__init__(message, accepted)
        self.reason = reason
        self.refused = None if refused is None else frozenset(refused)
