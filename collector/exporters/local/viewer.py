"""The local viewer: a page (plain HTML/CSS/JS shipped in the package, no third-party code, nothing fetched from
elsewhere) and the read-only JSON API it polls, both on the admin port. Every read goes through ``query.py``,
on a fresh SQLite connection in a worker thread, so a slow query never blocks the relay's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from importlib import resources
from typing import Any

import orjson
from aiohttp import web

from glassbox.collector.exporters.local import query
from glassbox.collector.exporters.local.store import LocalStore

# No inline script or style, nothing from another origin: data the page shows can never run as code.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STATIC = {"viewer.js": "text/javascript", "viewer.css": "text/css"}


def _static(name: str) -> bytes:
    return resources.files("glassbox.collector.exporters.local").joinpath("static", name).read_bytes()


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=SECURITY_HEADERS
    )


def viewer_routes(get_store: Callable[[], LocalStore | None]) -> list[web.RouteDef]:
    """``get_store``: the exporter's store once started (None before)."""

    async def read(request: web.Request, run: Callable[..., Any]) -> web.Response:
        store = get_store()
        if store is None:
            return json_response({"error": "the local store is not open yet"}, status=503)

        def work() -> Any:
            db = store.connect()
            try:
                return run(db, request.query)
            finally:
                db.close()

        try:
            result = await asyncio.to_thread(work)
        except query.QueryError as exc:
            return json_response({"error": str(exc)}, status=400)
        if result is None:
            return json_response({"error": "not found"}, status=404)
        return json_response(result)

    async def page(_: web.Request) -> web.Response:
        return web.Response(body=_static("index.html"), content_type="text/html", headers=SECURITY_HEADERS)

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        return web.Response(body=_static(name), content_type=STATIC[name], headers=SECURITY_HEADERS)

    async def traces(request: web.Request) -> web.Response:
        return await read(
            request,
            lambda db, q: query.list_traces(
                db,
                query.TraceFilter.from_params(q),
                query.parse_limit(q.get("limit")),
                before=query.parse_int("before", q.get("before")),
                after=query.parse_int("after", q.get("after")),
            ),
        )

    async def one_trace(request: web.Request) -> web.Response:
        return await read(request, lambda db, _: query.trace(db, request.match_info["trace_id"]))

    async def session(request: web.Request) -> web.Response:
        return await read(request, lambda db, _: query.session(db, request.match_info["session_id"]))

    async def overview(request: web.Request) -> web.Response:
        return await read(request, lambda db, q: query.overview(db, since=query.parse_int("since", q.get("since_ns"))))

    async def spans(request: web.Request) -> web.Response:
        return await read(
            request,
            lambda db, q: {
                "spans": query.recent_spans(
                    db,
                    query.parse_limit(q.get("limit")),
                    service=q.get("service") or None,
                    trace=q.get("trace") or None,
                    errors=q.get("status") == "error",
                )
            },
        )

    return [
        web.get("/", page),
        web.get("/static/{name}", asset),
        web.get("/api/traces", traces),
        web.get("/api/traces/{trace_id}", one_trace),
        web.get("/api/sessions/{session_id}", session),
        web.get("/api/overview", overview),
        web.get("/api/spans", spans),
    ]
