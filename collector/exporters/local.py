"""The ``local`` exporter: the embedded default when no Datadog destination is configured.

It stores exactly what the ``datadog`` exporter would have sent (the span event JSON and evaluation metrics)
in SQLite, with a few columns pulled out so ``glassbox spans`` and the demo can list them without parsing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson

from glassbox.collector.config import LocalExporter as Settings
from glassbox.collector.exporters import datadog_format as F
from glassbox.processors.model import Batch

SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_ns INTEGER NOT NULL,
  trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_id TEXT NOT NULL,
  name TEXT NOT NULL, kind TEXT NOT NULL, ml_app TEXT NOT NULL,
  model_name TEXT, model_provider TEXT, status TEXT NOT NULL,
  start_ns INTEGER NOT NULL, duration_ns INTEGER NOT NULL,
  input_tokens REAL, output_tokens REAL, total_tokens REAL, total_cost REAL,
  session_id TEXT, event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS spans_trace ON spans (trace_id);
CREATE TABLE IF NOT EXISTS evaluations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  span_id TEXT NOT NULL, trace_id TEXT NOT NULL, label TEXT NOT NULL, metric TEXT NOT NULL
);
"""


class LocalStore:
    """A small SQLite store; one connection per thread of use (sqlite3 objects are not shared)."""

    def __init__(self, path: str | Path, max_spans: int = 100_000):
        self.path = str(path)
        self.max_spans = max_spans
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def insert(self, rows: list[tuple], evals: list[tuple]) -> None:
        db = self._connect()
        try:
            with db:
                db.executemany(
                    "INSERT INTO spans (received_ns, trace_id, span_id, parent_id, name, kind, ml_app, model_name,"
                    " model_provider, status, start_ns, duration_ns, input_tokens, output_tokens, total_tokens,"
                    " total_cost, session_id, event) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
                db.executemany("INSERT INTO evaluations (span_id, trace_id, label, metric) VALUES (?,?,?,?)", evals)
                db.execute("DELETE FROM spans WHERE id <= (SELECT MAX(id) FROM spans) - ?", (self.max_spans,))
        finally:
            db.close()

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        db = self._connect()
        db.row_factory = sqlite3.Row
        try:
            rows = db.execute("SELECT * FROM spans ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
            out = []
            for row in reversed(rows):
                item = dict(row)
                item["event"] = orjson.loads(item["event"])
                item["evaluations"] = [orjson.loads(r[0]) for r in db.execute(
                    "SELECT metric FROM evaluations WHERE span_id = ? AND trace_id = ?",
                    (row["span_id"], row["trace_id"]))]
                out.append(item)
            return out
        finally:
            db.close()


class LocalExporter:
    name = "local"

    def __init__(self, settings: Settings, base_dir: Path | None = None):
        path = Path(settings.path)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        self.store = LocalStore(path, settings.max_spans)

    def render(self, batch: Batch) -> list[tuple[str, bytes]]:
        items = []
        for span in batch.spans:
            if not span.is_genai:
                continue
            ml_app = F.normalize_ml_app(span.service)
            event = F.span_event(span, ml_app=ml_app)
            F.encode_event(event)  # applies the same size rule as the datadog exporter (may drop input/output)
            items.append(("span", orjson.dumps({"ml_app": ml_app, "model": span.model_name, "provider": span.model_provider,
                                                "event": event})))
            items.extend(("eval", orjson.dumps(m)) for m in F.eval_metrics(span, ml_app=ml_app))
        for detached in batch.evaluations:
            metric = F.eval_metric(detached.trace_id, detached.span_id, detached.evaluation,
                                   ml_app=F.normalize_ml_app(detached.service))
            items.append(("eval", orjson.dumps(metric)))
        return items

    async def start(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def send(self, items: list[tuple[str, bytes]]) -> None:
        now = time.time_ns()
        rows, evals = [], []
        for kind, payload in items:
            data = orjson.loads(payload)
            if kind == "eval":
                span = data["join_on"]["span"]
                evals.append((span["span_id"], span["trace_id"], data["label"], payload))
                continue
            event, metrics = data["event"], data["event"]["metrics"]
            meta = event["meta"]
            rows.append((now, event["trace_id"], event["span_id"], event["parent_id"], event["name"],
                         meta["span"]["kind"], data["ml_app"], data["model"], data["provider"],
                         event["status"], _int64(event["start_ns"]), _int64(event["duration"]),
                         metrics.get("input_tokens"),
                         metrics.get("output_tokens"), metrics.get("total_tokens"), metrics.get("total_cost"),
                         event.get("session_id"), orjson.dumps(event)))
        await asyncio.to_thread(self.store.insert, rows, evals)


def _int64(value: int) -> int:
    """SQLite integers are signed 64-bit; OTLP timestamps are unsigned and may be garbage."""
    return max(-(2**63), min(int(value), 2**63 - 1))
