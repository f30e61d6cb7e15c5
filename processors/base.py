"""The processor contract, and the registry that maps config names to processor classes."""

from __future__ import annotations

from typing import Any, Awaitable, Protocol

from glassbox.processors.model import Batch


class Processor(Protocol):
    name: str

    def start(self) -> None: ...

    def process(self, batch: Batch) -> Batch | Awaitable[Batch]: ...

    def shutdown(self) -> None: ...


def registry() -> dict[str, Any]:
    """Config name → processor class (each takes its validated settings object)."""
    from glassbox.processors.debug import DebugProcessor
    from glassbox.processors.redaction.processor import RedactionProcessor

    return {"debug": DebugProcessor, "redaction": RedactionProcessor}
