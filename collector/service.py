"""The relay service: builds every component from a validated config through the registry, starts them in
order, stops them in reverse.

Start order: queue store → exporters (senders) → processors → pipeline (+ journal replay) → receivers → admin.
Stop order is the reverse of intake: receivers stop accepting, the pipeline releases what it holds, senders
drain up to the shutdown timeout, processors stop. A component that fails to start is one line naming its
config key (``StartupError``), never a traceback, and whatever already started is stopped again.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import logging
import platform
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from glassbox.collector import components, process_metrics
from glassbox.collector import telemetry as T
from glassbox.collector.admin import admin_routes
from glassbox.collector.config import UNREDACTED_WARNING, RelayConfig, unredacted_egress
from glassbox.collector.delivery.admission import Admission
from glassbox.collector.delivery.sender import Sender
from glassbox.collector.delivery.store import QueueStore
from glassbox.collector.errors import GlassboxError, StartupError
from glassbox.collector.pipeline import Pipeline
from glassbox.collector.receivers.base import Receiver
from glassbox.collector.receivers.otlp.receiver import serve
from glassbox.collector.summary import startup_summary
from glassbox.collector.validators import split_endpoint
from glassbox.collector.version import VERSION
from glassbox.processors.base import Context, Processor, where_it_failed
from glassbox.processors.model import Batch

# A batch lives across awaits (redaction workers, the queue's commit) while thousands of objects are allocated, so
# with the default young-generation threshold (700 allocations) every batch is collected many times over, survives,
# is promoted, and then drives full collections. bench.relay (chat workload) measured the collector at ~20% of the
# relay's CPU with the defaults (700, 10, 10) and ~3% with 50,000; at 200,000 a young collection finds most of a
# batch's objects already freed by reference counting: glassbox bench (chat, 3 pairs alternating) 0.754 vs 0.780 CPU s
# per 1k spans, the same peak RSS (355 MiB); 1,000,000 was no better. Unreachable cycles wait a little longer (KBs).
GC_THRESHOLDS = (200_000, 20, 100)
# The event loop holds the GIL nearly all the time; the redaction feed thread needs it only for a moment, to hand a
# worker its next job and to pass the results on, and with the default 5 ms interval it waited up to 5 ms each time
# while the worker sat idle. glassbox bench (chat, 2 CPUs, alternating): 2,395 / 2,326 spans/s at 0.5 ms against
# 2,229 / 2,178 at 5 ms, CPU per span no higher.
SWITCH_INTERVAL = 0.0005

log = logging.getLogger("glassbox")


class Relay:
    def __init__(self, config: RelayConfig, base_dir: Path | None = None, shutdown_timeout: float = 10.0):
        self.config = config
        # Exporters that get content no redaction saw (pipeline.send_unredacted): the startup warning, the
        # summary and /metrics all say these.
        self.unredacted = unredacted_egress(config.pipeline.exporters, config.pipeline.processors)
        self.shutdown_timeout = shutdown_timeout
        self.telemetry = T.Telemetry()
        self.late: collections.deque[Batch] = collections.deque()  # results processors hand in after the fact
        context = Context(base_dir=base_dir, submit=self.late.append)
        self.store = QueueStore(config.storage.resolved_directory(base_dir) / "queue.db", sync=config.storage.sync)
        self.senders = [
            Sender(
                name,
                components.EXPORTERS[name].create(config.exporter_config(name), context),
                config.exporter_config(name),
                self.telemetry,
                self.store,
            )
            for name in config.pipeline.exporters
        ]
        self.processors: list[tuple[str, Processor]] = [
            (name, components.PROCESSORS[name].create(config.processor_config(name), context))
            for name in config.pipeline.processors
        ]
        for component in [p for _, p in self.processors] + [s.exporter for s in self.senders]:
            metrics = getattr(component, "metrics", None)
            if callable(metrics):  # components that count things of their own (redaction, the metrics exporter)
                self.telemetry.source(metrics)
        self.admission = Admission(self.senders, self.store, self.telemetry, config.pipeline.memory_limit_mib)
        self.pipeline = Pipeline(
            self.processors,
            self.late,
            self.senders,
            self.telemetry,
            self.store,
            self.admission,
            join_timeout=config.pipeline.join_timeout,
            max_pending=config.pipeline.max_pending_spans,
            plain_spans=any(components.EXPORTERS[name].plain_spans for name in config.pipeline.exporters),
        )
        self.receivers: list[Receiver] = [
            factory.create(getattr(config.receivers, name), context, self.pipeline, self.telemetry)
            for name, factory in components.RECEIVERS.items()
            if getattr(config.receivers, name) is not None
        ]
        self._register_gauges()
        self.admin_port: int | None = None
        self._admin: web.AppRunner | None = None
        self._ready = False

    # --- where things are -------------------------------------------------------------------------------------

    def _port(self, transport: str) -> int | None:
        return next((r.ports[transport] for r in self.receivers if transport in r.ports), None)

    @property
    def grpc_port(self) -> int | None:
        return self._port("grpc")

    @property
    def http_port(self) -> int | None:
        return self._port("http")

    def exporter(self, name: str) -> Any:
        """The exporter configured under ``name`` in the pipeline, or None."""
        return next((s.exporter for s in self.senders if s.name == name), None)

    @property
    def local_exporter(self) -> Any:
        return self.exporter("local")

    # --- telemetry ----------------------------------------------------------------------------------------------

    def _register_gauges(self) -> None:
        stats = self.store.stats
        names = [sender.name for sender in self.senders]

        def per_exporter(read: Any) -> Any:
            return lambda: {(("exporter", n),): read(stats[n]) if n in stats else 0 for n in names}

        self.telemetry.gauge(T.EXPORTER_QUEUE_SIZE, per_exporter(lambda s: s.items))
        self.telemetry.gauge(T.EXPORTER_QUEUE_BYTES, per_exporter(lambda s: s.bytes))
        self.telemetry.gauge(
            T.EXPORTER_QUEUE_CAPACITY, lambda: {(("exporter", s.name),): s.max_items for s in self.senders}
        )
        self.telemetry.gauge(  # 0 for an empty queue: an alert on the age must not see a gap
            T.EXPORTER_QUEUE_OLDEST_AGE, lambda: {(("exporter", n),): self._oldest.get(n, 0.0) for n in names}
        )
        self.telemetry.gauge(
            T.EXPORTER_FAILING, lambda: {(("exporter", s.name),): int(bool(s.failing())) for s in self.senders}
        )
        self.telemetry.gauge(T.READY, lambda: {(): int(self.ready()[0])})
        unredacted = self.unredacted
        self.telemetry.gauge(T.PIPELINE_UNREDACTED_EXPORTERS, lambda: {(("exporter", n),): 1 for n in unredacted})
        build = (("python", platform.python_version()), ("version", VERSION))
        self.telemetry.gauge(T.BUILD_INFO, lambda: {build: 1})
        self.telemetry.collect(process_metrics.read)
        self._oldest: dict[str, float] = {}
        self._seed_known_series(names)

    def _seed_known_series(self, exporters: list[str]) -> None:
        """Counters and stages whose label values are known now are listed at 0 from the start, so rate() and
        increase() count their first increments and `glassbox bench` finds every stage."""
        for name in exporters:
            for metric in (
                T.EXPORTER_ENQUEUED_ITEMS,
                T.EXPORTER_SENT_ITEMS,
                T.EXPORTER_RETRIES,
                T.EXPORTER_FAILED_SENDS,
            ):
                self.telemetry.seed(metric, exporter=name)
            self.telemetry.seed(T.STAGE_DURATION, stage="encode", exporter=name)
            self.telemetry.seed(T.STAGE_DURATION, stage="send", exporter=name)
        for name, _ in self.processors:
            self.telemetry.seed(T.PROCESSOR_SPANS, processor=name)
            self.telemetry.seed(T.PROCESSOR_FAILED_SPANS, processor=name)
            self.telemetry.seed(T.STAGE_DURATION, stage="processor", processor=name)
        otlp = self.config.receivers.otlp
        transports = [t for t in ("grpc", "http") if otlp is not None and getattr(otlp, t) is not None]
        for kind in ("traces", "logs", "metrics"):
            for transport in transports:
                self.telemetry.seed(T.STAGE_DURATION, stage="decode", signal=kind, transport=transport)
            if kind != "metrics":  # metric requests are forwarded as they are: nothing to normalize
                self.telemetry.seed(T.STAGE_DURATION, stage="normalize", signal=kind)

    async def refresh_gauges(self) -> None:
        """Gauges that need a query (oldest item age), refreshed before each /metrics scrape."""
        self._oldest = await self.store.oldest_age()

    # --- lifecycle ----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            self.store.open()
        except Exception as exc:
            raise StartupError(f"storage.directory: cannot open {self.store.path}: {exc}") from None
        for sender in self.senders:
            await self._start(f"exporters.{sender.name}", sender.start)
        for name, processor in self.processors:
            await self._start(f"processors.{name}", processor.start)
        await self.pipeline.start()
        await self.pipeline.replay_journal()
        for receiver in self.receivers:
            await self._start("receivers", receiver.start)
        offers = [getattr(sender.exporter, "routes", None) for sender in self.senders]
        pages = [route for routes in offers if callable(routes) for route in routes()]  # e.g. the local viewer
        admin = web.Application()
        admin.add_routes(admin_routes(self, pages))
        self._admin, self.admin_port = await serve(admin, self.config.admin.endpoint, None, "admin.endpoint")
        log.info(
            "admin server (/healthz /readyz /metrics) listening on %s:%d",
            split_endpoint(self.config.admin.endpoint)[0],
            self.admin_port,
        )
        # Everything loaded so far (price tables, pattern sets, models) lives as long as the relay: keep it out of the
        # garbage collector's full passes, which otherwise rescan it all as spans churn through.
        if self.unredacted:
            log.warning(UNREDACTED_WARNING, ", ".join(self.unredacted))
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._ready = True
        log.info("%s", startup_summary(self))

    @staticmethod
    async def _start(key: str, start: Any) -> None:
        try:
            result = start()
            if asyncio.iscoroutine(result):
                await result
        except GlassboxError:
            raise
        except Exception as exc:
            raise StartupError(f"{key}: cannot start: {type(exc).__name__}: {exc}") from None

    def ready(self) -> tuple[bool, str]:
        """Ready = started, admission would accept a request now (the one rule receivers refuse by), and no
        exporter is failing every send (a 403 from a bad API key would otherwise look healthy while everything
        goes to the dead letters)."""
        if not self._ready:
            return False, "starting or stopping"
        ready, reason = self.admission.ready()
        if not ready:
            return ready, reason
        failing = [why for sender in self.senders if (why := sender.failing())]
        return (False, "; ".join(failing)) if failing else (True, "")

    async def _drain_processors(self, timeout: float) -> None:
        """Processors with work in flight (an LLM judge) finish it, or give up, before the last flush."""
        drains = [drain(timeout) for _, p in self.processors if callable(drain := getattr(p, "drain", None))]
        if drains:
            await asyncio.gather(*drains, return_exceptions=True)

    async def flush(self, timeout: float = 10.0) -> bool:
        """Release held spans and wait until every exporter sent what it has (tests and the demo use this)."""
        await self.pipeline.flush()
        await self._drain_processors(timeout)
        await self.pipeline.flush()
        results = await asyncio.gather(*(sender.flush(timeout) for sender in self.senders))
        return all(results)

    async def stop(self) -> None:
        self._ready = False
        for receiver in self.receivers:  # receivers first; the admin server answers until the end
            await receiver.shutdown()
        if self.store.is_open:
            await self.pipeline.flush()
            await self._drain_processors(self.shutdown_timeout / 2)
            await self.pipeline.shutdown()
            await asyncio.gather(*(sender.shutdown(self.shutdown_timeout) for sender in self.senders))
        for _, processor in self.processors:
            try:
                processor.shutdown()
            except Exception as exc:  # one processor failing to stop must not keep the others running
                log.error("processor shutdown failed (%s)", where_it_failed(exc))
        if self._admin is not None:
            await self._admin.cleanup()
            self._admin = None
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
