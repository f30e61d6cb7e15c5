"""The ``otlp`` exporter: forwards spans, logs and metrics as OTLP/HTTP protobuf (e.g. to an Agent's OTLP ingest).

Spans and log records are rendered by ``processors.wire`` from the model, so what processors changed
(redaction, enrichment) is what leaves. Serialized requests of one signal concatenate into one valid request
(protobuf merges repeated fields), which is how a batch of items becomes one POST per signal.
"""

from __future__ import annotations

import gzip

from glassbox.collector.delivery.store import Item
from glassbox.collector.errors import PermanentError
from glassbox.collector.exporters.http import HttpSession, post
from glassbox.collector.exporters.otlp.config import OtlpExporterConfig
from glassbox.processors import wire
from glassbox.processors.model import Batch

PATHS = {"traces": "/v1/traces", "logs": "/v1/logs", "metrics": "/v1/metrics"}


def without_userinfo(url: str) -> str:
    """``https://user:secret@host/x`` as ``https://***@host/x``: a URL can carry a password."""
    scheme, sep, rest = url.partition("://")
    host, at, path = rest.partition("/")
    if "@" in host:
        host = "***@" + host.rpartition("@")[2]
    return f"{scheme}{sep}{host}{at}{path}"


class OtlpExporter(HttpSession):
    def __init__(self, settings: OtlpExporterConfig):
        self.settings = settings
        self.headers = {k: v.get_secret_value() for k, v in settings.headers.items()}
        self.headers["Content-Type"] = "application/x-protobuf"
        if settings.compression == "gzip":
            self.headers["Content-Encoding"] = "gzip"

    def describe(self) -> str:
        """Where OTLP goes, for the startup summary: header names only, never their values."""
        headers = f", headers {', '.join(sorted(self.settings.headers))}" if self.settings.headers else ""
        paths = ",".join(PATHS.values())
        return f"OTLP/HTTP protobuf to {without_userinfo(self.settings.endpoint)}{{{paths}}}{headers}"

    def render(self, batch: Batch) -> list[Item]:
        items = []
        if batch.spans:
            items.append(("traces", wire.traces_request(batch.spans).SerializeToString()))
        if batch.logs:
            items.append(("logs", wire.logs_request(batch.logs).SerializeToString()))
        late = [item for item in batch.evaluations if not item.from_wire]  # the others came in forwarded logs
        if late:
            items.append(("logs", wire.evaluation_logs(late).SerializeToString()))
        items.extend(("metrics", wire.metrics_request(request).SerializeToString()) for request in batch.metrics)
        return [item for item in items if item[1]]

    async def send(self, items: list[Item]) -> None:
        """One POST per signal; a failure reports the items of the signals already accepted."""
        session = self.session
        accepted: list[int] = []
        for signal, path in PATHS.items():
            carried = [i for i, (kind, _) in enumerate(items) if kind == signal]
            if not carried:
                continue
            body = b"".join(items[i][1] for i in carried)
            if self.settings.compression == "gzip":
                body = gzip.compress(body, compresslevel=5)
            await post(
                session,
                self.settings.endpoint + path,
                body,
                self.headers,
                self.settings.timeout,
                f"otlp {signal}",
                accepted=accepted,
                items=carried,
            )
            accepted.extend(carried)
        unknown = [i for i, (kind, _) in enumerate(items) if kind not in PATHS]
        if unknown:
            raise PermanentError(
                "unknown_item_kind", f"otlp: {len(unknown)} item(s) of an unknown kind", accepted, refused=unknown
            )
