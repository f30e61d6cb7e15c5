"""The local store: exactly what the ``datadog`` exporter would have sent, in SQLite, for ``glassbox spans``
and the viewer; a few columns are pulled out so they can list spans without parsing every event."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

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

    def newest_id(self) -> int:
        """The id of the newest stored span (0 when empty): ``recent(after_id=...)`` then lists only what came after."""
        db = self._connect()
        try:
            return db.execute("SELECT COALESCE(MAX(id), 0) FROM spans").fetchone()[0]
        finally:
            db.close()

    def recent(
        self,
        limit: int = 50,
        *,
        service: str | None = None,
        trace: str | None = None,
        errors: bool = False,
        after_id: int = 0,
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` spans, oldest first; only a service's (its ``service:`` tag), one trace's, those
        with an error, or those stored after ``after_id`` when asked."""
        where: list[str] = ["id > ?"]
        args: list[object] = [after_id]
        if service is not None:
            where.append("EXISTS (SELECT 1 FROM json_each(event, '$.tags') WHERE value = ?)")
            args.append(f"service:{service}")
        if trace is not None:
            where.append("trace_id = ?")
            args.append(trace.lower())
        if errors:
            where.append("status = 'error'")
        clause = f"WHERE {' AND '.join(where)} "
        db = self._connect()
        db.row_factory = sqlite3.Row
        try:
            rows = db.execute(f"SELECT * FROM spans {clause}ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
            out = []
            for row in reversed(rows):
                item = dict(row)
                item["event"] = orjson.loads(item["event"])
                item["evaluations"] = [
                    orjson.loads(r[0])
                    for r in db.execute(
                        "SELECT metric FROM evaluations WHERE span_id = ? AND trace_id = ? ORDER BY id",
                        (row["span_id"], row["trace_id"]),
                    )
                ]
                out.append(item)
            return out
        finally:
            db.close()
