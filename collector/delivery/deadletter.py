"""``glassbox deadletter``: list, show, replay and purge what destinations refused for good.

Works on the queue database directly (SQLite allows it while the relay runs): ``replay`` moves dead letters
back into their exporter's queue, where a running relay's sender picks them up.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from glassbox.collector.exporters.datadog.format import EVAL_KINDS, eval_item_metrics


def _connect(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no queue database (has the relay run with this storage.directory?)")
    db = sqlite3.connect(path, timeout=10)
    db.row_factory = sqlite3.Row
    return db


def list_letters(path: Path, limit: int = 100) -> list[dict[str, Any]]:
    with _connect(path) as db:
        rows = db.execute(
            "SELECT id, exporter, kind, size, reason, error, failed_at FROM dead_letters ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
    return [dict(row) for row in rows]


def show_letter(path: Path, letter_id: int) -> dict[str, Any] | None:
    with _connect(path) as db:
        row = db.execute("SELECT * FROM dead_letters WHERE id = ?", (letter_id,)).fetchone()
    return dict(row) if row else None


def replay(path: Path, ids: list[int] | None = None) -> int:
    """Move dead letters (all, or the given ids) back to their queues; returns how many moved."""
    db = _connect(path)
    try:
        with db:
            where, args = ("", ()) if not ids else (f"WHERE id IN ({','.join('?' * len(ids))})", tuple(ids))
            moved = db.execute(
                f"INSERT INTO items (exporter, kind, payload, size, enqueued_at) "
                f"SELECT exporter, kind, payload, size, ? FROM dead_letters {where} ORDER BY id",
                (time.time(), *args),
            ).rowcount
            db.execute(f"DELETE FROM dead_letters {where}", args)
        return moved
    finally:
        db.close()


def purge(path: Path, ids: list[int] | None = None) -> int:
    """Delete dead letters for good (all, or the given ids); returns how many were deleted."""
    db = _connect(path)
    try:
        with db:
            where, args = ("", ()) if not ids else (f"WHERE id IN ({','.join('?' * len(ids))})", tuple(ids))
            return db.execute(f"DELETE FROM dead_letters {where}", args).rowcount
    finally:
        db.close()


def render_payload(kind: str, payload: bytes) -> str:
    """A dead letter's payload as an operator reads it: JSON as text (evaluation rows decompressed), OTLP as its
    size."""
    if kind in EVAL_KINDS:
        try:
            payload = eval_item_metrics(kind, payload)
        except ValueError as exc:
            return f"<{len(payload)} bytes that do not decompress: {exc}>"
    elif kind != "span":
        return f"<{len(payload)} bytes of OTLP protobuf>"
    return payload.decode("utf-8", "replace")


def render_list(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no dead letters"
    lines = [f"{'id':>6}  {'exporter':<10} {'kind':<9} {'bytes':>9}  {'failed at':<19}  reason: error"]
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["failed_at"]))
        lines.append(
            f"{row['id']:>6}  {row['exporter']:<10} {row['kind']:<9} {row['size']:>9}  {when}  "
            f"{row['reason']}: {row['error'][:100]}"
        )
    return "\n".join(lines)
