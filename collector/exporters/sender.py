"""One sender per exporter: a bounded queue, batching, and retries with exponential backoff and jitter.

The queue bound is what receivers consult before accepting data (``has_room``), so a slow destination turns
into backpressure (HTTP 429 / gRPC UNAVAILABLE) instead of silent loss. This queue is in memory; the
persistent queue replaces it without changing the exporter interface.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from typing import Any

from glassbox.collector.config import Sending
from glassbox.collector.exporters.base import Exporter, PermanentError, RetryableError
from glassbox.collector.telemetry import Telemetry

log = logging.getLogger("glassbox.sender")


class Sender:
    def __init__(self, exporter: Exporter, settings: Sending, telemetry: Telemetry):
        self.exporter = exporter
        self.settings = settings
        self.telemetry = telemetry
        self._queue: deque[Any] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task | None = None
        self._closing = False
        telemetry.gauge("exporter_queue_size", "items waiting in each exporter's queue", self._queue_gauge)

    def _queue_gauge(self) -> dict:
        return {(("exporter", self.exporter.name),): len(self._queue)}

    def has_room(self, count: int = 1) -> bool:
        return len(self._queue) + count <= self.settings.queue_max_items

    def offer(self, items: list[Any]) -> None:
        if not items:
            return
        self._queue.extend(items)
        self._idle.clear()
        self.telemetry.add("exporter_enqueued_items", len(items), exporter=self.exporter.name)
        if len(self._queue) >= self.settings.batch_max_items:
            self._wakeup.set()

    async def start(self) -> None:
        await self.exporter.start()
        self._task = asyncio.create_task(self._run(), name=f"sender-{self.exporter.name}")

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                if self._closing:
                    return
            try:
                await asyncio.wait_for(self._wakeup.wait(), self.settings.flush_interval)
            except TimeoutError:
                pass
            self._wakeup.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.settings.batch_max_items))]
                await self._send(batch)

    async def _send(self, items: list[Any]) -> None:
        name = self.exporter.name
        started = time.monotonic()
        attempt = 0
        while items:
            try:
                await self.exporter.send(items)
                self.telemetry.add("exporter_sent_items", len(items), exporter=name)
                return
            except PermanentError as exc:
                failed = exc.remaining if exc.remaining is not None else items
                self.telemetry.add("exporter_sent_items", len(items) - len(failed), exporter=name)
                self.telemetry.add("exporter_dropped_items", len(failed), exporter=name, reason=exc.reason)
                log.error("exporter %s dropped %d item(s), permanent failure: %s", name, len(failed), exc)
                return
            except RetryableError as exc:
                if exc.remaining is not None:
                    self.telemetry.add("exporter_sent_items", len(items) - len(exc.remaining), exporter=name)
                    items = exc.remaining
                attempt += 1
                delay = self._backoff(attempt, exc.retry_after)
                if time.monotonic() - started + delay > self.settings.retry_max_elapsed:
                    self.telemetry.add("exporter_dropped_items", len(items), exporter=name, reason="retries_exhausted")
                    log.error("exporter %s gave up on %d item(s) after %d attempt(s): %s", name, len(items), attempt, exc)
                    return
                self.telemetry.add("exporter_retries", 1, exporter=name)
                log.warning("exporter %s: %s; retry %d in %.2fs", name, exc, attempt, delay)
                await asyncio.sleep(delay)
            except Exception as exc:  # a bug in an exporter must not kill the sender or lose the reason
                self.telemetry.add("exporter_dropped_items", len(items), exporter=name, reason="exporter_error")
                log.exception("exporter %s failed unexpectedly: %s", name, exc)
                return

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        base = min(self.settings.retry_max_interval, self.settings.retry_initial_interval * 2 ** (attempt - 1))
        delay = base * (0.5 + random.random() / 2)  # jitter in [base/2, base]
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.settings.retry_max_interval * 4))
        return delay

    async def flush(self, timeout: float) -> bool:
        """Wait until everything queued so far was sent (or dropped with a reason); False on timeout."""
        self._wakeup.set()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def shutdown(self, timeout: float) -> None:
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
                left = len(self._queue)
                if left:
                    self.telemetry.add("exporter_dropped_items", left, exporter=self.exporter.name, reason="shutdown")
                    log.error("exporter %s: %d item(s) not sent before the shutdown timeout", self.exporter.name, left)
        await self.exporter.shutdown()
