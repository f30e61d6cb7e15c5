"""One sender per exporter: reads its persistent queue in order, sends batches, retries with backoff.

Retries use exponential backoff with jitter, honour ``Retry-After``, and stop at ``retry_max_elapsed``; items the
destination refuses for good (4xx other than 408/429) or that exhaust their retries move to the dead letters
with the reason, so nothing leaves the queue unaccounted for.

Acknowledgements are exact: an exporter that fails part-way says which of the items it was given the
destination accepted (``DeliveryError.accepted``, indices) and, for a permanent failure, which it refused.
Exactly the accepted rows are deleted, exactly the refused ones are dead-lettered, and the rest is sent again —
whatever order the exporter sent them in.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from glassbox.collector import telemetry as T
from glassbox.collector.delivery.config import SendingConfig
from glassbox.collector.delivery.store import QueueStore
from glassbox.collector.errors import PermanentError, RetryableError
from glassbox.collector.exporters.base import Exporter
from glassbox.processors.base import where_it_failed

log = logging.getLogger("glassbox.sender")
Row = tuple[int, str, bytes]  # (queue id, kind, payload)
RESYNC_INTERVAL = 10.0  # seconds between recounts of the queue on disk
FAILING_AFTER = 3  # sends failed in a row, with nothing accepted since, before the exporter counts as failing


class Sender:
    def __init__(
        self, name: str, exporter: Exporter, settings: SendingConfig, telemetry: T.Telemetry, store: QueueStore
    ):
        self.exporter = exporter
        self.name = name
        self.settings = settings
        self.telemetry = telemetry
        self.store = store
        self.max_items = settings.queue_max_items
        self.max_bytes = settings.queue_max_bytes
        self._wakeup = asyncio.Event()
        self._progress = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._cursor = 0
        self._closing = False
        self._failed_in_a_row = 0  # send attempts that failed since the destination last accepted anything
        self._last_error = ""

    def failing(self) -> str | None:
        """Why this exporter is failing every send (``/readyz`` says it), or None: a bad API key (403) or a
        destination that is down shows here after ``FAILING_AFTER`` failures in a row; one accepted send clears it."""
        if self._failed_in_a_row < FAILING_AFTER:
            return None
        return f"exporter {self.name}: the last {self._failed_in_a_row} sends failed ({self._last_error})"

    def _failed(self, error: str) -> None:
        self.telemetry.add(T.EXPORTER_FAILED_SENDS, 1, exporter=self.name)
        self._failed_in_a_row += 1
        self._last_error = error

    @property
    def queued(self) -> tuple[int, int]:
        stats = self.store.stats.get(self.name)
        return (stats.items, stats.bytes) if stats else (0, 0)

    def has_room(self, items: int = 1, size: int = 0) -> bool:
        count, used = self.queued
        return count + items <= self.max_items and used + size <= self.max_bytes

    def notify(self, count: int) -> None:
        """New items are on disk for this exporter."""
        if count:
            self.telemetry.add(T.EXPORTER_ENQUEUED_ITEMS, count, exporter=self.name)
            self._wakeup.set()

    async def start(self) -> None:
        await self.exporter.start()
        self._task = asyncio.create_task(self._run(), name=f"sender-{self.name}")

    async def _run(self) -> None:
        resynced = time.monotonic()
        while True:
            rows = await self.store.peek(self.name, self._cursor, self.settings.batch_max_items)
            if (
                (not rows and self.queued[0])
                or (rows and not self.queued[0])
                or time.monotonic() - resynced > RESYNC_INTERVAL
            ):
                await self.store.resync(self.name)  # the count drifted (items added from outside the relay)
                resynced = time.monotonic()
            if not rows:
                self._progress.set()
                if self._closing:
                    return
                try:
                    await asyncio.wait_for(self._wakeup.wait(), self.settings.flush_interval)
                except TimeoutError:
                    pass
                self._wakeup.clear()
                continue
            if len(rows) < self.settings.batch_max_items and not self._closing:
                # A partial batch: give the batch a moment to fill, as the Collector's batcher does.
                try:
                    await asyncio.wait_for(self._wakeup.wait(), min(self.settings.flush_interval, 0.2))
                except TimeoutError:
                    pass
                self._wakeup.clear()
                rows = await self.store.peek(self.name, self._cursor, self.settings.batch_max_items)
            try:
                await self._send(rows)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a queue or exporter bug must not kill the sender; the items stay queued
                log.error(
                    "exporter %s: sending failed unexpectedly (%s); retrying the batch", self.name, where_it_failed(exc)
                )
                await asyncio.sleep(self.settings.retry_initial_interval)
                continue
            self._cursor = rows[-1][0]
            self._progress.set()

    async def _send(self, rows: list[Row]) -> None:
        started = time.monotonic()
        attempt = 0
        pending = rows
        while pending:
            attempt_started = time.perf_counter()
            try:
                try:
                    await self.exporter.send([(kind, payload) for _, kind, payload in pending])
                finally:  # one attempt, whatever its outcome
                    self.telemetry.stage("send", attempt_started, exporter=self.name)
                await self._ack(pending)
                return
            except PermanentError as exc:
                accepted, refused, rest = _partition(pending, exc.accepted, exc.refused)
                if not accepted and not refused:  # no progress reported: refuse all rather than loop
                    refused, rest = rest, []
                if not accepted:
                    self._failed(f"{exc.reason}: {exc}")
                await self._ack(accepted)
                await self._dead_letter(refused, exc.reason, str(exc))
                pending = rest  # not attempted (the exporter stopped at the refusal): send them now
            except RetryableError as exc:
                accepted, _, pending = _partition(pending, exc.accepted, frozenset())
                if not accepted:
                    self._failed(str(exc))
                await self._ack(accepted)
                if not pending:
                    return
                attempt += 1
                delay = self._backoff(attempt, exc.retry_after)
                if time.monotonic() - started + delay > self.settings.retry_max_elapsed:
                    await self._dead_letter(pending, "retries_exhausted", str(exc))
                    return
                self.telemetry.add(T.EXPORTER_RETRIES, 1, exporter=self.name)
                log.warning("exporter %s: %s; retry %d in %.2fs", self.name, exc, attempt, delay)
                try:
                    await asyncio.wait_for(self._stop_waiting(), delay)
                except TimeoutError:
                    pass
                if self._closing:
                    return  # shutting down: the items stay on disk for the next start

    async def _ack(self, rows: list[Row]) -> None:
        if rows:
            self._failed_in_a_row = 0
            await self.store.ack(self.name, [row[0] for row in rows])
            self.telemetry.add(T.EXPORTER_SENT_ITEMS, len(rows), exporter=self.name)

    async def _stop_waiting(self) -> None:
        while not self._closing:
            self._wakeup.clear()
            await self._wakeup.wait()

    async def _dead_letter(self, rows: list[Row], reason: str, error: str) -> None:
        if not rows:
            return
        await self.store.dead_letter(self.name, [row[0] for row in rows], reason, error)
        self.telemetry.add(T.EXPORTER_DEAD_LETTERS, len(rows), exporter=self.name, reason=reason)
        log.error("exporter %s: %d item(s) moved to the dead letters (%s): %s", self.name, len(rows), reason, error)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        growth = 2.0 ** min(attempt - 1, 64)  # capped exponent: no overflow however long the outage
        base = min(self.settings.retry_max_interval, self.settings.retry_initial_interval * growth)
        delay = base * (0.5 + random.random() / 2)  # jitter in [base/2, base]
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.settings.retry_max_elapsed))
        return delay

    async def flush(self, timeout: float) -> bool:
        """Wait until this exporter's queue is empty; False if it is not within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.queued[0] > 0:
            self._progress.clear()
            self._wakeup.set()
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._progress.wait(), left)
            except TimeoutError:
                return False
        return True

    async def shutdown(self, timeout: float) -> None:
        """Drain for up to ``timeout`` seconds; whatever is left stays on disk for the next start."""
        if self._task is None:  # never started (the relay failed to start): nothing to drain
            return
        drained = await self.flush(timeout)
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            if drained:
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            else:
                self._task.cancel()
                try:
                    await self._task
                except (asyncio.CancelledError, Exception):
                    pass
        left = self.queued[0]
        if left:
            log.warning("exporter %s: %d item(s) left on disk for the next start", self.name, left)
        await self.exporter.shutdown()


def _partition(
    rows: list[Row], accepted: frozenset[int], refused: frozenset[int] | None
) -> tuple[list[Row], list[Row], list[Row]]:
    """Split rows by what the exporter reported (indices into ``rows``): accepted, refused, still to send.
    ``refused`` None means every row not accepted. Indices out of range are ignored (an exporter bug must not
    acknowledge anything it was not given)."""
    done = [row for i, row in enumerate(rows) if i in accepted]
    if refused is None:
        return done, [row for i, row in enumerate(rows) if i not in accepted], []
    failed = [row for i, row in enumerate(rows) if i in refused and i not in accepted]
    rest = [row for i, row in enumerate(rows) if i not in accepted and i not in refused]
    return done, failed, rest
