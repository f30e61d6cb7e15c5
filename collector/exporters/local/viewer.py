"""The local viewer: the newest spans the local store holds, as an HTML page on the admin port."""

from __future__ import annotations

import html
from typing import Any


def render_viewer(rows: list[dict[str, Any]]) -> str:
    cells = []
    for row in reversed(rows):
        event = row["event"]
        meta = event.get("meta", {})
        first_in = (meta.get("input", {}).get("messages") or [{}])[-1].get("content") or meta.get("input", {}).get(
            "value"
        )
        cells.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    row["kind"],
                    row["name"],
                    row["model_name"] or "",
                    row["total_tokens"] or "",
                    row["total_cost"] or "",
                    row["session_id"] or "",
                    (first_in or "")[:120],
                )
            )
            + "</tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("kind", "name", "model", "tokens", "cost", "session", "last input"))
    return (
        "<!doctype html><meta charset=utf-8><title>glassbox spans</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #ddd}"
        "</style><h1>glassbox: what would reach Datadog</h1>"
        f"<table><tr>{head}</tr>{''.join(cells)}</table>"
    )
