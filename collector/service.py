"""The relay service: builds components from a validated config, starts them in order, stops them in reverse.

Start order: exporters (senders) → pipeline → receivers → admin. Stop order is the reverse of intake:
receivers stop accepting, the pipeline releases what it holds, senders drain up to the shutdown timeout.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

from aiohttp import web

from glassbox.collector.admin import admin_routes
from glassbox.collector.config import RelayConfig, Sending
from glassbox.collector.exporters.datadog import DatadogExporter
from glassbox.collector.exporters.debug import DebugExporter
from glassbox.collector.exporters.local import LocalExporter
from glassbox.collector.exporters.otlp import OtlpExporter
from glassbox.collector.exporters.sender import Sender
from glassbox.collector.pipeline import Pipeline
from glassbox.collector.receivers.grpc import build_server
from glassbox.collector.receivers.http import HttpReceiver
from glassbox.collector.telemetry import Telemetry
from glassbox.processors.base import registry

log = logging.getLogger("glassbox")
LOCAL_SENDING = Sending(batch_max_items=1000, flush_interval=0.2)  # local and debug exporters: no network


def _split(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port)


def build_exporter(name: str, settings: Any, base_dir: Path | None) -> Any:
    if name == "datadog":
        return DatadogExporter(settings)
    if name == "otlp":
        return OtlpExporter(settings)
    if name == "local":
        return LocalExporter(settings, base_dir)
    if name == "debug":
        return DebugExporter(settings)
    raise ValueError(f"unknown exporter {name!r}")


class Relay:
    def __init__(self, config: RelayConfig, base_dir: Path | None = None, shutdown_timeout: float = 10.0):
        self.config = config
        self.shutdown_timeout = shutdown_timeout
        self.telemetry = Telemetry()
        self.senders = []
        for name in config.pipeline.exporters:
            settings = getattr(config.exporters, name)
            exporter = build_exporter(name, settings, base_dir)
            sending = settings if isinstance(settings, Sending) else LOCAL_SENDING
            self.senders.append(Sender(exporter, sending, self.telemetry))
        processors = registry()
        self.processors = [processors[name](config.processor_settings(name)) for name in config.pipeline.processors]
        self.pipeline = Pipeline(self.processors, self.senders, self.telemetry,
                                 join_timeout=config.pipeline.join_timeout,
                                 max_pending=config.pipeline.max_pending_spans)
        self.grpc_port: int | None = None
        self.http_port: int | None = None
        self.admin_port: int | None = None
        self._grpc = None
        self._runners: list[web.AppRunner] = []
        self._ready = False

    @property
    def local_exporter(self) -> LocalExporter | None:
        return next((s.exporter for s in self.senders if isinstance(s.exporter, LocalExporter)), None)

    async def start(self) -> None:
        for sender in self.senders:
            await sender.start()
        await self.pipeline.start()
        otlp = self.config.receivers.otlp
        if otlp.grpc is not None:
            host, port = _split(otlp.grpc.endpoint)
            self._grpc = build_server(self.pipeline, self.telemetry, otlp.grpc.max_message_bytes)
            self.grpc_port = self._grpc.add_insecure_port(f"{host}:{port}")
            await self._grpc.start()
            log.info("OTLP/gRPC receiver listening on %s:%d", host, self.grpc_port)
        if otlp.http is not None:
            receiver = HttpReceiver(self.pipeline, self.telemetry, otlp.http.max_body_bytes)
            app = web.Application(client_max_size=otlp.http.max_body_bytes)
            app.add_routes(receiver.routes())
            self.http_port = await self._serve(app, otlp.http.endpoint)
            log.info("OTLP/HTTP receiver listening on %s:%d", _split(otlp.http.endpoint)[0], self.http_port)
        admin = web.Application()
        admin.add_routes(admin_routes(self))
        self.admin_port = await self._serve(admin, self.config.admin.endpoint)
        log.info("admin server (/healthz /readyz /metrics) listening on %s:%d",
                 _split(self.config.admin.endpoint)[0], self.admin_port)
        self._ready = True

    async def _serve(self, app: web.Application, endpoint: str) -> int:
        host, port = _split(endpoint)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=512)
        await site.start()
        self._runners.append(runner)
        return site._server.sockets[0].getsockname()[1]  # the real port when 0 was asked for

    def ready(self) -> bool:
        return self._ready and all(sender.has_room() for sender in self.senders)

    async def flush(self, timeout: float = 10.0) -> bool:
        """Release held spans and wait until every exporter sent what it has (tests and the demo use this)."""
        await self.pipeline.flush()
        results = await asyncio.gather(*(sender.flush(timeout) for sender in self.senders))
        return all(results)

    async def stop(self) -> None:
        self._ready = False
        if self._grpc is not None:
            await self._grpc.stop(grace=2.0)
        for runner in self._runners[:-1]:  # receivers first; the admin server answers until the end
            await runner.cleanup()
        await self.pipeline.shutdown()
        for sender in self.senders:
            await sender.shutdown(self.shutdown_timeout)
        if self._runners:
            await self._runners[-1].cleanup()
        self._runners.clear()

    async def run_until_signalled(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        log.info("glassbox relay ready (exporters: %s)", ", ".join(self.config.pipeline.exporters))
        await stop.wait()
        log.info("shutting down: draining exporters (up to %.0fs)", self.shutdown_timeout)
        await self.stop()
