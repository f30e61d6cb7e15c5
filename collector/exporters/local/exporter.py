"""The ``local`` exporter: the embedded default when no Datadog destination is configured.

It stores exactly what the ``datadog`` exporter would have sent (the span event JSON and evaluation metrics)
in SQLite (``store.py``), and offers the viewer page on the admin port (``viewer.py``).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
from aiohttp import web

from glassbox.collector.delivery.store import Item
from glassbox.collector.exporters.datadog import format as F
from glassbox.collector.exporters.local.config import LocalExporterConfig
from glassbox.collector.exporters.local.store import LocalStore, derived_columns
from glassbox.collector.exporters.local.viewer import viewer_routes
from glassbox.processors.model import Batch


class LocalExporter:
    def __init__(self, settings: LocalExporterConfig, base_dir: Path | None = None):
        self.path = settings.resolved_path(base_dir)
        self.max_spans = settings.max_spans
        self.max_age = settings.max_age
        self.store: LocalStore | None = None

    def render(self, batch: Batch) -> list[Item]:
        items: list[Item] = []
        for span in batch.spans:
            if not span.is_genai:
                continue
            ml_app = F.normalize_ml_app(span.ml_app or span.service)
            event = F.span_event(span, ml_app=ml_app)
            F.encode_event(event)  # applies the same size rule as the datadog exporter (may drop input/output)
            items.append(
                (
                    "span",
                    orjson.dumps(
                        {"ml_app": ml_app, "model": span.model_name, "provider": span.model_provider, "event": event}
                    ),
                )
            )
            metrics = F.encoded_eval_metrics(span, ml_app=ml_app)
            if metrics:
                items.append((F.EVAL_KIND, b",".join(metrics)))
        for detached in batch.evaluations:
            metric = F.eval_metric(
                detached.trace_id, detached.span_id, detached.evaluation, ml_app=F.normalize_ml_app(detached.service)
            )
            items.append((F.EVAL_KIND, orjson.dumps(metric)))
        return items

    async def start(self) -> None:
        if self.store is None:
            self.store = await asyncio.to_thread(LocalStore, self.path, self.max_spans, self.max_age)

    async def shutdown(self) -> None:
        return None

    def describe(self) -> str:
        age = f", at most {self.max_age / 3600:g} h old" if self.max_age else ""
        return f"SQLite {self.path} (the newest {self.max_spans} spans{age}; `glassbox spans` lists them)"

    def routes(self) -> list[web.RouteDef]:
        """The viewer and its JSON API, served on the admin port."""
        return viewer_routes(lambda: self.store)

    async def send(self, items: list[Item]) -> None:
        assert self.store is not None, "exporter not started"
        now = time.time_ns()
        rows, evals = [], []
        for kind, payload in items:
            if kind == F.EVAL_KIND:  # one or more metrics, comma-joined (format.encoded_eval_metrics)
                for metric in orjson.loads(b"[" + payload + b"]"):
                    span = metric["join_on"]["span"]
                    evals.append(
                        (
                            span["span_id"],
                            span["trace_id"],
                            metric["label"],
                            orjson.dumps(metric),
                            metric.get("assessment"),
                        )
                    )
                continue
            data = orjson.loads(payload)
            event, metrics = data["event"], data["event"]["metrics"]
            meta = event["meta"]
            rows.append(
                (
                    now,
                    event["trace_id"],
                    event["span_id"],
                    event["parent_id"],
                    event["name"],
                    meta["span"]["kind"],
                    data["ml_app"],
                    data["model"],
                    data["provider"],
                    event["status"],
                    _int64(event["start_ns"]),
                    _int64(event["duration"]),
                    metrics.get("input_tokens"),
                    metrics.get("output_tokens"),
                    metrics.get("total_tokens"),
                    metrics.get("total_cost"),
                    event.get("session_id"),
                    orjson.dumps(event),
                    *derived_columns(event),
                )
            )
        await asyncio.to_thread(self.store.insert, rows, evals)


def _int64(value: int) -> int:
    """SQLite integers are signed 64-bit; OTLP timestamps are unsigned and may be garbage."""
    return max(-(2**63), min(int(value), 2**63 - 1))
