"""A local stand-in of the Datadog dashboards and monitors API (v1) on 127.0.0.1: list (paged as the client
pages), get, create, update, delete; it checks the key headers (403 otherwise) and records every call."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "test-api-key"
APP_KEY = "test-app-key"

UNMANAGED_DASHBOARD: dict[str, Any] = {
    "id": "abc-def-ghi",
    "title": "Team payments (hand-made)",
    "description": "Someone's own dashboard: glassbox must never touch it.",
    "layout_type": "ordered",
    "widgets": [{"id": 1, "definition": {"type": "note", "content": "hello"}}],
}
UNMANAGED_MONITOR: dict[str, Any] = {
    "id": 1001,
    "name": "[payments] error rate",
    "type": "query alert",
    "query": "avg(last_5m):avg:payments.errors{*} > 1",
    "message": "hand-made",
    "tags": ["team:payments", "glassbox_asset:health"],  # an id tag alone is not the marker
    "options": {"thresholds": {"critical": 1.0}},
}


@dataclass
class StandIn:
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    monitors: dict[int, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(2000))

    def __post_init__(self) -> None:
        self.dashboards[UNMANAGED_DASHBOARD["id"]] = copy.deepcopy(UNMANAGED_DASHBOARD)
        self.monitors[UNMANAGED_MONITOR["id"]] = copy.deepcopy(UNMANAGED_MONITOR)

    def changes(self) -> list[tuple[str, str]]:
        """The calls that changed something (everything but GET)."""
        return [c for c in self.calls if c[0] != "GET"]

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.calls.append((request.method, request.path))
        if request.headers.get("DD-API-KEY") != API_KEY or request.headers.get("DD-APPLICATION-KEY") != APP_KEY:
            return web.json_response({"errors": ["Forbidden"]}, status=403)
        return await handler(request)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/api/v1/dashboard", self.list_dashboards)
        app.router.add_post("/api/v1/dashboard", self.create_dashboard)
        app.router.add_get("/api/v1/dashboard/{id}", self.get_dashboard)
        app.router.add_put("/api/v1/dashboard/{id}", self.update_dashboard)
        app.router.add_delete("/api/v1/dashboard/{id}", self.delete_dashboard)
        app.router.add_get("/api/v1/monitor", self.list_monitors)
        app.router.add_post("/api/v1/monitor", self.create_monitor)
        app.router.add_get("/api/v1/monitor/{id}", self.get_monitor)
        app.router.add_put("/api/v1/monitor/{id}", self.update_monitor)
        app.router.add_delete("/api/v1/monitor/{id}", self.delete_monitor)
        return app

    async def list_dashboards(self, request: web.Request) -> web.Response:
        start, count = int(request.query.get("start", 0)), int(request.query.get("count", 100))
        summaries = [
            {k: d[k] for k in ("id", "title", "description", "layout_type") if k in d}
            for d in list(self.dashboards.values())[start : start + count]
        ]
        return web.json_response({"dashboards": summaries})

    def _dashboard(self, request: web.Request) -> dict[str, Any]:
        if request.match_info["id"] not in self.dashboards:
            raise web.HTTPNotFound(text='{"errors": ["Dashboard not found"]}', content_type="application/json")
        return self.dashboards[request.match_info["id"]]

    async def get_dashboard(self, request: web.Request) -> web.Response:
        return web.json_response(self._dashboard(request))

    async def create_dashboard(self, request: web.Request) -> web.Response:
        body = await request.json()
        dashboard_id = f"gbx-{next(self._ids)}"
        widgets = [{**w, "id": i} for i, w in enumerate(body.get("widgets", []))]  # Datadog numbers widgets
        self.dashboards[dashboard_id] = {**body, "widgets": widgets, "id": dashboard_id, "author_handle": "x"}
        return web.json_response(self.dashboards[dashboard_id])

    async def update_dashboard(self, request: web.Request) -> web.Response:
        self._dashboard(request)
        body = await request.json()
        dashboard_id = request.match_info["id"]
        self.dashboards[dashboard_id] = {**body, "id": dashboard_id, "author_handle": "x"}
        return web.json_response(self.dashboards[dashboard_id])

    async def delete_dashboard(self, request: web.Request) -> web.Response:
        self._dashboard(request)
        del self.dashboards[request.match_info["id"]]
        return web.json_response({"deleted_dashboard_id": request.match_info["id"]})

    async def list_monitors(self, request: web.Request) -> web.Response:
        monitors = list(self.monitors.values())
        if "page" in request.query:
            size = int(request.query.get("page_size", 100))
            page = int(request.query["page"])
            monitors = monitors[page * size : (page + 1) * size]
        return web.json_response(monitors)

    def _monitor(self, request: web.Request) -> dict[str, Any]:
        monitor_id = int(request.match_info["id"])
        if monitor_id not in self.monitors:
            raise web.HTTPNotFound(text='{"errors": ["Monitor not found"]}', content_type="application/json")
        return self.monitors[monitor_id]

    async def get_monitor(self, request: web.Request) -> web.Response:
        return web.json_response(self._monitor(request))

    async def create_monitor(self, request: web.Request) -> web.Response:
        body = await request.json()
        monitor_id = next(self._ids)
        self.monitors[monitor_id] = {**body, "id": monitor_id, "overall_state": "No Data", "multi": True}
        return web.json_response(self.monitors[monitor_id])

    async def update_monitor(self, request: web.Request) -> web.Response:
        monitor = self._monitor(request)
        monitor.update(await request.json())
        return web.json_response(monitor)

    async def delete_monitor(self, request: web.Request) -> web.Response:
        self._monitor(request)
        del self.monitors[int(request.match_info["id"])]
        return web.json_response({"deleted_monitor_id": int(request.match_info["id"])})
