"""Admin endpoints: ``/healthz`` (the process is up), ``/readyz`` (200 while the relay would accept data — the
rule the receivers refuse by — and no exporter fails every send; 503 with the reason otherwise), ``/metrics``
(Prometheus text), ``/api/relay`` (the relay's own state for the viewer: queues, dead letters, refusals,
redaction failures), ``POST /api/deadletters/replay`` (the viewer's replay button), and pages components offer
(``/`` and ``/api/*``: the local viewer when the ``local`` exporter is on). With ``admin.token`` set, everything
but the probes and ``/metrics`` needs it: an ``Authorization: Bearer`` header, or the cookie ``/?token=...`` sets
for a browser."""

from __future__ import annotations

import asyncio
import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

PROBES = {"/healthz", "/readyz", "/metrics"}
COOKIE = "glassbox_viewer"
# The families of /metrics the viewer's relay panel shows.
RELAY_FAMILIES = re.compile(
    r"^glassbox_(exporter_queue_\w+|exporter_dead_letters_total|exporter_dropped_items_total|exporter_failing"
    r"|receiver_refused_requests_total|receiver_rejected_spans_total|pipeline_memory_limit_refusals_total"
    r"|pipeline_dropped_items_total|processor_failed_spans_total|\w*redaction\w*)$"
)
_SAMPLE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
REPLAY_HEADER = "X-Glassbox-Action"
NEEDS_TOKEN = "this viewer needs admin.token: open /?token=<token> or send 'Authorization: Bearer <token>'"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def relay_state(metrics_text: str) -> dict[str, list[dict[str, Any]]]:
    """The relay-panel families of the Prometheus text, as {family: [{labels, value}]}."""
    state: dict[str, list[dict[str, Any]]] = {}
    for line in metrics_text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or not RELAY_FAMILIES.match(match.group(1)):
            continue
        labels = dict(_LABEL.findall(match.group(2) or ""))
        state.setdefault(match.group(1), []).append({"labels": labels, "value": float(match.group(3))})
    return state


def _guard(handler: Handler, token: str) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or request.cookies.get(
            COOKIE, ""
        )
        in_url = request.query.get("token", "")
        if in_url and request.path == "/" and hmac.compare_digest(in_url.encode(), token.encode()):
            response = web.HTTPFound("/")  # the token leaves the address bar (and the history) at once
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
            return response
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            return web.json_response(
                {"error": NEEDS_TOKEN},
                status=401,
            )
        return await handler(request)

    return guarded


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

    async def relay_api(_: web.Request) -> web.Response:
        from glassbox.collector.delivery import deadletter

        await relay.refresh_gauges()
        body: dict[str, Any] = {"ready": relay.ready()[0], "metrics": relay_state(relay.telemetry.render())}
        try:
            body["dead_letters"] = await asyncio.to_thread(deadletter.list_letters, relay.store.path, 50)
        except FileNotFoundError:
            body["dead_letters"] = []
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def replay_api(request: web.Request) -> web.Response:
        """Dead letters back to their queues: all, or ``{"ids": [...]}``. The one write the viewer makes; a custom
        header is required, which a page of another site cannot send without a CORS preflight this server never
        grants."""
        from glassbox.collector.delivery import deadletter

        if request.headers.get(REPLAY_HEADER) != "replay":
            return web.json_response({"error": f"send the header '{REPLAY_HEADER}: replay'"}, status=400)
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            return web.json_response({"error": 'the body is not JSON: send {} or {"ids": [1, 2]}'}, status=400)
        ids = body.get("ids") if isinstance(body, dict) else None
        if ids is not None and not (
            isinstance(ids, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        ):
            return web.json_response({"error": '"ids" must be a list of dead-letter ids (integers)'}, status=400)
        try:
            moved = await asyncio.to_thread(deadletter.replay, relay.store.path, ids or None)
        except FileNotFoundError:
            moved = 0
        return web.json_response({"moved": moved})  # each sender finds them within its flush_interval

    admin = relay.config.admin
    if not admin.viewer:
        pages = []
    routes = [*pages, web.get("/api/relay", relay_api), web.post("/api/deadletters/replay", replay_api)]
    if not any(getattr(route, "path", None) == "/" for route in pages):
        routes.append(web.get("/", no_viewer))
    if admin.token is not None:
        token = admin.token.get_secret_value()
        routes = [
            web.route(r.method, r.path, _guard(r.handler, token), **r.kwargs) if isinstance(r, web.RouteDef) else r
            for r in routes
        ]
    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics), *routes]
