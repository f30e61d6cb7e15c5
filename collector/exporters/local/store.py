"""The local store: exactly what the ``datadog`` exporter would have sent, in SQLite, for ``glassbox spans``
and the viewer; a few columns are pulled out so they can list spans without parsing every event, and a
``traces`` table keeps one summary row per trace (kept current on every insert) so the viewer lists and filters
traces without scanning spans. The queries themselves live in ``query.py``."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson

from glassbox.collector.exporters.local import query

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
CREATE TABLE IF NOT EXISTS traces (
  trace_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
  root_name TEXT NOT NULL, root_kind TEXT NOT NULL, service TEXT, ml_app TEXT, session_id TEXT,
  spans INTEGER NOT NULL, llm_calls INTEGER NOT NULL, tokens REAL, cost REAL, errors INTEGER NOT NULL,
  models TEXT NOT NULL, kinds TEXT NOT NULL, prompts TEXT NOT NULL, pii TEXT NOT NULL,
  eval_labels TEXT NOT NULL, failed_evals TEXT NOT NULL
);
"""

# Columns added after the first release: an existing store gets them (and their values) when it is opened.
SPAN_COLUMNS = {
    "service": "(SELECT substr(value, 9) FROM json_each(event, '$.tags') WHERE value LIKE 'service:%' LIMIT 1)",
    "prompt_name": "json_extract(event, '$.meta.input.prompt.name')",
    "prompt_version": "json_extract(event, '$.meta.input.prompt.version')",
    "pii_types": "(SELECT ',' || group_concat(substr(value, 10), ',') || ',' FROM json_each(event, '$.tags')"
    " WHERE value LIKE 'pii.type:%')",
}
INDEXES = """
CREATE INDEX IF NOT EXISTS spans_session ON spans (session_id);
CREATE INDEX IF NOT EXISTS spans_received ON spans (received_ns);
CREATE INDEX IF NOT EXISTS evaluations_span ON evaluations (trace_id, span_id);
CREATE INDEX IF NOT EXISTS traces_seq ON traces (seq);
CREATE INDEX IF NOT EXISTS traces_session ON traces (session_id, start_ns);
"""

# One trace's summary row, recomputed from its spans and evaluations (a trace's spans arrive in any order and
# in several batches; evaluations may come later still).
REFRESH_TRACES = """
INSERT OR REPLACE INTO traces
SELECT s.trace_id, MAX(s.id), MIN(s.start_ns), MAX(s.start_ns + s.duration_ns),
  r.name, r.kind, r.service, r.ml_app, r.session_id,
  COUNT(*), SUM(s.kind = 'llm'), SUM(s.total_tokens), SUM(s.total_cost), SUM(s.status = 'error'),
  ',' || COALESCE(group_concat(DISTINCT s.model_name), '') || ',',
  ',' || group_concat(DISTINCT s.kind) || ',',
  ',' || COALESCE(group_concat(DISTINCT s.prompt_name || '@' || COALESCE(s.prompt_version, '')), '') || ',',
  COALESCE(group_concat(s.pii_types, ''), ''),
  ',' || COALESCE((SELECT group_concat(DISTINCT e.label) FROM evaluations e WHERE e.trace_id = s.trace_id), '')
    || ',',
  ',' || COALESCE((SELECT group_concat(DISTINCT e.label) FROM evaluations e
    WHERE e.trace_id = s.trace_id AND e.assessment = 'fail'), '') || ','
FROM spans s JOIN spans r ON r.id = (
  SELECT x.id FROM spans x WHERE x.trace_id = s.trace_id
  ORDER BY x.parent_id IN ('undefined', '0', '') DESC, x.start_ns LIMIT 1)
WHERE s.trace_id IN (SELECT value FROM json_each(?))
GROUP BY s.trace_id
"""


def derived_columns(event: dict[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    """service, prompt name, prompt version and PII types (``,email_address,ip_address,``) of a span event."""
    tags = event.get("tags") or []
    service = next((t[8:] for t in tags if t.startswith("service:")), None)
    pii = [t[9:] for t in tags if t.startswith("pii.type:")]
    prompt = (event.get("meta", {}).get("input") or {}).get("prompt") or {}
    return service, prompt.get("name"), prompt.get("version"), f",{','.join(pii)}," if pii else None


class LocalStore:
    """A small SQLite store; one connection per thread of use (sqlite3 objects are not shared).
    Bounded by ``max_spans`` (the oldest go first) and, when set, ``max_age_s`` (spans received longer ago)."""

    def __init__(self, path: str | Path, max_spans: int = 100_000, max_age_s: float | None = None):
        self.path = str(path)
        self.max_spans = max_spans
        self.max_age_s = max_age_s
        self._aged_at = 0.0
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)
            self._migrate(db)

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """Stores written by an older relay: add the derived columns and the trace summaries (once)."""
        have = {row[1] for row in db.execute("PRAGMA table_info(spans)")}
        for column, expression in SPAN_COLUMNS.items():
            if column not in have:
                db.execute(f"ALTER TABLE spans ADD COLUMN {column} TEXT")
                db.execute(f"UPDATE spans SET {column} = {expression}")
        if "assessment" not in {row[1] for row in db.execute("PRAGMA table_info(evaluations)")}:
            db.execute("ALTER TABLE evaluations ADD COLUMN assessment TEXT")
            db.execute("UPDATE evaluations SET assessment = json_extract(metric, '$.assessment')")
        db.executescript(INDEXES)
        if db.execute("SELECT NOT EXISTS (SELECT 1 FROM traces) AND EXISTS (SELECT 1 FROM spans)").fetchone()[0]:
            traces = [r[0] for r in db.execute("SELECT DISTINCT trace_id FROM spans")]
            db.execute(REFRESH_TRACES, (orjson.dumps(traces).decode(),))

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def connect(self) -> sqlite3.Connection:
        """A read connection for ``query`` (rows as ``sqlite3.Row``); the caller closes it."""
        db = self._connect()
        db.row_factory = sqlite3.Row
        return db

    def insert(self, rows: list[tuple], evals: list[tuple]) -> None:
        """``rows``: the spans' columns in ``spans`` order after ``id`` (see the exporter); ``evals``:
        (span_id, trace_id, label, metric JSON, assessment). Rows without the derived columns (18 values, as
        written before they existed) get them from their event."""
        rows = [row if len(row) == 22 else (*row, *derived_columns(orjson.loads(row[17]))) for row in rows]
        evals = [ev if len(ev) == 5 else (*ev, orjson.loads(ev[3]).get("assessment")) for ev in evals]
        db = self._connect()
        try:
            with db:
                db.executemany(
                    "INSERT INTO spans (received_ns, trace_id, span_id, parent_id, name, kind, ml_app, model_name,"
                    " model_provider, status, start_ns, duration_ns, input_tokens, output_tokens, total_tokens,"
                    " total_cost, session_id, event, service, prompt_name, prompt_version, pii_types)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
                db.executemany(
                    "INSERT INTO evaluations (span_id, trace_id, label, metric, assessment) VALUES (?,?,?,?,?)", evals
                )
                touched = sorted({row[1] for row in rows} | {ev[1] for ev in evals})
                db.execute(REFRESH_TRACES, (orjson.dumps(touched).decode(),))
                self._prune(db)
        finally:
            db.close()

    def _prune(self, db: sqlite3.Connection) -> None:
        """The oldest spans beyond ``max_spans`` (and older than ``max_age_s``, checked at most once a minute),
        with the traces and evaluations no span is left for."""
        cutoff = db.execute("SELECT MAX(id) FROM spans").fetchone()[0] - self.max_spans
        if self.max_age_s is not None and time.monotonic() - self._aged_at > 60:
            self._aged_at = time.monotonic()
            oldest = time.time_ns() - int(self.max_age_s * 1e9)
            aged = db.execute("SELECT MAX(id) FROM spans WHERE received_ns < ?", (oldest,)).fetchone()[0]
            cutoff = max(cutoff, aged or 0)
        if cutoff <= 0 or not db.execute("SELECT 1 FROM spans WHERE id <= ? LIMIT 1", (cutoff,)).fetchone():
            return
        gone = [r[0] for r in db.execute("SELECT DISTINCT trace_id FROM spans WHERE id <= ?", (cutoff,))]
        db.execute("DELETE FROM spans WHERE id <= ?", (cutoff,))
        left = orjson.dumps(gone).decode()
        db.execute("DELETE FROM traces WHERE trace_id IN (SELECT value FROM json_each(?))", (left,))
        db.execute(REFRESH_TRACES, (left,))  # traces that lost only some of their spans
        db.execute(
            "DELETE FROM evaluations WHERE trace_id IN (SELECT value FROM json_each(?))"
            " AND trace_id NOT IN (SELECT trace_id FROM traces)",
            (left,),
        )

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
        """The newest ``limit`` spans, oldest first (``query.recent_spans``, which ``glassbox spans`` and the
        viewer's ``/api/spans`` share)."""
        db = self.connect()
        try:
            return query.recent_spans(db, limit, service=service, trace=trace, errors=errors, after_id=after_id)
        finally:
            db.close()
