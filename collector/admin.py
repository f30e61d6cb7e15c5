"""Admin endpoints: ``/healthz`` (the process is up), ``/readyz`` (200 while the relay would accept data — the
rule the receivers refuse by — and no exporter fails every send; 503 with the reason otherwise), ``/metrics``
(Prometheus text), and pages components offer (``/``: the local viewer when the ``local`` exporter is on)."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def admin_routes(relay: Any, pages: list[web.RouteDef]) -> list[web.RouteDef]:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        ready, reason = relay.ready()
        body: dict[str, Any] = {"ready": ready}
        if reason:
            body["reason"] = reason
        return web.json_response(body, status=200 if ready else 503)

    async def metrics(_: web.Request) -> web.Response:
        await relay.refresh_gauges()
        return web.Response(text=relay.telemetry.render(), content_type="text/plain", charset="utf-8")

    async def no_viewer(_: web.Request) -> web.Response:
        return web.Response(text="glassbox relay: the local viewer needs the `local` exporter.\n")

    routes = [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics), *pages]
    if not any(getattr(route, "path", None) == "/" for route in pages):
        routes.append(web.get("/", no_viewer))
    return routes
