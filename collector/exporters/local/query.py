"""Every read of the local store, in one place: the viewer's JSON API and ``glassbox spans`` both call these.

Traces are listed from the ``traces`` summary table (one row per trace, kept current by the store), newest
first by arrival (``seq``: the newest span row of the trace) with keyset pagination (``before``), so a page
costs the same at 100 spans or 100,000. Filters match the summary's columns; only ``q`` (text search over the
stored, redacted content) looks into the span events."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import orjson

MAX_LIMIT = 500


class QueryError(ValueError):
    """A bad parameter: the message names it and says what is accepted."""


@dataclass
class TraceFilter:
    service: str | None = None
    ml_app: str | None = None
    model: str | None = None
    kind: str | None = None
    status: str | None = None  # "error": traces with at least one span in error
    prompt: str | None = None
    prompt_version: str | None = None
    eval_label: str | None = None
    eval_fail: bool = False
    pii: str | None = None  # an entity type (email_address), or "any"
    q: str | None = None
    since: int | None = None  # start time bounds, ns since the epoch
    until: int | None = None

    @classmethod
    def from_params(cls, params: Any) -> TraceFilter:
        """From query-string parameters (a mapping of str → str); unknown ones are ignored by the caller."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = params.get(field.name)
            if raw in (None, ""):
                continue
            if field.name == "eval_fail":
                values[field.name] = raw.lower() in ("1", "true", "yes")
            elif field.name in ("since", "until"):
                values[field.name] = parse_time(field.name, raw)
            elif field.name == "status" and raw != "error":
                raise QueryError(f"status: only 'error' is a filter, got {raw!r}")
            else:
                values[field.name] = raw
        return cls(**values)

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (("service", self.service), ("ml_app", self.ml_app)):
            if value is not None:
                clauses.append(f"t.{column} = ?")
                args.append(value)
        for column, value in (("models", self.model), ("kinds", self.kind)):
            if value is not None:
                clauses.append(f"t.{column} LIKE ? ESCAPE '\\'")
                args.append(f"%,{_like(value)},%")
        if self.status == "error":
            clauses.append("t.errors > 0")
        if self.prompt is not None or self.prompt_version is not None:
            name = _like(self.prompt) if self.prompt is not None else "%"
            version = _like(self.prompt_version) if self.prompt_version is not None else "%"
            clauses.append("t.prompts LIKE ? ESCAPE '\\'")
            args.append(f"%,{name}@{version},%")
        column = "failed_evals" if self.eval_fail else "eval_labels"
        if self.eval_label is not None:
            clauses.append(f"t.{column} LIKE ? ESCAPE '\\'")
            args.append(f"%,{_like(self.eval_label)},%")
        elif self.eval_fail:
            clauses.append("t.failed_evals != ',,'")
        if self.pii == "any":
            clauses.append("t.pii != ''")
        elif self.pii is not None:
            clauses.append("t.pii LIKE ? ESCAPE '\\'")
            args.append(f"%,{_like(self.pii)},%")
        if self.since is not None:
            clauses.append("t.start_ns >= ?")
            args.append(self.since)
        if self.until is not None:
            clauses.append("t.start_ns < ?")
            args.append(self.until)
        if self.q:
            clauses.append(
                "EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id"
                " AND CAST(s.event AS TEXT) LIKE ? ESCAPE '\\')"
            )
            args.append(f"%{_like(self.q)}%")
        return (" AND ".join(clauses) or "1"), args


def parse_time(name: str, raw: str) -> int:
    """Seconds since the epoch (``1767225600``) or ISO 8601 (``2026-01-01T00:00:00Z``) → ns since the epoch."""
    try:
        return int(float(raw) * 1e9)
    except ValueError:
        pass
    try:
        return int(datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp() * 1e9)
    except ValueError:
        raise QueryError(f"{name}: expected seconds since the epoch or an ISO 8601 time, got {raw!r}") from None


def parse_limit(raw: str | None, default: int = 50) -> int:
    if raw in (None, ""):
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise QueryError(f"limit: expected a whole number, got {raw!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit: between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def parse_int(name: str, raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise QueryError(f"{name}: expected a whole number, got {raw!r}") from None


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _split(text: str | None) -> list[str]:
    return sorted({part for part in (text or "").split(",") if part})


def _trace_row(row: sqlite3.Row) -> dict[str, Any]:
    item = dict(row)
    item["duration_ns"] = item.pop("end_ns") - item["start_ns"]
    for key in ("models", "kinds", "pii", "eval_labels", "failed_evals"):
        item[key] = _split(item[key])
    item["prompts"] = [
        {"name": name, "version": version or None}
        for name, _, version in (p.partition("@") for p in _split(item["prompts"]))
    ]
    return item


def list_traces(
    db: sqlite3.Connection, flt: TraceFilter, limit: int = 50, before: int | None = None, after: int | None = None
) -> dict[str, Any]:
    """A page of traces, newest first: ``before`` (a ``seq`` from the last page's ``next``) pages back;
    ``after`` (the newest ``seq`` seen) lists only traces that arrived or grew since (live updates).
    ``total`` counts every trace matching the filters; ``stored`` every trace in the store."""
    where, args = flt.where()
    page_where, page_args = where, list(args)
    if before is not None:
        page_where += " AND t.seq < ?"
        page_args.append(before)
    if after is not None:
        page_where += " AND t.seq > ?"
        page_args.append(after)
    rows = db.execute(
        f"SELECT t.* FROM traces t WHERE {page_where} ORDER BY t.seq DESC LIMIT ?", (*page_args, limit + 1)
    ).fetchall()
    more = len(rows) > limit and after is None
    rows = rows[:limit]
    total = db.execute(f"SELECT COUNT(*) FROM traces t WHERE {where}", args).fetchone()[0]
    stored = db.execute("SELECT COUNT(*) FROM traces").fetchone()[0]
    newest = db.execute("SELECT COALESCE(MAX(seq), 0) FROM traces").fetchone()[0]
    traces = [_trace_row(row) for row in rows]
    return {
        "traces": traces,
        "total": total,
        "stored": stored,
        "newest": newest,
        "next": traces[-1]["seq"] if more else None,
    }


def _evaluations(db: sqlite3.Connection, trace_id: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for span_id, metric in db.execute(
        "SELECT span_id, metric FROM evaluations WHERE trace_id = ? ORDER BY id", (trace_id,)
    ):
        out.setdefault(span_id, []).append(orjson.loads(metric))
    return out


def _span(row: sqlite3.Row, evaluations: dict[str, list[Any]]) -> dict[str, Any]:
    item = dict(row)
    item["event"] = orjson.loads(item["event"])
    item["pii_types"] = _split(item.get("pii_types"))
    item["evaluations"] = evaluations.get(item["span_id"], [])
    return item


def trace(db: sqlite3.Connection, trace_id: str) -> dict[str, Any] | None:
    """Every stored span of one trace (start order) with its span event and evaluations, and its summary."""
    trace_id = trace_id.lower()
    summary = db.execute("SELECT * FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
    if summary is None:
        return None
    evaluations = _evaluations(db, trace_id)
    rows = db.execute("SELECT * FROM spans WHERE trace_id = ? ORDER BY start_ns, id", (trace_id,)).fetchall()
    return {"trace": _trace_row(summary), "spans": [_span(row, evaluations) for row in rows]}


def session(db: sqlite3.Connection, session_id: str, limit: int = 200) -> dict[str, Any]:
    """A session's traces in start order, each with its spans: the page reads them as a chat transcript."""
    rows = db.execute(
        "SELECT trace_id FROM traces WHERE session_id = ? ORDER BY start_ns LIMIT ?", (session_id, limit)
    ).fetchall()
    return {"session_id": session_id, "traces": [trace(db, row[0]) for row in rows]}


def recent_spans(
    db: sqlite3.Connection,
    limit: int = 50,
    *,
    service: str | None = None,
    trace: str | None = None,
    errors: bool = False,
    after_id: int = 0,
) -> list[dict[str, Any]]:
    """The newest ``limit`` spans, oldest first; only a service's, one trace's, those with an error, or those
    stored after ``after_id`` when asked (``glassbox spans``, ``/api/spans``)."""
    where: list[str] = ["id > ?"]
    args: list[object] = [after_id]
    if service is not None:
        where.append("service = ?")
        args.append(service)
    if trace is not None:
        where.append("trace_id = ?")
        args.append(trace.lower())
    if errors:
        where.append("status = 'error'")
    rows = db.execute(f"SELECT * FROM spans WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?", (*args, limit))
    out = []
    for row in reversed(rows.fetchall()):
        item = dict(row)
        item["event"] = orjson.loads(item["event"])
        for key in ("service", "prompt_name", "prompt_version", "pii_types"):
            item.pop(key, None)  # derived columns: the event has them; the CLI's JSON stays as it was
        item["evaluations"] = [
            orjson.loads(r[0])
            for r in db.execute(
                "SELECT metric FROM evaluations WHERE span_id = ? AND trace_id = ? ORDER BY id",
                (row["span_id"], row["trace_id"]),
            )
        ]
        out.append(item)
    return out


def _percentile(values: list[int], fraction: float) -> int | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(fraction * len(values)))]


def overview(db: sqlite3.Connection, buckets: int = 24, since: int | None = None) -> dict[str, Any]:
    """Charts' data: LLM/embedding calls per time bucket (requests, errors, p50/p95 latency, tokens, cost); cost
    and evaluation pass rate by prompt version and by model; PII findings by entity type."""
    clause, args = "kind IN ('llm', 'embedding')", []
    if since is not None:
        clause += " AND start_ns >= ?"
        args.append(since)
    first, last = db.execute(f"SELECT MIN(start_ns), MAX(start_ns) FROM spans WHERE {clause}", args).fetchone()
    series: list[dict[str, Any]] = []
    if first is not None:
        width = max(1, (last - first) // buckets + 1)
        grouped: dict[int, list[Any]] = {}
        for start, duration, status, tokens, cost in db.execute(
            f"SELECT start_ns, duration_ns, status, total_tokens, total_cost FROM spans WHERE {clause}", args
        ):
            grouped.setdefault((start - first) // width, []).append((duration, status, tokens or 0, cost or 0))
        for index in range(buckets):
            calls = grouped.get(index, [])
            durations = [c[0] for c in calls]
            series.append(
                {
                    "start_ns": first + index * width,
                    "requests": len(calls),
                    "errors": sum(c[1] == "error" for c in calls),
                    "p50_ms": (p / 1e6) if (p := _percentile(durations, 0.5)) is not None else None,
                    "p95_ms": (p / 1e6) if (p := _percentile(durations, 0.95)) is not None else None,
                    "p99_ms": (p / 1e6) if (p := _percentile(durations, 0.99)) is not None else None,
                    "tokens": sum(c[2] for c in calls),
                    "cost": sum(c[3] for c in calls),
                }
            )
    by_prompt = _by(db, "COALESCE(s.prompt_name, '(none)') || ' ' || COALESCE(s.prompt_version, '')", clause, args)
    by_model = _by(db, "COALESCE(s.model_name, '(none)')", clause, args)
    pii: Counter[str] = Counter()
    for (types,) in db.execute("SELECT pii_types FROM spans WHERE pii_types IS NOT NULL"):
        pii.update(_split(types))
    return {
        "buckets": series,
        "by_prompt_version": by_prompt,
        "by_model": by_model,
        "pii_by_entity": [{"entity": k, "spans": v} for k, v in pii.most_common()],
        **_dashboard_panels(db, clause, args),
    }


# The built-in evaluations behind the shipped Datadog dashboards' rate panels (deploy/datadog/dashboards):
# panel → (evaluation label, what a failed one counts as).
RATE_PANELS = {
    "invalid_json_rate": "invalid_json",
    "tool_failure_rate": "tool_error",
    "refusal_rate": "failure_to_answer",
    "negative_feedback_rate": "feedback",
}


def _dashboard_panels(db: sqlite3.Connection, clause: str, args: list[Any]) -> dict[str, Any]:
    """The Datadog dashboards' panels that span events can answer locally: errors by type, the failure rates of
    invalid JSON, tool errors, refusals and feedback, and evaluations by label and assessment (redaction failures
    are the relay's own counters: the Relay page)."""
    joined = clause.replace("kind", "s.kind").replace("start_ns", "s.start_ns")
    errors = db.execute(
        "SELECT COALESCE(json_extract(event, '$.meta.error.type'), '(unknown)') AS t, COUNT(*) FROM spans"
        f" WHERE status = 'error' AND {clause} GROUP BY t ORDER BY COUNT(*) DESC LIMIT 10",
        args,
    ).fetchall()
    evaluations = db.execute(
        "SELECT e.label, COALESCE(e.assessment, 'none'), COUNT(*) FROM evaluations e"
        f" JOIN spans s ON s.trace_id = e.trace_id AND s.span_id = e.span_id WHERE {joined}"
        " GROUP BY e.label, e.assessment ORDER BY e.label",
        args,
    ).fetchall()
    counts: dict[str, dict[str, int]] = {}
    for label, assessment, n in evaluations:
        counts.setdefault(label, {})[assessment] = n
    rates = {}
    for panel, label in RATE_PANELS.items():
        seen = counts.get(label, {})
        total = sum(seen.values())
        rates[panel] = {"label": label, "failed": seen.get("fail", 0), "of": total}
    return {
        "errors_by_type": [{"type": t, "spans": n} for t, n in errors],
        "rates": rates,
        "evaluations": [{"label": label, "assessment": assessment, "count": n} for label, assessment, n in evaluations],
    }


def _by(db: sqlite3.Connection, key: str, clause: str, args: list[Any]) -> list[dict[str, Any]]:
    clause = clause.replace("kind", "s.kind").replace("start_ns", "s.start_ns")
    rows = db.execute(
        f"SELECT {key} AS k, COUNT(*), SUM(s.total_cost) FROM spans s WHERE {clause} GROUP BY k ORDER BY k", args
    ).fetchall()
    evals = dict(
        (k, (passed, total))
        for k, passed, total in db.execute(
            f"SELECT {key} AS k, SUM(e.assessment = 'pass'), COUNT(e.assessment) FROM evaluations e"
            f" JOIN spans s ON s.trace_id = e.trace_id AND s.span_id = e.span_id WHERE {clause} GROUP BY k",
            args,
        )
    )
    out = []
    for k, calls, cost in rows:
        passed, total = evals.get(k, (0, 0))
        out.append(
            {"key": k.strip(), "calls": calls, "cost": cost or 0, "eval_pass_rate": passed / total if total else None}
        )
    return out
