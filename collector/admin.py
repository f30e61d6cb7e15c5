"""Admin endpoints: ``/healthz`` (the process is up), ``/readyz`` (accepting data: queues have room),
``/metrics`` (Prometheus text), and ``/`` the local span viewer when the ``local`` exporter is on."""

from __future__ import annotations

import asyncio
import html
from typing import Any

from aiohttp import web


def admin_routes(relay: Any) -> list[web.RouteDef]:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        ready = relay.ready()
        return web.json_response({"ready": ready}, status=200 if ready else 503)

    async def metrics(_: web.Request) -> web.Response:
        await relay.refresh_gauges()
        return web.Response(text=relay.telemetry.render(), content_type="text/plain", charset="utf-8")

    async def viewer(_: web.Request) -> web.Response:
        local = relay.local_exporter
        if local is None:
            return web.Response(text="glassbox relay: the local viewer needs the `local` exporter.\n")
        rows = await asyncio.to_thread(local.store.recent, 200)
        return web.Response(text=render_viewer(rows), content_type="text/html")

    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics),
            web.get("/", viewer)]


def render_viewer(rows: list[dict[str, Any]]) -> str:
    cells = []
    for row in reversed(rows):
        event = row["event"]
        meta = event.get("meta", {})
        first_in = (meta.get("input", {}).get("messages") or [{}])[-1].get("content") or meta.get("input", {}).get("value")
        cells.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            row["kind"], row["name"], row["model_name"] or "", row["total_tokens"] or "",
            row["total_cost"] or "", row["session_id"] or "", (first_in or "")[:120])) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("kind", "name", "model", "tokens", "cost", "session", "last input"))
    return ("<!doctype html><meta charset=utf-8><title>glassbox spans</title>"
            "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #ddd}"
            "</style><h1>glassbox: what would reach Datadog</h1>"
            f"<table><tr>{head}</tr>{''.join(cells)}</table>")
