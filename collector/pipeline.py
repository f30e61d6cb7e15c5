"""The pipeline: admission → intake (normalize, join) → processors in order → every exporter's queue.

Receivers hand it decoded requests (``consume``). Admission (``delivery.admission``) refuses before anything is
accepted when there is no room. Spans are normalized and joined (``intake``); processors run in the configured
order, and one that raises leaves its batch scrubbed by the one fail-closed policy (``processors.scrub``);
each exporter renders the batch, and everything is committed to disk in one transaction.

Nothing acknowledged is only in memory: a request whose spans or log content must wait is written to the
journal in the same transaction that queues its ready parts, and leaves the journal when the last held part
is queued. After a crash the journal is replayed (``replay_journal``).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import inspect
import logging
import time
from typing import Any

from glassbox.collector import telemetry as T
from glassbox.collector.delivery.admission import Admission
from glassbox.collector.delivery.sender import Sender
from glassbox.collector.delivery.store import Item, QueueStore, Write
from glassbox.collector.intake import codec, normalize
from glassbox.collector.intake.join import Joiner, JournalRef
from glassbox.collector.notices import Notices
from glassbox.processors import model as M
from glassbox.processors import scrub, wire
from glassbox.processors.base import Processor, where_it_failed
from glassbox.processors.model import Batch

log = logging.getLogger("glassbox.pipeline")
UNRENDERABLE = "[glassbox: this content could not be encoded (nested too deeply or invalid) and was dropped]"


class Pipeline:
    def __init__(
        self,
        processors: list[tuple[str, Processor]],
        late: collections.deque[Batch],
        senders: list[Sender],
        telemetry: T.Telemetry,
        store: QueueStore,
        admission: Admission,
        *,
        join_timeout: float = 1.0,
        max_pending: int = 50_000,
        plain_spans: bool = True,
    ):
        self.processors = processors
        self.late = late  # batches processors handed in after their own batch left (Context.submit)
        self.senders = senders
        self.telemetry = telemetry
        self.store = store
        self.admission = admission
        self.join_timeout = join_timeout
        self.plain_spans = plain_spans  # some exporter forwards spans that are not GenAI (ExporterFactory)
        self.joiner = Joiner(telemetry, join_timeout=join_timeout, max_pending=max_pending)
        self.notices = Notices()
        self._lock = asyncio.Lock()
        self._ticker: asyncio.Task | None = None
        telemetry.gauge(T.PIPELINE_PENDING_SPANS, lambda: {(): self.joiner.pending_count})

    async def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick(), name="pipeline-join-ticker")

    # --- entry points used by receivers ----------------------------------------------------------------------

    async def consume(self, signal: str, request: Any, size: int, rejected: list[str]) -> int:
        """Take one decoded request (the receivers' ``Consumer``); returns how many items it held."""
        if signal == "traces":
            return await self.consume_traces(request, size, rejected=rejected)
        if signal == "logs":
            return await self.consume_logs(request, size)
        return await self.consume_metrics(request, size)

    async def consume_traces(
        self, request: Any, size: int = 0, replayed: int | None = None, rejected: list[str] | None = None
    ) -> int:
        """Accept a trace request; spans that cannot be used are described in ``rejected`` (partial success)."""
        refused: list[str] = [] if rejected is None else rejected
        started = time.perf_counter()
        spans = normalize.spans(request, refused)
        self.telemetry.stage("normalize", started, signal="traces")
        if refused:
            self.telemetry.add(T.RECEIVER_REJECTED_SPANS, len(refused), reason="invalid_span")
        if replayed is None:
            self.admission.check(len(spans), size)
        ref = JournalRef()
        async with self._lock:
            ready = self.joiner.admit(spans, ref)
        await self._emit(Batch(spans=ready), hold=(ref, "traces", request), replayed=replayed)
        return len(spans)

    async def consume_logs(self, request: Any, size: int = 0, replayed: int | None = None) -> int:
        started = time.perf_counter()
        records = wire.read_logs(request)
        contents, unjoinable = normalize.log_contents(records)
        self.telemetry.stage("normalize", started, signal="logs")
        if replayed is None:
            self.admission.check(1, size)
        if unjoinable:
            self.telemetry.add(T.PIPELINE_UNJOINABLE_LOG_RECORDS, unjoinable)
        ref = JournalRef()
        async with self._lock:
            ready, evaluations = self.joiner.join_logs(contents, ref)
        # A replayed request's records were forwarded before the crash already: do not forward them twice.
        logs = [] if replayed is not None else records
        await self._emit(
            Batch(spans=ready, logs=logs, evaluations=evaluations), hold=(ref, "logs", request), replayed=replayed
        )
        return len(records)

    async def consume_metrics(self, request: Any, size: int = 0) -> int:
        self.admission.check(1, size)
        await self._emit(Batch(metrics=[request]))
        return sum(len(sm.metrics) for rm in request.resource_metrics for sm in rm.scope_metrics)

    async def replay_journal(self) -> int:
        """Re-run requests whose held parts were not queued before the last stop (crash or kill)."""
        rows = await self.store.journal()
        for journal_id, signal, body in rows:
            request = codec.decode(signal, body, json=False)
            if signal == "traces":
                await self.consume_traces(request, replayed=journal_id)
            else:
                await self.consume_logs(request, replayed=journal_id)
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
                await self._emit_late()
            except Exception as exc:  # keep joining even if one batch failed; the failure is logged
                log.error("pipeline ticker failed (%s)", where_it_failed(exc))

    async def _emit_late(self) -> None:
        """Late results (e.g. an LLM judge's evaluations) go through the whole chain, redaction included."""
        while self.late:
            await self._emit(self.late.popleft())

    # --- processors and exporters ------------------------------------------------------------------------------

    async def _process(self, batch: Batch) -> Batch:
        """Every processor in order; one that raises (or returns something else than a batch) leaves its batch
        scrubbed by the one fail-closed policy, counted, and the chain goes on."""
        for name, processor in self.processors:
            started = time.perf_counter()
            try:
                result = processor.process(batch)
                result = await result if inspect.isawaitable(result) else result
                if not isinstance(result, Batch):
                    raise TypeError(f"process() returned {type(result).__name__}, not a Batch")
                batch = result
            except Exception as exc:
                log.error(
                    "processor %s failed (%s); its batch goes on without content (fail closed)",
                    name,
                    where_it_failed(exc),
                )
                self.telemetry.add(T.PROCESSOR_FAILED_SPANS, len(batch.spans), processor=name)
                dropped = scrub.scrub_batch(batch, f"processor_error:{name}")
                self.telemetry.add(T.PIPELINE_DROPPED_ITEMS, dropped, reason="unscrubbable")
            self.telemetry.stage("processor", started, processor=name)
            self.telemetry.add(T.PROCESSOR_SPANS, len(batch.spans), processor=name)
        return batch

    async def _emit(
        self, batch: Batch, hold: tuple[JournalRef, str, Any] | None = None, replayed: int | None = None
    ) -> None:
        """Run processors, render for every exporter, and commit the items (and journal changes) to disk."""
        self.notices.observe(batch.spans)
        genai = sum(1 for span in batch.spans if span.is_genai)
        self.telemetry.add(T.PIPELINE_SPANS, genai, kind="genai")
        self.telemetry.add(T.PIPELINE_SPANS, len(batch.spans) - genai, kind="other")
        if not self.plain_spans and genai < len(batch.spans):
            # No exporter sends spans that are not GenAI: they have done their part (parents, sessions, in the
            # join) and go no further, so redaction never spends time on what would not leave.
            batch.spans = [span for span in batch.spans if span.is_genai]
        batch = await self._process(batch)
        enqueue = {sender.name: self._encode(sender, batch) for sender in self.senders}
        await self.admission.make_room(enqueue)
        ref = hold[0] if hold is not None else None
        journal_add = None
        if hold is not None and ref is not None and ref.journaled:
            # Traces: only the held spans (the rest is queued in this same transaction); logs: the request.
            body = wire.traces_request(ref.spans) if hold[1] == "traces" else hold[2]
            journal_add = [(hold[1], body.SerializeToString())]
        finished, self.joiner.finished_journal = self.joiner.finished_journal, []
        if replayed is not None:
            finished.append(replayed)  # its held parts, if any, are re-journaled in this same transaction
        try:
            ids = await self.store.commit(Write(enqueue=enqueue, journal_add=journal_add, journal_delete=finished))
        except BaseException:
            self.joiner.finished_journal.extend(finished)  # try those deletions again with the next commit
            raise
        if journal_add is not None and ref is not None:
            ref.id = ids[0]
            if ref.done:  # every held part was released while this commit was in flight
                self.joiner.finished_journal.append(ref.id)
        for sender in self.senders:
            sender.notify(len(enqueue[sender.name]))

    def _encode(self, sender: Sender, batch: Batch) -> list[Item]:
        started = time.perf_counter()
        items = self._render(sender, batch)
        self.telemetry.stage("encode", started, exporter=sender.name)
        return items

    def _render(self, sender: Sender, batch: Batch) -> list[Item]:
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
            stripped = dataclasses.replace(
                span,
                input=M.IO(value=UNRENDERABLE),
                output=M.IO(value=UNRENDERABLE),
                metadata={},
                tool_definitions=[],
                evaluations=[],
                tags={**span.tags, "glassbox.render_error": "true"},
            )
            try:
                items.extend(sender.exporter.render(Batch(spans=[stripped])))
                self.telemetry.add(T.EXPORTER_STRIPPED_SPANS, 1, exporter=sender.name, reason="render_error")
            except Exception:
                self.telemetry.add(T.EXPORTER_DROPPED_ITEMS, 1, exporter=sender.name, reason="render_error")
            log.warning(
                "exporter %s could not render span %s (%s: %s)", sender.name, span.span_id, type(error).__name__, error
            )
        return items

    async def flush(self) -> None:
        """Release everything held for joining (used at shutdown and by tests)."""
        async with self._lock:
            ready, evaluations = self.joiner.expired(time.monotonic(), everything=True)
        await self._emit(Batch(spans=ready, evaluations=evaluations))
        await self._emit_late()

    async def shutdown(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        await self.flush()
