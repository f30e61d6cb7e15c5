"""What the gRPC and HTTP halves of the OTLP receiver share: counting and the partial-success message."""

from __future__ import annotations

from glassbox.collector import telemetry as T


class Counts:
    """The receiver's counters for one transport."""

    def __init__(self, telemetry: T.Telemetry, transport: str):
        self.telemetry = telemetry
        self.transport = transport

    def accepted(self, signal: str, items: int) -> None:
        self.telemetry.add(T.RECEIVER_ACCEPTED_REQUESTS, 1, transport=self.transport, signal=signal)
        self.telemetry.add(T.RECEIVER_ACCEPTED[signal], items, transport=self.transport)

    def decoded(self, signal: str, started: float) -> None:
        """How long turning one request's bytes into protobuf took (stage ``decode``), from ``perf_counter()``."""
        self.telemetry.stage("decode", started, signal=signal, transport=self.transport)

    def refused(self, signal: str, reason: str) -> None:
        self.telemetry.add(T.RECEIVER_REFUSED_REQUESTS, 1, transport=self.transport, signal=signal, reason=reason)


def partial_success_message(rejected: list[str]) -> str:
    """The first three reasons, and how many more (OTLP partial success ``error_message``)."""
    if not rejected:
        return ""
    more = f" (and {len(rejected) - 3} more)" if len(rejected) > 3 else ""
    return "; ".join(rejected[:3]) + more
