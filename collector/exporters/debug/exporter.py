"""The ``debug`` exporter: one log line per span (``detailed`` adds the Datadog span event), nothing sent."""

from __future__ import annotations

import logging

import orjson

from glassbox.collector.delivery.store import Item
from glassbox.collector.exporters.datadog import format as F
from glassbox.collector.exporters.debug.config import DebugExporterConfig
from glassbox.processors.model import Batch

log = logging.getLogger("glassbox.debug")


class DebugExporter:
    def __init__(self, settings: DebugExporterConfig):
        self.settings = settings

    def render(self, batch: Batch) -> list[Item]:
        return [
            ("span", orjson.dumps(F.span_event(span, ml_app=F.normalize_ml_app(span.service))))
            for span in batch.spans
            if span.is_genai
        ]

    def describe(self) -> str:
        return f"the relay's log ({self.settings.verbosity}): it leaves the machine with the log"

    async def start(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def send(self, items: list[Item]) -> None:
        for _, payload in items:
            event = orjson.loads(payload)
            meta = event["meta"]
            log.info(
                "span %s kind=%s model=%s tokens=%s",
                event["name"],
                meta["span"]["kind"],
                meta.get("model_name"),
                event["metrics"].get("total_tokens"),
            )
            if self.settings.verbosity == "detailed":
                log.info("%s", payload.decode())
