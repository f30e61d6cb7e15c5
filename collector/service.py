"""The relay service: builds components from a validated config, starts them in order, stops them in reverse.

Start order: exporters (senders) → pipeline → receivers → admin. Stop order is the reverse of intake:
receivers stop accepting, the pipeline releases what it holds, senders drain up to the shutdown timeout.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from pathlib import Path
from typing import Any

import grpc
from aiohttp import web

from glassbox.collector.admin import admin_routes
from glassbox.collector.config import RelayConfig
from glassbox.collector.exporters.datadog import DatadogExporter
from glassbox.collector.exporters.debug import DebugExporter
from glassbox.collector.exporters.local import LocalExporter
from glassbox.collector.exporters.otlp import OtlpExporter
from glassbox.collector.exporters.sender import Sender
from glassbox.collector.pipeline import Pipeline
from glassbox.collector.queue import QueueStore
from glassbox.collector.receivers.auth import Authenticator
from glassbox.collector.receivers.grpc import build_server
from glassbox.collector.receivers.http import HttpReceiver
from glassbox.collector.telemetry import Telemetry
from glassbox.processors.base import registry

log = logging.getLogger("glassbox")


def _split(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port)


class StartupError(Exception):
    """The relay cannot start (a port is taken, a file is unreadable); the message says which and why."""


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


def _ssl(tls: Any) -> ssl.SSLContext | None:
    if tls is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert_file, tls.key_file)
    return context


class Relay:
    def __init__(self, config: RelayConfig, base_dir: Path | None = None, shutdown_timeout: float = 10.0):
        self.config = config
        self.shutdown_timeout = shutdown_timeout
        self.telemetry = Telemetry()
        directory = Path(config.storage.directory)
        if not directory.is_absolute() and base_dir is not None:
            directory = base_dir / directory
        self.store = QueueStore(directory / "queue.db", sync=config.storage.sync)
        self.senders = []
        for name in config.pipeline.exporters:
            settings = getattr(config.exporters, name)
            exporter = build_exporter(name, settings, base_dir)
            self.senders.append(Sender(exporter, settings, self.telemetry, self.store,
                                       max_items=settings.queue_max_items, max_bytes=settings.queue_max_bytes))
        processors = registry()
        self.processors = [processors[name](config.processor_settings(name)) for name in config.pipeline.processors]
        for processor in self.processors:
            if hasattr(processor, "metrics"):  # processors that count things of their own (redaction)
                self.telemetry.source(processor.metrics)
        self.pipeline = Pipeline(self.processors, self.senders, self.telemetry, self.store,
                                 join_timeout=config.pipeline.join_timeout,
                                 max_pending=config.pipeline.max_pending_spans,
                                 memory_limit_mib=config.pipeline.memory_limit_mib)
        self._register_gauges()
        self.grpc_port: int | None = None
        self.http_port: int | None = None
        self.admin_port: int | None = None
        self._grpc = None
        self._runners: list[web.AppRunner] = []
        self._ready = False

    @property
    def local_exporter(self) -> LocalExporter | None:
        return next((s.exporter for s in self.senders if isinstance(s.exporter, LocalExporter)), None)

    def _register_gauges(self) -> None:
        names = [sender.name for sender in self.senders]
        stats = self.store.stats

        def per_exporter(index: int):
            def read() -> dict:
                return {(("exporter", n),): (stats[n].items, stats[n].bytes)[index] if n in stats else 0
                        for n in names}
            return read

        self.telemetry.gauge("exporter_queue_size", "items waiting on disk, per exporter", per_exporter(0))
        self.telemetry.gauge("exporter_queue_bytes", "bytes waiting on disk, per exporter", per_exporter(1))
        self.telemetry.gauge("exporter_queue_capacity", "queue_max_items, per exporter",
                             lambda: {(("exporter", s.name),): s.max_items for s in self.senders})
        self.telemetry.gauge("exporter_queue_oldest_age_seconds", "age of the oldest queued item, per exporter",
                             lambda: {(("exporter", n),): age for n, age in self._oldest.items()})
        self._oldest: dict[str, float] = {}

    async def refresh_gauges(self) -> None:
        """Gauges that need a query (oldest item age), refreshed before each /metrics scrape."""
        self._oldest = await self.store.oldest_age()

    async def start(self) -> None:
        self.store.open()
        for sender in self.senders:
            await sender.start()
        await self.pipeline.start()
        await self.pipeline.replay_journal()
        otlp = self.config.receivers.otlp
        if otlp.grpc is not None:
            host, port = _split(otlp.grpc.endpoint)
            self._grpc = build_server(self.pipeline, self.telemetry, otlp.grpc.max_message_bytes,
                                      Authenticator(otlp.grpc.auth))
            try:
                if otlp.grpc.tls is not None:
                    credentials = grpc.ssl_server_credentials([(Path(otlp.grpc.tls.key_file).read_bytes(),
                                                                Path(otlp.grpc.tls.cert_file).read_bytes())])
                    self.grpc_port = self._grpc.add_secure_port(f"{host}:{port}", credentials)
                else:
                    self.grpc_port = self._grpc.add_insecure_port(f"{host}:{port}")
            except (RuntimeError, OSError) as exc:
                raise StartupError(f"receivers.otlp.grpc: cannot listen on {otlp.grpc.endpoint} "
                                   f"(is another process using the port?): {exc}") from None
            await self._grpc.start()
            log.info("OTLP/gRPC receiver listening on %s:%d", host, self.grpc_port)
        if otlp.http is not None:
            receiver = HttpReceiver(self.pipeline, self.telemetry, otlp.http.max_body_bytes,
                                    Authenticator(otlp.http.auth), otlp.http.read_timeout)
            app = web.Application(client_max_size=otlp.http.max_body_bytes)
            app.add_routes(receiver.routes())
            # The receiver decompresses itself, with the size limit applied to the decompressed bytes.
            self.http_port = await self._serve(app, otlp.http.endpoint, _ssl(otlp.http.tls), auto_decompress=False,
                                               keepalive_timeout=30.0)
            log.info("OTLP/HTTP receiver listening on %s:%d", _split(otlp.http.endpoint)[0], self.http_port)
        admin = web.Application()
        admin.add_routes(admin_routes(self))
        self.admin_port = await self._serve(admin, self.config.admin.endpoint, None)
        log.info("admin server (/healthz /readyz /metrics) listening on %s:%d",
                 _split(self.config.admin.endpoint)[0], self.admin_port)
        self._ready = True

    async def _serve(self, app: web.Application, endpoint: str, ssl_context: ssl.SSLContext | None,
                     **handler: Any) -> int:
        host, port = _split(endpoint)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0, **handler)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, host, port, backlog=512, ssl_context=ssl_context)
        try:
            await site.start()
        except OSError as exc:
            raise StartupError(f"cannot listen on {endpoint}: {exc.strerror or exc}") from None
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
            self._grpc = None
        for runner in self._runners[:-1]:  # receivers first; the admin server answers until the end
            await runner.cleanup()
        if self.store.is_open:
            await self.pipeline.shutdown()
            await asyncio.gather(*(sender.shutdown(self.shutdown_timeout) for sender in self.senders))
        if self._runners:
            await self._runners[-1].cleanup()
        self._runners.clear()
        self.store.close()

    async def run_until_signalled(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        log.info("glassbox relay ready (exporters: %s)", ", ".join(self.config.pipeline.exporters))
        await stop.wait()
        log.info("shutting down: draining exporters (up to %.0fs)", self.shutdown_timeout)
        await self.stop()
