"""The ``null`` exporter: one queue item per span (its id, so the item count is the span count), sent nowhere."""

from __future__ import annotations

from glassbox.collector.delivery.store import Item
from glassbox.processors.model import Batch


class NullExporter:
    def render(self, batch: Batch) -> list[Item]:
        return [("span", span.span_id.encode()) for span in batch.spans]

    def describe(self) -> str:
        return "nowhere: every span is accepted and dropped (counted in glassbox_exporter_sent_items_total)"

    async def start(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def send(self, items: list[Item]) -> None:
        return None
