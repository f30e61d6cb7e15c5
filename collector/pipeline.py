"""The pipeline: decoded OTLP in → normalized, joined spans → processors in order → every exporter's sender.

Two things happen before processors run:

* **Log join.** Some instrumentations send a call's content in log records, in separate requests from the
  span. A GenAI span that lacks content waits (bounded by ``join_timeout``) for its records; records that
  arrive first wait for their span. A span is released as soon as its output content arrives.
* **Parent resolution.** Datadog wants the nearest *GenAI* ancestor as ``parent_id``. Spans whose parent has
  not been seen yet wait (same bound) so a plain wrapper span (an HTTP handler, a test's parent) is skipped
  over instead of becoming a dangling parent.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import OrderedDict
from typing import Any

from glassbox.collector import normalize
from glassbox.collector.exporters.sender import Sender
from glassbox.collector.telemetry import Telemetry
from glassbox.processors.model import Batch, DetachedEvaluation, Span

log = logging.getLogger("glassbox.pipeline")
Key = tuple[str, str]
RECENT_SPANS = 200_000  # remembered (trace, span) → parent, for parent resolution across requests


class Backpressure(Exception):
    """Exporter queues are full; receivers answer 429 / UNAVAILABLE so clients retry later."""

    retry_after = 1.0


class Pipeline:
    def __init__(self, processors: list[Any], senders: list[Sender], telemetry: Telemetry, *,
                 join_timeout: float = 1.0, max_pending: int = 50_000):
        self.processors = processors
        self.senders = senders
        self.telemetry = telemetry
        self.join_timeout = join_timeout
        self.max_pending = max_pending
        # key → [span, deadline, log content gathered so far (applied when the span is released)]
        self._pending: OrderedDict[Key, list[Any]] = OrderedDict()
        self._orphan_logs: OrderedDict[Key, tuple[normalize.LogContent, float]] = OrderedDict()
        # (trace, span) → (parent span id, is GenAI, session id, user id) of recently seen spans
        self._recent: OrderedDict[Key, tuple[str | None, bool, str | None, str | None]] = OrderedDict()
        self._lock = asyncio.Lock()
        self._ticker: asyncio.Task | None = None
        telemetry.gauge("pipeline_pending_spans", "GenAI spans waiting for log content or their parent",
                        lambda: {(): len(self._pending)})

    async def start(self) -> None:
        for processor in self.processors:
            processor.start()
        self._ticker = asyncio.create_task(self._tick(), name="pipeline-join-ticker")

    def check_room(self, items: int) -> None:
        if not all(sender.has_room(items) for sender in self.senders):
            raise Backpressure(f"exporter queues are full ({items} item(s) refused); retry later")

    # --- entry points used by receivers ----------------------------------------------------------------------

    async def consume_traces(self, request: Any) -> int:
        spans = normalize.spans(request)
        self.check_room(len(spans))
        async with self._lock:
            ready = self._admit(spans)
        await self._emit(Batch(spans=ready))
        return len(spans)

    async def consume_logs(self, request: Any) -> int:
        contents, unjoinable = normalize.log_contents(request)
        self.check_room(1)
        if unjoinable:
            self.telemetry.add("pipeline_unjoinable_log_records", unjoinable,
                               help="GenAI log records without a span context (forwarded to OTLP exporters only)")
        async with self._lock:
            ready, evaluations = self._join_logs(contents)
        await self._emit(Batch(spans=ready, logs=[request], evaluations=evaluations))
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)

    async def consume_metrics(self, request: Any) -> int:
        self.check_room(1)
        await self._emit(Batch(metrics=[request]))
        return sum(len(sm.metrics) for rm in request.resource_metrics for sm in rm.scope_metrics)

    # --- join and parent resolution ----------------------------------------------------------------------------

    def _admit(self, spans: list[Span]) -> list[Span]:
        now = time.monotonic()
        ready = []
        for span in spans:
            self._remember(span)
        for span in spans:
            key = (span.trace_id, span.span_id)
            if not span.is_genai:
                ready.append(span)
                continue
            orphan = self._orphan_logs.pop(key, None)
            content = orphan[0] if orphan is not None else None
            if self._ready(span, content):
                ready.append(self._finish(span, content))
            else:
                self._pending[key] = [span, now + self.join_timeout, content]
        # A span in this request may be the parent some earlier span was waiting for.
        for key, (span, _, content) in list(self._pending.items()):
            if self._ready(span, content):
                del self._pending[key]
                ready.append(self._finish(span, content))
        ready.extend(self._overflow())
        return ready

    def _join_logs(self, contents: dict[Key, normalize.LogContent]) -> tuple[list[Span], list[DetachedEvaluation]]:
        deadline = time.monotonic() + self.join_timeout
        released: list[Span] = []
        detached: list[DetachedEvaluation] = []
        for key, found in contents.items():
            entry = self._pending.get(key)
            if entry is None and key in self._recent:  # the span already left: only evaluations still matter
                detached.extend(_detach(key, found))
                if found.inputs or found.outputs:
                    self.telemetry.add("pipeline_orphan_log_content", 1, reason="span_already_sent")
                continue
            if entry is None:
                existing = self._orphan_logs.get(key)
                if existing is not None:
                    existing[0].merge(found)
                else:
                    self._orphan_logs[key] = (found, deadline)
                continue
            if entry[2] is None:
                entry[2] = found
            else:
                entry[2].merge(found)
            if self._ready(entry[0], entry[2]):
                del self._pending[key]
                released.append(self._finish(entry[0], entry[2]))
        while len(self._orphan_logs) > self.max_pending:
            key, (found, _) = self._orphan_logs.popitem(last=False)
            detached.extend(_detach(key, found))
            self.telemetry.add("pipeline_orphan_log_content", 1, reason="overflow")
        return released, detached

    def _finish(self, span: Span, content: normalize.LogContent | None) -> Span:
        if content is not None:
            normalize.apply_log_content(span, content)
            self.telemetry.add("pipeline_joined_spans", 1, help="GenAI spans that got content from log records")
        return self._resolve(span)

    def _ready(self, span: Span, content: normalize.LogContent | None) -> bool:
        has_content = not normalize.expects_log_content(span) or (content is not None and content.complete)
        return has_content and self._parent_known(span)

    def _parent_known(self, span: Span) -> bool:
        return span.parent_id is None or (span.trace_id, span.parent_id) in self._recent

    def _remember(self, span: Span) -> None:
        key = (span.trace_id, span.span_id)
        self._recent[key] = (span.parent_id, span.is_genai, span.session_id, span.user_id)
        self._recent.move_to_end(key)
        if len(self._recent) > RECENT_SPANS:
            self._recent.popitem(last=False)

    def _resolve(self, span: Span) -> Span:
        """Set ``llm_parent_id`` to the nearest GenAI ancestor we know of (unknown parents are assumed GenAI),
        and inherit session and user ids from ancestors: instrumentations put them on the app's own spans."""
        parent = span.parent_id
        llm_parent: str | None = None
        found = False
        hops = 0
        while parent is not None and hops < 64:
            known = self._recent.get((span.trace_id, parent))
            if known is None:
                break
            if known[1] and not found:
                llm_parent, found = parent, True
            span.session_id = span.session_id or known[2]
            span.user_id = span.user_id or known[3]
            parent = known[0]
            hops += 1
        span.llm_parent_id = llm_parent if found else parent
        return span

    def _overflow(self) -> list[Span]:
        released = []
        while len(self._pending) > self.max_pending:
            _, (span, _, content) = self._pending.popitem(last=False)
            self.telemetry.add("pipeline_join_released", 1, reason="overflow")
            released.append(self._finish(span, content))
        return released

    def _expired(self, now: float, everything: bool = False) -> tuple[list[Span], list[DetachedEvaluation]]:
        released = []
        detached: list[DetachedEvaluation] = []
        for key, (span, deadline, content) in list(self._pending.items()):
            if everything or deadline <= now:
                del self._pending[key]
                self.telemetry.add("pipeline_join_released", 1, reason="shutdown" if everything else "timeout")
                released.append(self._finish(span, content))
        for key, (found, deadline) in list(self._orphan_logs.items()):
            if everything or deadline <= now:
                del self._orphan_logs[key]
                detached.extend(_detach(key, found))  # evaluations never need their span to be sent
                if found.inputs or found.outputs:
                    self.telemetry.add("pipeline_orphan_log_content", 1, reason="no_span")
        return released, detached

    async def _tick(self) -> None:
        interval = max(0.02, min(0.25, self.join_timeout / 4 or 0.05))
        while True:
            await asyncio.sleep(interval)
            try:
                async with self._lock:
                    ready, evaluations = self._expired(time.monotonic())
                if ready or evaluations:
                    await self._emit(Batch(spans=ready, evaluations=evaluations))
            except Exception:  # keep joining even if one batch failed; the failure is logged and counted
                log.exception("pipeline ticker failed")

    # --- processors and exporters ------------------------------------------------------------------------------

    async def _emit(self, batch: Batch) -> None:
        if not batch.spans and not batch.logs and not batch.metrics and not batch.evaluations:
            return
        for processor in self.processors:
            result = processor.process(batch)
            batch = await result if inspect.isawaitable(result) else result
            self.telemetry.add("processor_spans", len(batch.spans), processor=processor.name)
        genai = sum(1 for span in batch.spans if span.is_genai)
        self.telemetry.add("pipeline_spans", genai, kind="genai")
        self.telemetry.add("pipeline_spans", len(batch.spans) - genai, kind="other")
        for sender in self.senders:
            sender.offer(sender.exporter.render(batch))

    async def flush(self) -> None:
        """Release everything held for joining (used at shutdown and by tests)."""
        async with self._lock:
            ready, evaluations = self._expired(time.monotonic(), everything=True)
        await self._emit(Batch(spans=ready, evaluations=evaluations))

    async def shutdown(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        await self.flush()
        for processor in self.processors:
            processor.shutdown()


def _detach(key: Key, found: normalize.LogContent) -> list[DetachedEvaluation]:
    return [DetachedEvaluation(key[0], key[1], found.service, ev) for ev in found.evaluations]
