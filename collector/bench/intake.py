"""A stand-in for Datadog's LLM Observability intake on 127.0.0.1: accepts every POST (after an optional
injected latency), counts span events and evaluation metrics, and notes when each span id arrived."""

from __future__ import annotations

import asyncio
import threading
import time

import orjson
from aiohttp import web

SPAN_PATH = "/api/v2/llmobs"  # the datadog exporter's agentless paths
EVAL_PATH = "/api/intake/llm-obs/v2/eval-metric"


class Intake:
    def __init__(self, latency_ms: float = 0.0) -> None:
        self.latency = latency_ms / 1000
        self.spans = 0
        self.evaluations = 0
        self.posts = 0
        self.arrivals: list[tuple[float, list[int]]] = []  # (monotonic time, span ids) per POST
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _spans(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.latency:
            await asyncio.sleep(self.latency)
        envelopes = orjson.loads(body)
        ids = [
            int(event["span_id"])
            for envelope in (envelopes if isinstance(envelopes, list) else [envelopes])
            for event in envelope["spans"]
        ]
        self.arrivals.append((time.monotonic(), ids))
        self.spans += len(ids)
        self.posts += 1
        return web.Response(status=202, text="{}")

    async def _evaluations(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.latency:
            await asyncio.sleep(self.latency)
        self.evaluations += len(orjson.loads(body)["data"]["attributes"]["metrics"])
        self.posts += 1
        return web.Response(status=202, text="{}")

    def start(self) -> None:
        """Serve from a thread of this process until ``stop``."""
        ready = threading.Event()
        failed: list[BaseException] = []

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            app = web.Application(client_max_size=64 << 20)
            app.router.add_post(SPAN_PATH, self._spans)
            app.router.add_post(EVAL_PATH, self._evaluations)
            self._runner = web.AppRunner(app, access_log=None)
            try:
                self._loop.run_until_complete(self._runner.setup())
                site = web.TCPSite(self._runner, "127.0.0.1", 0)
                self._loop.run_until_complete(site.start())
                self.port = self._runner.addresses[0][1]
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                failed.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())

        threading.Thread(target=serve, name="bench-intake", daemon=True).start()
        if not ready.wait(10) or failed:
            raise RuntimeError(f"the intake stand-in did not start: {failed[0] if failed else 'timed out'}")

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
