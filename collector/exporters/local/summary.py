"""The local store as a table (``glassbox spans`` and the demo print it): per span when it started, its kind,
service, name, model, tokens, cost, latency and error, and under it the prompt version, evaluations and what was
redacted, as Datadog would get it; grouped by conversation. It fits 120 columns: long cells are cut with an
ellipsis, never inside a ``<ENTITY>`` placeholder."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

WIDTH = 120
ELLIPSIS = "…"
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")


def cut(text: str, width: int) -> str:
    """``text`` on one line in at most ``width`` characters. A cut ends with an ellipsis and never splits a
    redaction placeholder: ``<EMAIL_ADDRESS>`` goes whole or not at all, never as ``<EMAIL_ADDR…``."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head = text[: width - 1]
    start = head.rfind("<")
    if start > head.rfind(">") and _PLACEHOLDER.match(text, start):
        head = head[:start].rstrip()
    return head + ELLIPSIS


@dataclass(frozen=True)
class Column:
    title: str
    value: Callable[[dict[str, Any]], str]
    right: bool = False  # numbers are right-aligned
    shrinks: bool = False  # may be cut when the table is wider than WIDTH


def render_summary(rows: list[dict[str, Any]], *, timings: bool = True) -> str:
    """The table, grouped by conversation (session) with its cost, then totals and a sample of what was sent.
    ``timings=False`` leaves out start time and latency, so the same spans always print the same (the demo)."""
    lines = ["", f"What would reach Datadog LLM Observability ({len(rows)} span events):", ""]
    columns = _columns(timings, datetime.now())
    ordered = sorted(rows, key=lambda r: r["start_ns"])  # each conversation reads top-down
    sessions: dict[str, list[dict[str, Any]]] = {}
    for row in ordered:
        sessions.setdefault(row["session_id"] or "", []).append(row)
    cells = {id(row): [column.value(row) for column in columns] for row in ordered}
    widths = _fit(columns, [[column.title for column in columns], *cells.values()])
    header = _line(columns, widths, [column.title for column in columns])
    lines += [header, "-" * len(header)]
    indent = " " * (sum(widths[:2]) + 2 + 2)  # details start under the third column, two spaces in
    for session, members in sessions.items():
        if session or len(sessions) > 1:
            lines.append(_conversation(session, members))
        for row in members:
            lines.append(_line(columns, widths, cells[id(row)]))
            lines += [indent + detail for detail in _details(row, WIDTH - len(indent))]
    llm = [r for r in rows if r["kind"] == "llm"]
    tokens = sum((r["total_tokens"] or 0) for r in rows)
    total = sum(_cost(r) or 0 for r in rows)
    lines += [
        "",
        f"{len(llm)} LLM calls, {int(tokens)} tokens, ${total:.6f} estimated, {len(set(sessions) - {''})} sessions.",
    ]
    sample = next((r for r in llm if r["event"]["meta"].get("input", {}).get("messages")), None)
    if sample:
        user = [m for m in sample["event"]["meta"]["input"]["messages"] if m.get("role") == "user"]
        if user:
            lead = "Sample user message as it would be sent: "
            lines.append(lead + '"' + cut(str(user[-1].get("content") or ""), WIDTH - len(lead) - 2) + '"')
    return "\n".join(lines)


def _columns(timings: bool, now: datetime) -> list[Column]:
    columns = [
        Column("time", lambda r: _clock(r["start_ns"], now)),
        Column("kind", lambda r: r["kind"]),
        Column("service", _service, shrinks=True),
        Column("name", lambda r: r["name"], shrinks=True),
        Column("model", lambda r: r["model_name"] or "-", shrinks=True),
        Column("in", lambda r: _int(_metrics(r).get("input_tokens")), right=True),
        Column("out", lambda r: _int(_metrics(r).get("output_tokens")), right=True),
        Column("cost $", lambda r: "-" if _cost(r) is None else f"{_cost(r):.6f}", right=True),
        Column("latency", lambda r: _latency(r["duration_ns"]), right=True),
        Column("error", _error, shrinks=True),
    ]
    return columns if timings else [c for c in columns if c.title not in ("time", "latency")]


def _fit(columns: list[Column], table: list[list[str]]) -> list[int]:
    """Each column as wide as its widest cell; while the line is wider than WIDTH, the widest column that may
    shrink loses a character (down to 8, so a cut cell still says something)."""
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    while sum(widths) + len(widths) - 1 > WIDTH:
        shrinkable = [i for i, column in enumerate(columns) if column.shrinks and widths[i] > 8]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def _line(columns: list[Column], widths: list[int], cells: list[str]) -> str:
    out = []
    for column, width, cell in zip(columns, widths, cells):
        cell = cut(cell, width)
        out.append(cell.rjust(width) if column.right else cell.ljust(width))
    return " ".join(out).rstrip()


def _conversation(session: str, members: list[dict[str, Any]]) -> str:
    if not session:
        return "(no session)"
    costs = [_cost(r) for r in members if r["kind"] in ("llm", "embedding")]
    priced = [c for c in costs if c is not None]
    text = f"conversation {session}: {len(members)} span(s)"
    if priced:
        text += f", ${sum(priced):.6f}"
        if len(priced) < len(costs):
            text += f" ({len(costs) - len(priced)} without a price)"
    return cut(text, WIDTH)


def _details(row: dict[str, Any], width: int) -> list[str]:
    """The lines under a span: prompt, evaluations (scores and failures one per line, the passes together),
    what redaction replaced, a model without a price (lists wrap at ``width``), the error message (cut)."""
    event = row["event"]
    lines = []
    prompt = event.get("meta", {}).get("input", {}).get("prompt")
    if prompt:
        lines.append(f"prompt {prompt.get('name') or prompt.get('id')} version {prompt.get('version', '-')}")
    passed = []
    for evaluation in row.get("evaluations", []):
        value = next((evaluation[k] for k in evaluation if k.endswith("_value")), None)
        if evaluation.get("assessment") == "pass" and evaluation.get("metric_type") != "score":
            passed.append(evaluation["label"])
            continue
        lines.append(f"eval {evaluation['label']} = {value} {evaluation.get('assessment', '')}".rstrip())
    if passed:
        lines.append(f"passed {', '.join(passed)}")
    tags = event.get("tags", [])
    redacted = [t.split(":", 1)[1] for t in tags if t.startswith("pii.type:")]
    if redacted:
        lines.append(f"redacted: {', '.join(redacted)}")
    unpriced = [t.split(":", 1)[1] for t in tags if t.startswith("cost.unpriced_model:")]
    if unpriced:
        lines.append(f"no price known for {unpriced[0]}")
    wrapped = [part for line in lines for part in _wrap(line, width)]
    message = event.get("status_message")
    if row["status"] == "error" and message:
        wrapped.append(cut(f"error: {message}", width))
    return wrapped


def _wrap(line: str, width: int) -> list[str]:
    """A detail line over several, the next ones indented: every evaluation name stays readable."""
    return textwrap.wrap(line, width, subsequent_indent="  ", break_on_hyphens=False) or [line]


def _metrics(row: dict[str, Any]) -> dict[str, Any]:
    return row["event"].get("metrics", {})


def _cost(row: dict[str, Any]) -> float | None:
    return _metrics(row).get("total_cost")


def _service(row: dict[str, Any]) -> str:
    tag = next((t for t in row["event"].get("tags", []) if t.startswith("service:")), None)
    return tag.split(":", 1)[1] if tag else row["ml_app"] or "-"


def _error(row: dict[str, Any]) -> str:
    if row["status"] != "error":
        return "-"
    return row["event"].get("meta", {}).get("error", {}).get("type") or "error"


def _clock(start_ns: int, now: datetime) -> str:
    """Local time: ``14:03:27`` today, ``11-29 14:03`` on another day."""
    try:
        started = datetime.fromtimestamp(start_ns / 1e9)
    except (OverflowError, OSError, ValueError):  # a timestamp no clock can show
        return "-"
    return started.strftime("%H:%M:%S" if started.date() == now.date() else "%m-%d %H:%M")


def _latency(duration_ns: int) -> str:
    """``0.4ms``, ``850ms``, ``1.25s``, ``12.3s``, ``2m05s``."""
    ms = duration_ns / 1e6
    if ms < 10:
        return f"{ms:.1f}ms"
    if ms < 1000:
        return f"{ms:.0f}ms"
    seconds = ms / 1000
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def _int(value: Any) -> str:
    return "-" if value is None else str(int(value))
