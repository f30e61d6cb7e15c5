"""What a receiver is and how it is registered.

A receiver listens, turns requests into calls of the consumer (the pipeline), and answers: accepted, refused
with a reason (bad input, too large, unauthorized), or pushed back (``Backpressure`` → HTTP 429 / gRPC
UNAVAILABLE with a delay). ``ports`` says where it listens once started (port 0 = a free port).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from glassbox.collector.telemetry import Telemetry
from glassbox.processors.base import ComponentConfig, Context, Problems


class Consumer(Protocol):
    async def consume(self, signal: str, request: Any, size: int, rejected: list[str]) -> int:
        """Take one decoded OTLP request; returns the item count; unusable spans go to ``rejected``."""
        ...


class Receiver(Protocol):
    ports: dict[str, int]

    async def start(self) -> None: ...

    async def shutdown(self) -> None: ...


@dataclass(frozen=True)
class ReceiverFactory:
    """How the relay builds one receiver type from its config section ``receivers.<type>``."""

    name: str  # the config name: `receivers.<name>`
    config: type[ComponentConfig]
    create: Callable[[Any, Context, Consumer, Telemetry], Receiver]
    check: Callable[[Any, Context], Problems] | None = None
