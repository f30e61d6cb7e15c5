"""The one rule for "is there room for new data", used by receivers (refuse with 429 / UNAVAILABLE) and by
``/readyz`` (503 while the relay would refuse), so the two can never disagree.

There is no room when an exporter whose ``overflow`` is ``backpressure`` has a full queue, or when the relay is
above ``pipeline.memory_limit_mib``. An exporter with ``overflow: drop_oldest`` always has room: before new items
are queued, ``make_room`` deletes (and counts) its oldest ones.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from glassbox.collector import telemetry as T
from glassbox.collector.delivery.store import Item, QueueStore
from glassbox.collector.errors import Backpressure

if TYPE_CHECKING:
    from glassbox.collector.delivery.sender import Sender

log = logging.getLogger("glassbox.admission")


class Admission:
    def __init__(self, senders: list[Sender], store: QueueStore, telemetry: T.Telemetry, memory_limit_mib: int = 0):
        self.senders = senders
        self.store = store
        self.telemetry = telemetry
        self.memory_limit = memory_limit_mib << 20
        self._rss_checked = 0.0
        self._rss = 0
        self._above_memory_limit = False  # logged on each change, not per refused request

    def refusal(self, items: int = 1, size: int = 0) -> Backpressure | None:
        """Why a request of ``items`` items and ``size`` bytes would be refused now, or None."""
        for sender in self.senders:
            if sender.settings.overflow == "backpressure" and not sender.has_room(items, size):
                return Backpressure(f"the {sender.name} exporter's queue is full; retry later")
        if self.memory_limit:
            rss = self._current_rss()
            self._memory_state(rss > self.memory_limit, rss)
            if self._above_memory_limit:
                return Backpressure(
                    f"the relay is above its memory limit ({rss >> 20} MiB used, pipeline.memory_limit_mib is "
                    f"{self.memory_limit >> 20}); retry later",
                    retry_after=2.0,
                    reason="memory_limit",
                )
        return None

    def _memory_state(self, above: bool, rss: int) -> None:
        """One log line when refusing for memory starts, one when it stops (every refusal is counted)."""
        if above == self._above_memory_limit:
            return
        self._above_memory_limit = above
        limit = self.memory_limit >> 20
        if above:
            log.warning(
                "refusing new data: the relay uses %d MiB, above pipeline.memory_limit_mib (%d MiB); receivers "
                "answer 429 / UNAVAILABLE and /readyz 503 until it is back under; raise the limit if it is too low",
                rss >> 20,
                limit,
            )
        else:
            log.info("accepting data again: %d MiB used, under pipeline.memory_limit_mib (%d MiB)", rss >> 20, limit)

    def check(self, items: int, size: int) -> None:
        """Raise ``Backpressure`` when the request must be refused."""
        refused = self.refusal(items, size)
        if refused is not None:
            if refused.reason == "memory_limit":
                self.telemetry.add(T.PIPELINE_MEMORY_LIMIT_REFUSALS, 1)
            raise refused

    def ready(self) -> tuple[bool, str]:
        """Ready means a minimal request would be accepted now; the reason says why not."""
        refused = self.refusal()
        return (True, "") if refused is None else (False, str(refused))

    async def make_room(self, enqueue: dict[str, list[Item]]) -> None:
        """``drop_oldest`` exporters: delete enough of the oldest items that the new ones fit."""
        for sender in self.senders:
            items = enqueue.get(sender.name)
            if not items or sender.settings.overflow != "drop_oldest":
                continue
            size = sum(len(payload) for _, payload in items)
            count, used = sender.queued
            excess = max(count + len(items) - sender.max_items, 0)
            if used + size > sender.max_bytes and count:
                excess = max(excess, max(1, count * (used + size - sender.max_bytes) // max(used, 1)))
            if excess:
                dropped, _ = await self.store.drop_oldest(sender.name, excess)
                self.telemetry.add(
                    T.EXPORTER_DROPPED_ITEMS, dropped, exporter=sender.name, reason="queue_full_drop_oldest"
                )

    def _current_rss(self) -> int:
        now = time.monotonic()
        if now - self._rss_checked > 0.1:
            try:
                with open("/proc/self/statm", "rb") as statm:
                    self._rss = int(statm.read().split()[1]) * 4096
            except OSError:
                self._rss = 0
            self._rss_checked = now
        return self._rss
