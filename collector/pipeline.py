"""The pipeline: decoded OTLP in → normalized, joined spans (``join.Joiner``) → processors in order → every
exporter's queue, with admission control (full queues, memory limit) in front.

Nothing acknowledged is only in memory: a request whose spans or log content must wait is written to the
journal in the same transaction that queues its ready parts, and leaves the journal when the last held part
is queued. After a crash the journal is replayed (``replay_journal``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import time
from typing import Any

from glassbox.collector import normalize, otlp
from glassbox.collector.exporters.sender import Sender
from glassbox.collector.join import JournalRef, Joiner
from glassbox.collector.queue import QueueStore, Write
from glassbox.collector.telemetry import Telemetry
from glassbox.processors import model as M
from glassbox.processors.model import Batch

log = logging.getLogger("glassbox.pipeline")
UNRENDERABLE = "[glassbox: this content could not be encoded (nested too deeply or invalid) and was dropped]"
PROCESSOR_FAILED = "[glassbox: content removed because a processor failed]"


class Backpressure(Exception):
    """Exporter queues (or memory) are full; receivers answer 429 / UNAVAILABLE so clients retry later."""

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message)
        self.retry_after = retry_after


class Pipeline:
    def __init__(self, processors: list[Any], senders: list[Sender], telemetry: Telemetry, store: QueueStore, *,
                 join_timeout: float = 1.0, max_pending: int = 50_000, memory_limit_mib: int = 0):
        self.processors = processors
        self.senders = senders
        self.telemetry = telemetry
        self.store = store
        self.join_timeout = join_timeout
        self.memory_limit = memory_limit_mib << 20
        self.joiner = Joiner(telemetry, join_timeout=join_timeout, max_pending=max_pending)
        self._lock = asyncio.Lock()
        self._ticker: asyncio.Task | None = None
        self._rss_checked = 0.0
        self._rss = 0
        telemetry.gauge("pipeline_pending_spans", "GenAI spans waiting for log content or their parent",
                        lambda: {(): self.joiner.pending_count})

    async def start(self) -> None:
        for processor in self.processors:
            processor.start()
        self._ticker = asyncio.create_task(self._tick(), name="pipeline-join-ticker")

    # --- admission control -------------------------------------------------------------------------------------

    def check_room(self, items: int, size: int) -> None:
        """Refuse before accepting: full queues (backpressure policy) or the memory limit."""
        for sender in self.senders:
            if sender.settings.overflow == "backpressure" and not sender.has_room(items, size):
                raise Backpressure(f"the {sender.name} exporter's queue is full; retry later")
        if self.memory_limit and self._current_rss() > self.memory_limit:
            self.telemetry.add("pipeline_memory_limit_refusals", 1)
            raise Backpressure("the relay is above its memory limit; retry later", retry_after=2.0)

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

    # --- entry points used by receivers ----------------------------------------------------------------------

    async def consume_traces(self, request: Any, size: int = 0, replayed: int | None = None,
                             rejected: list[str] | None = None) -> int:
        """Accept a trace request; spans that cannot be used are described in ``rejected`` (partial success)."""
        refused: list[str] = [] if rejected is None else rejected
        spans = normalize.spans(request, refused)
        if refused:
            self.telemetry.add("receiver_rejected_spans", len(refused), reason="invalid_span",
                               help="spans refused inside an accepted request (OTLP partial success)")
        if replayed is None:
            self.check_room(len(spans), size)
        ref = JournalRef()
        async with self._lock:
            ready = self.joiner.admit(spans, ref)
        await self._emit(Batch(spans=ready), hold=(ref, "traces", request), replayed=replayed)
        return len(spans)

    async def consume_logs(self, request: Any, size: int = 0, replayed: int | None = None) -> int:
        contents, unjoinable = normalize.log_contents(request)
        if replayed is None:
            self.check_room(1, size)
        if unjoinable:
            self.telemetry.add("pipeline_unjoinable_log_records", unjoinable,
                               help="GenAI log records without a span context (forwarded to OTLP exporters only)")
        ref = JournalRef()
        async with self._lock:
            ready, evaluations = self.joiner.join_logs(contents, ref)
        # A replayed request's raw logs were forwarded before the crash already: do not forward them twice.
        logs = [] if replayed is not None else [request]
        await self._emit(Batch(spans=ready, logs=logs, evaluations=evaluations), hold=(ref, "logs", request),
                         replayed=replayed)
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)

    async def consume_metrics(self, request: Any, size: int = 0) -> int:
        self.check_room(1, size)
        await self._emit(Batch(metrics=[request]))
        return sum(len(sm.metrics) for rm in request.resource_metrics for sm in rm.scope_metrics)

    async def replay_journal(self) -> int:
        """Re-run requests whose held parts were not queued before the last stop (crash or kill)."""
        rows = await self.store.journal()
        for journal_id, signal, body in rows:
            request = otlp.decode(signal, body, json=False)
            consume = self.consume_traces if signal == "traces" else self.consume_logs
            await consume(request, replayed=journal_id)
        if rows:
            log.info("replayed %d journaled request(s) from the last run", len(rows))
        return len(rows)

    async def _tick(self) -> None:
        interval = max(0.02, min(0.25, self.join_timeout / 4 or 0.05))
        while True:
            await asyncio.sleep(interval)
            try:
                async with self._lock:
                    ready, evaluations = self.joiner.expired(time.monotonic())
                if ready or evaluations or self.joiner.finished_journal:
                    await self._emit(Batch(spans=ready, evaluations=evaluations))
            except Exception:  # keep joining even if one batch failed; the failure is logged
                log.exception("pipeline ticker failed")

    # --- processors and exporters ------------------------------------------------------------------------------

    async def _emit(self, batch: Batch, hold: tuple[JournalRef, str, Any] | None = None,
                    replayed: int | None = None) -> None:
        """Run processors, render for every exporter, and commit the items (and journal changes) to disk."""
        for processor in self.processors:
            try:
                result = processor.process(batch)
                batch = await result if inspect.isawaitable(result) else result
            except Exception:
                log.exception("processor %s failed; its batch goes on without content (fail closed)", processor.name)
                batch = self._fail_closed(batch, processor.name)
            self.telemetry.add("processor_spans", len(batch.spans), processor=processor.name)
        genai = sum(1 for span in batch.spans if span.is_genai)
        self.telemetry.add("pipeline_spans", genai, kind="genai")
        self.telemetry.add("pipeline_spans", len(batch.spans) - genai, kind="other")
        enqueue = {sender.name: self._render(sender, batch) for sender in self.senders}
        await self._make_room(enqueue)
        ref = hold[0] if hold is not None else None
        journal_add = None
        if ref is not None and ref.journaled:
            # Traces: only the held spans (the rest is queued in this same transaction); logs: the request.
            body = otlp.traces_request(ref.spans) if hold[1] == "traces" else hold[2]
            journal_add = [(hold[1], body.SerializeToString())]
        finished, self.joiner.finished_journal = self.joiner.finished_journal, []
        if replayed is not None:
            finished.append(replayed)  # its held parts, if any, are re-journaled in this same transaction
        try:
            ids = await self.store.commit(Write(enqueue=enqueue, journal_add=journal_add, journal_delete=finished))
        except BaseException:
            self.joiner.finished_journal.extend(finished)  # try those deletions again with the next commit
            raise
        if journal_add is not None:
            ref.id = ids[0]
            if ref.done:  # every held part was released while this commit was in flight
                self.joiner.finished_journal.append(ref.id)
        for sender in self.senders:
            sender.notify(len(enqueue[sender.name]))

    def _fail_closed(self, batch: Batch, processor: str) -> Batch:
        """A processor raised: nothing it was meant to see may leave as it was. Spans keep ids, timing, model and
        metrics but lose every content field (and their OTLP copies every attribute and event); raw log requests
        are dropped. All of it is counted."""
        for span in batch.spans:
            span.input, span.output = M.IO(value=PROCESSOR_FAILED), M.IO(value=PROCESSOR_FAILED)
            span.metadata, span.tool_definitions, span.prompt, span.tags = {}, [], None, {}
            span.evaluations = [dataclasses.replace(ev, reasoning=None) for ev in span.evaluations]
            if span.error is not None:
                span.error = M.ErrorInfo(type=span.error.type, message=PROCESSOR_FAILED)
            span.tags["glassbox.processor_error"] = processor
            if span.origin is not None:
                origin = span.origin.span
                del origin.attributes[:]
                del origin.events[:]
                origin.status.message = ""
                otlp.set_value(_attribute(origin, "glassbox.processor_error"), processor)
        self.telemetry.add("processor_failed_spans", len(batch.spans), processor=processor,
                           help="spans whose content was removed because a processor failed (fail closed)")
        if batch.logs:
            self.telemetry.add("pipeline_dropped_log_requests", len(batch.logs), reason=f"processor_error:{processor}")
        batch.logs = []
        batch.evaluations = [dataclasses.replace(d, evaluation=dataclasses.replace(d.evaluation, reasoning=None))
                             for d in batch.evaluations]
        return batch

    def _render(self, sender: Sender, batch: Batch) -> list[tuple[str, bytes]]:
        """Render for one exporter; a span that cannot be rendered (e.g. content nested beyond what JSON
        encoders accept) is sent without its content and tagged, or, failing that, dropped and counted."""
        try:
            return sender.exporter.render(batch)
        except Exception:
            pass
        items = sender.exporter.render(Batch(logs=batch.logs, metrics=batch.metrics, evaluations=batch.evaluations))
        for span in batch.spans:
            try:
                items.extend(sender.exporter.render(Batch(spans=[span])))
                continue
            except Exception as exc:
                error = exc
            stripped = dataclasses.replace(span, input=M.IO(value=UNRENDERABLE), output=M.IO(value=UNRENDERABLE),
                                           metadata={}, tool_definitions=[], evaluations=[],
                                           tags={**span.tags, "glassbox.render_error": "true"})
            try:
                items.extend(sender.exporter.render(Batch(spans=[stripped])))
                self.telemetry.add("exporter_stripped_spans", 1, exporter=sender.name, reason="render_error")
            except Exception:
                self.telemetry.add("exporter_dropped_items", 1, exporter=sender.name, reason="render_error")
            log.warning("exporter %s could not render span %s (%s: %s)", sender.name, span.span_id,
                        type(error).__name__, error)
        return items

    async def _make_room(self, enqueue: dict[str, list[tuple[str, bytes]]]) -> None:
        for sender in self.senders:
            items = enqueue[sender.name]
            if not items or sender.settings.overflow != "drop_oldest":
                continue
            size = sum(len(payload) for _, payload in items)
            count, used = sender.queued
            excess = max(count + len(items) - sender.max_items, 0)
            if used + size > sender.max_bytes and count:
                excess = max(excess, max(1, count * (used + size - sender.max_bytes) // max(used, 1)))
            if excess:
                dropped, _ = await self.store.drop_oldest(sender.name, excess)
                self.telemetry.add("exporter_dropped_items", dropped, exporter=sender.name,
                                   reason="queue_full_drop_oldest")

    async def flush(self) -> None:
        """Release everything held for joining (used at shutdown and by tests)."""
        async with self._lock:
            ready, evaluations = self.joiner.expired(time.monotonic(), everything=True)
        await self._emit(Batch(spans=ready, evaluations=evaluations))

    async def shutdown(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        await self.flush()
        for processor in self.processors:
            processor.shutdown()


def _attribute(otlp_span: Any, key: str) -> Any:
    kv = otlp_span.attributes.add()
    kv.key = key
    return kv.value
