"""The ``otlp`` exporter: forwards spans, logs and metrics as OTLP/HTTP protobuf (e.g. to an Agent's OTLP ingest).

Spans are rebuilt from their wire origin (resource + scope + span), so whatever processors changed on the
protobuf (redaction) is what leaves. Serialized requests of one signal concatenate into one valid request
(protobuf merges repeated fields), which is how a batch of items becomes one POST.
"""

from __future__ import annotations

import gzip

import aiohttp
from glassbox.collector.config import OtlpExporter as Settings
from glassbox.collector.otlp import traces_request
from glassbox.collector.exporters.base import PermanentError, RetryableError, post
from glassbox.processors.model import Batch

PATHS = {"traces": "/v1/traces", "logs": "/v1/logs", "metrics": "/v1/metrics"}


class OtlpExporter:
    name = "otlp"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.headers = {k: v.get_secret_value() for k, v in settings.headers.items()}
        self.headers["Content-Type"] = "application/x-protobuf"
        if settings.compression == "gzip":
            self.headers["Content-Encoding"] = "gzip"
        self._session: aiohttp.ClientSession | None = None

    def render(self, batch: Batch) -> list[tuple[str, bytes]]:
        items = []
        if batch.spans:
            items.append(("traces", traces_request(batch.spans).SerializeToString()))
        items.extend(("logs", request.SerializeToString()) for request in batch.logs)
        items.extend(("metrics", request.SerializeToString()) for request in batch.metrics)
        return [item for item in items if item[1]]

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, items: list[tuple[str, bytes]]) -> None:
        assert self._session is not None, "exporter not started"
        done: set[str] = set()
        try:
            for signal in ("traces", "logs", "metrics"):
                body = b"".join(data for kind, data in items if kind == signal)
                if not body:
                    continue
                if self.settings.compression == "gzip":
                    body = gzip.compress(body, compresslevel=5)
                await post(self._session, self.settings.endpoint + PATHS[signal], body, self.headers,
                           self.settings.timeout, f"otlp {signal}")
                done.add(signal)
        except (RetryableError, PermanentError) as exc:
            exc.remaining = [item for item in items if item[0] not in done]
            raise
