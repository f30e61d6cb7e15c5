"""The ``redaction`` processor: every string of a batch through the engine, results written back, a summary on
every span, and counters for /metrics.

Fail closed at three levels: a text the engine could not redact (error, timeout, too large) or a shape the
walker cannot read gets the failure marker (``walk.py``); anything unexpected while walking or writing back
scrubs the whole batch (``scrub``); a span that cannot even be scrubbed is dropped, and counted. Nothing is
ever forwarded raw.

Tags on every span: ``pii.detected:true|false``, ``pii.type:<types, comma-separated, lowercase>`` and, when
something failed closed, ``pii.failed_closed:<count>``; ``span.redaction`` has the same per location.
"""

from __future__ import annotations

import logging

from glassbox.processors import model as M
from glassbox.processors.redaction.config import RedactionSettings
from glassbox.processors.redaction.engine import RedactionEngine
from glassbox.processors.redaction.walk import Collector, Summary

log = logging.getLogger("glassbox.processors.redaction")
Labels = tuple[tuple[str, str], ...]


class RedactionProcessor:
    name = "redaction"

    def __init__(self, settings: RedactionSettings | None = None):
        self.settings = settings if settings is not None else RedactionSettings()
        self.engine = RedactionEngine(self.settings)
        self.spans: dict[str, int] = {"true": 0, "false": 0}
        self.failed_closed: dict[str, int] = {}
        self.dropped_spans = 0
        self.scrubbed_batches = 0

    def start(self) -> None:
        self.engine.start()

    def shutdown(self) -> None:
        self.engine.shutdown()

    async def process(self, batch: M.Batch) -> M.Batch:
        try:
            collector = Collector(self.settings)
            collector.collect(batch)
            collector.apply(await self.engine.redact(collector.texts()))
            self._summarize(batch, collector)
        except Exception as exc:  # noqa: BLE001 — a bug must not let content through
            log.error("redaction failed for a batch (%s); scrubbing every span and log in it", type(exc).__name__)
            self.scrubbed_batches += 1
            batch = scrub(batch, self.settings, self)
        return batch

    def _summarize(self, batch: M.Batch, collector: Collector) -> None:
        for span in batch.spans:
            summary = collector.summaries.get(id(span), Summary())
            annotate(span, summary)
            self.spans["true" if summary.found else "false"] += 1
            self._count(summary)
        self._count(collector.orphan)

    def _count(self, summary: Summary) -> None:
        for reason, n in summary.reasons.items():
            self.failed_closed[reason] = self.failed_closed.get(reason, 0) + n

    # --- /metrics ---------------------------------------------------------------------------------------------

    def metrics(self) -> dict[str, tuple[str, str, dict[Labels, float]]]:
        """name -> (counter|gauge, help, {labels: value}); read at scrape time (see the README's wiring)."""
        engine = self.engine
        gauges = engine.gauges()
        return {
            "redaction_texts": ("counter", "texts seen by redaction, by result (cache_hit, deduplicated, analyzed, "
                                           "skipped by the prefilter, failed)",
                                {(("result", k),): v for k, v in engine.texts.items()}),
            "redaction_entities": ("counter", "PII findings by entity type",
                                   {(("type", k),): v for k, v in engine.entities.items()}),
            "redaction_failed_closed": ("counter", "fields replaced by the failure marker, by reason",
                                        {(("reason", k),): v for k, v in self.failed_closed.items()}),
            "redaction_spans": ("counter", "spans redacted, by whether PII was found",
                                {(("pii", k),): v for k, v in self.spans.items()}),
            "redaction_dropped_spans": ("counter", "spans dropped because they could not even be scrubbed",
                                        {(): self.dropped_spans}),
            "redaction_scrubbed_batches": ("counter", "batches scrubbed whole after an unexpected error",
                                           {(): self.scrubbed_batches}),
            "redaction_analyzed_chars": ("counter", "characters analysed by Presidio", {(): engine.chars_analyzed}),
            "redaction_cache_entries": ("gauge", "entries in the redaction cache", {(): gauges["cache_entries"]}),
            "redaction_cache_bytes": ("gauge", "estimated bytes held by the redaction cache",
                                      {(): gauges["cache_bytes"]}),
            "redaction_cache_hit_ratio": ("gauge", "redaction cache hits / lookups since start",
                                          {(): gauges["cache_hit_ratio"]}),
            "redaction_cache_evictions": ("counter", "redaction cache evictions", {(): gauges["cache_evictions"]}),
            "redaction_worker_restarts": ("counter", "redaction workers killed and restarted (deadline, crash)",
                                          {(): gauges["worker_restarts"]}),
        }


def annotate(span: M.Span, summary: Summary) -> None:
    span.redaction = M.RedactionSummary(found={k: set(v) for k, v in summary.found.items()},
                                        failed_closed=summary.failed)
    types = sorted({t for v in summary.found.values() for t in v})
    span.tags["pii.detected"] = "true" if types else "false"
    if types:
        span.tags["pii.type"] = [t.lower() for t in types]
    else:
        span.tags.pop("pii.type", None)
    if summary.failed:
        span.tags["pii.failed_closed"] = str(summary.failed)


def scrub(batch: M.Batch, settings: RedactionSettings, processor: RedactionProcessor | None = None) -> M.Batch:
    """Last resort: replace every content field of every span and log record with the marker."""
    marker = settings.failure_marker
    kept = []
    for span in batch.spans:
        try:
            _scrub_span(span, marker)
            kept.append(span)
        except Exception:  # noqa: BLE001 — cannot even scrub it: it does not leave
            if processor is not None:
                processor.dropped_spans += 1
    batch.spans = kept
    logs = []
    for request in batch.logs:
        try:
            for resource_logs in request.resource_logs:
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        if record.HasField("body"):
                            record.body.Clear()
                            record.body.string_value = marker
                        del record.attributes[:]
            logs.append(request)
        except Exception:  # noqa: BLE001
            pass
    batch.logs = logs
    for detached in batch.evaluations:
        detached.evaluation.reasoning = marker if detached.evaluation.reasoning else None
    if processor is not None:
        processor.failed_closed["batch_error"] = processor.failed_closed.get("batch_error", 0) + 1
    return batch


def _scrub_span(span: M.Span, marker: str) -> None:
    span.input = M.IO(value=marker)
    span.output = M.IO(value=marker)
    span.metadata = {}
    span.tool_definitions = []
    if span.error is not None:
        span.error = M.ErrorInfo(type=span.error.type if isinstance(span.error.type, str) else None,
                                 message=marker, stack=None)
    if span.prompt is not None:
        span.prompt = M.Prompt(id=span.prompt.id, name=span.prompt.name, version=span.prompt.version,
                               template=marker)
    for evaluation in span.evaluations:
        evaluation.reasoning = marker if evaluation.reasoning else None
    span.tags = {k: v for k, v in span.tags.items() if k in ("env", "service", "version", "ml_app")}
    span.user_id = marker if span.user_id else None
    span.session_id = marker if span.session_id else None
    summary = Summary()
    summary.fail("batch_error")
    annotate(span, summary)
    origin = span.origin
    if origin is not None:
        otlp = origin.span
        del otlp.attributes[:]
        for event in otlp.events:
            del event.attributes[:]
        for link in otlp.links:
            del link.attributes[:]
        if otlp.status.message:
            otlp.status.message = marker
