"""The pipeline: decoded OTLP in → normalized, joined spans → processors in order → every exporter's queue.

Two things happen before processors run:

* **Log join.** Some instrumentations send a call's content in log records, in separate requests from the
  span. A GenAI span that lacks content waits (bounded by ``join_timeout``) for its records; records that
  arrive first wait for their span. A span is released as soon as its output content arrives.
* **Parent resolution.** Datadog wants the nearest *GenAI* ancestor as ``parent_id``. Spans whose parent has
  not been seen yet wait (same bound) so a plain wrapper span (an HTTP handler, a test's parent) is skipped
  over instead of becoming a dangling parent.

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
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from glassbox.collector import normalize, otlp
from glassbox.collector.exporters.sender import Sender
from glassbox.collector.queue import QueueStore, Write
from glassbox.collector.telemetry import Telemetry
from glassbox.processors import model as M
from glassbox.processors.model import Batch, DetachedEvaluation, Span

log = logging.getLogger("glassbox.pipeline")
Key = tuple[str, str]
UNRENDERABLE = "[glassbox: this content could not be encoded (nested too deeply or invalid) and was dropped]"
RECENT_SPANS = 200_000  # remembered (trace, span) → parent etc., for parent resolution across requests


class Backpressure(Exception):
    """Exporter queues (or memory) are full; receivers answer 429 / UNAVAILABLE so clients retry later."""

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(eq=False)
class JournalRef:
    """A journaled request and how many of its held parts are not yet queued."""

    held: int = 0
    journaled: bool = False  # some part was held at admission: the request must be on disk
    spans: list[Span] = field(default_factory=list)  # the held spans (only they are journaled for traces)
    id: int | None = None
    done: bool = False


@dataclass(slots=True)
class Pending:
    span: Span
    deadline: float
    content: normalize.LogContent | None
    ref: JournalRef | None


@dataclass(slots=True)
class Orphan:
    content: normalize.LogContent
    deadline: float
    refs: list[JournalRef] = field(default_factory=list)


class Pipeline:
    def __init__(self, processors: list[Any], senders: list[Sender], telemetry: Telemetry, store: QueueStore, *,
                 join_timeout: float = 1.0, max_pending: int = 50_000, memory_limit_mib: int = 0):
        self.processors = processors
        self.senders = senders
        self.telemetry = telemetry
        self.store = store
        self.join_timeout = join_timeout
        self.max_pending = max_pending
        self.memory_limit = memory_limit_mib << 20
        self._pending: OrderedDict[Key, Pending] = OrderedDict()
        self._orphans: OrderedDict[Key, Orphan] = OrderedDict()
        # (trace, span) → (parent span id, kind, session id, user id) of recently seen spans
        self._recent: OrderedDict[Key, tuple[str | None, str | None, str | None, str | None]] = OrderedDict()
        self._lock = asyncio.Lock()
        self._ticker: asyncio.Task | None = None
        self._rss_checked = 0.0
        self._rss = 0
        self._finished_journal: list[int] = []  # journal rows whose held parts are all queued now
        telemetry.gauge("pipeline_pending_spans", "GenAI spans waiting for log content or their parent",
                        lambda: {(): len(self._pending)})

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
            ready = self._admit(spans, ref)
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
            ready, evaluations = self._join_logs(contents, ref)
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

    # --- join and parent resolution ----------------------------------------------------------------------------

    def _admit(self, spans: list[Span], ref: JournalRef) -> list[Span]:
        now = time.monotonic()
        ready = []
        for span in spans:
            self._remember(span)
        for span in spans:
            key = (span.trace_id, span.span_id)
            if not span.is_genai:
                ready.append(span)
                continue
            orphan = self._orphans.pop(key, None)
            content = orphan.content if orphan is not None else None
            if orphan is not None:
                self._settle(orphan.refs)
            content = self._adopt_parent_content(span, content)
            if self._ready(span, content):
                ready.append(self._finish(span, content))
            else:
                ref.held += 1
                ref.journaled = True
                ref.spans.append(span)
                self._pending[key] = Pending(span, now + self.join_timeout, content, ref)
        # A span in this request may be the parent some earlier span was waiting for.
        for key, pending in list(self._pending.items()):
            if self._ready(pending.span, pending.content):
                del self._pending[key]
                ready.append(self._release(pending))
        ready.extend(self._overflow())
        return ready

    def _adopt_parent_content(self, span: Span, content: normalize.LogContent | None) -> normalize.LogContent | None:
        """Streamed calls: some instrumentations log the final choice under the *parent* span's id (the stream
        ends after the call's span context closed). Output content waiting under a parent that is not itself an
        LLM call belongs to this LLM child."""
        if span.kind not in (M.LLM, M.EMBEDDING) or span.parent_id is None:
            return content
        if content is not None and content.complete:
            return content
        parent_key = (span.trace_id, span.parent_id)
        orphan = self._orphans.get(parent_key)
        known = self._recent.get(parent_key)
        if orphan is None or not (orphan.content.outputs or orphan.content.tool_definitions) or (
                known is not None and known[1] in (M.LLM, M.EMBEDDING)):
            return content
        del self._orphans[parent_key]
        self._settle(orphan.refs)
        if content is None:
            return orphan.content
        content.merge(orphan.content)
        return content

    def _join_logs(self, contents: dict[Key, normalize.LogContent],
                   ref: JournalRef) -> tuple[list[Span], list[DetachedEvaluation]]:
        deadline = time.monotonic() + self.join_timeout
        released: list[Span] = []
        detached: list[DetachedEvaluation] = []
        for key, found in contents.items():
            pending = self._pending.get(key) or self._pending_child(key)
            if pending is None:
                known = self._recent.get(key)
                if known is not None and known[1] in (M.LLM, M.EMBEDDING):
                    # The call already left: only evaluations still matter.
                    detached.extend(_detach(key, found))
                    if found.inputs or found.outputs:
                        self.telemetry.add("pipeline_orphan_log_content", 1, reason="span_already_sent")
                    continue
                orphan = self._orphans.get(key)
                if orphan is not None:
                    orphan.content.merge(found)
                else:
                    orphan = self._orphans[key] = Orphan(found, deadline)
                ref.held += 1
                ref.journaled = True
                orphan.refs.append(ref)
                continue
            if pending.content is None:
                pending.content = found
            else:
                pending.content.merge(found)
            if self._ready(pending.span, pending.content):
                del self._pending[(pending.span.trace_id, pending.span.span_id)]
                released.append(self._release(pending))
        while len(self._orphans) > self.max_pending:
            key, orphan = self._orphans.popitem(last=False)
            detached.extend(_detach(key, orphan.content))
            self._settle(orphan.refs)
            self.telemetry.add("pipeline_orphan_log_content", 1, reason="overflow")
        return released, detached

    def _pending_child(self, key: Key) -> Pending | None:
        """The one pending LLM call under ``key`` when ``key`` itself is not an LLM call (see above)."""
        known = self._recent.get(key)
        if known is not None and known[1] in (M.LLM, M.EMBEDDING):
            return None
        children = [p for p in self._pending.values()
                    if p.span.trace_id == key[0] and p.span.parent_id == key[1] and p.span.kind in (M.LLM, M.EMBEDDING)]
        return children[0] if len(children) == 1 else None

    def _ready(self, span: Span, content: normalize.LogContent | None) -> bool:
        has_content = not normalize.expects_log_content(span) or (content is not None and content.complete)
        return has_content and self._parent_known(span)

    def _parent_known(self, span: Span) -> bool:
        return span.parent_id is None or (span.trace_id, span.parent_id) in self._recent

    def _remember(self, span: Span) -> None:
        key = (span.trace_id, span.span_id)
        self._recent[key] = (span.parent_id, span.kind, span.session_id, span.user_id)
        self._recent.move_to_end(key)
        if len(self._recent) > RECENT_SPANS:
            self._recent.popitem(last=False)

    def _release(self, pending: Pending) -> Span:
        if pending.ref is not None:
            self._settle([pending.ref])
        return self._finish(pending.span, pending.content)

    def _finish(self, span: Span, content: normalize.LogContent | None) -> Span:
        if content is not None:
            normalize.apply_log_content(span, content)
            self.telemetry.add("pipeline_joined_spans", 1, help="GenAI spans that got content from log records")
        return self._resolve(span)

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
            if known[1] is not None and not found:
                llm_parent, found = parent, True
            span.session_id = span.session_id or known[2]
            span.user_id = span.user_id or known[3]
            parent = known[0]
            hops += 1
        span.llm_parent_id = llm_parent if found else parent
        return span

    def _settle(self, refs: list[JournalRef]) -> None:
        for ref in refs:
            ref.held -= 1
            if ref.held <= 0:
                ref.done = True
                if ref.id is not None:
                    self._finished_journal.append(ref.id)

    def _overflow(self) -> list[Span]:
        released = []
        while len(self._pending) > self.max_pending:
            _, pending = self._pending.popitem(last=False)
            self.telemetry.add("pipeline_join_released", 1, reason="overflow")
            released.append(self._release(pending))
        return released

    def _expired(self, now: float, everything: bool = False) -> tuple[list[Span], list[DetachedEvaluation]]:
        released = []
        detached: list[DetachedEvaluation] = []
        for key, pending in list(self._pending.items()):
            if everything or pending.deadline <= now:
                del self._pending[key]
                self.telemetry.add("pipeline_join_released", 1, reason="shutdown" if everything else "timeout")
                released.append(self._release(pending))
        for key, orphan in list(self._orphans.items()):
            if everything or orphan.deadline <= now:
                del self._orphans[key]
                self._settle(orphan.refs)
                detached.extend(_detach(key, orphan.content))  # evaluations never need their span to be sent
                if orphan.content.inputs or orphan.content.outputs:
                    self.telemetry.add("pipeline_orphan_log_content", 1, reason="no_span")
        return released, detached

    async def _tick(self) -> None:
        interval = max(0.02, min(0.25, self.join_timeout / 4 or 0.05))
        while True:
            await asyncio.sleep(interval)
            try:
                async with self._lock:
                    ready, evaluations = self._expired(time.monotonic())
                if ready or evaluations or self._finished_journal:
                    await self._emit(Batch(spans=ready, evaluations=evaluations))
            except Exception:  # keep joining even if one batch failed; the failure is logged
                log.exception("pipeline ticker failed")

    # --- processors and exporters ------------------------------------------------------------------------------

    async def _emit(self, batch: Batch, hold: tuple[JournalRef, str, Any] | None = None,
                    replayed: int | None = None) -> None:
        """Run processors, render for every exporter, and commit the items (and journal changes) to disk."""
        for processor in self.processors:
            result = processor.process(batch)
            batch = await result if inspect.isawaitable(result) else result
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
        finished, self._finished_journal = self._finished_journal, []
        if replayed is not None:
            finished.append(replayed)  # its held parts, if any, are re-journaled in this same transaction
        try:
            ids = await self.store.commit(Write(enqueue=enqueue, journal_add=journal_add, journal_delete=finished))
        except BaseException:
            self._finished_journal.extend(finished)  # try those deletions again with the next commit
            raise
        if journal_add is not None:
            ref.id = ids[0]
            if ref.done:  # every held part was released while this commit was in flight
                self._finished_journal.append(ref.id)
        for sender in self.senders:
            sender.notify(len(enqueue[sender.name]))

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
