"""The ``redaction`` processor: every string of a batch through the engine, results written back, a summary on
every span, and counters for /metrics.

Fail closed at three levels: a text the engine could not redact (error, timeout, too large) or a shape the
walker cannot read gets the failure marker (``walk.py``); anything unexpected while walking or writing back
scrubs the whole batch with the one fail-closed policy (``processors.scrub``); an item that cannot even be
scrubbed is dropped, and counted. Nothing is ever forwarded raw.

Tags on every span: ``pii.detected:true|false``, ``pii.type:<types, comma-separated, lowercase>`` and, when
something failed closed, ``pii.failed_closed:<count>``; ``span.redaction`` has the same per location.
"""

from __future__ import annotations

import logging

from glassbox.processors import model as M
from glassbox.processors.redaction.config import RedactionConfig
from glassbox.processors.redaction.engine import RedactionEngine
from glassbox.processors.redaction.walk import Collector, KeyRules, Summary
from glassbox.processors.scrub import scrub_batch

log = logging.getLogger("glassbox.processors.redaction")
Labels = tuple[tuple[str, str], ...]


class RedactionProcessor:
    name = "redaction"

    def __init__(self, settings: RedactionConfig | None = None):
        self.settings = settings if settings is not None else RedactionConfig()
        self.engine = RedactionEngine(self.settings)
        self.rules = KeyRules(self.settings)
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
            collector = Collector(self.settings, rules=self.rules)
            collector.collect(batch)
            collector.apply(await self.engine.redact(collector.texts()))
            self._summarize(batch, collector)
        except Exception as exc:  # noqa: BLE001 — a bug must not let content through
            log.error("redaction failed for a batch (%s); scrubbing every span and log in it", type(exc).__name__)
            self.scrubbed_batches += 1
            self.dropped_spans += scrub_batch(batch, "redaction_error", self.settings.failure_marker)
            self.failed_closed["batch_error"] = self.failed_closed.get("batch_error", 0) + 1
            for span in batch.spans:  # the pii.* vocabulary is redaction's: say the span failed closed
                span.set_tag("pii.failed_closed", "1")
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

    def describe(self) -> str:
        """For the startup summary: what is looked for, and how."""
        s = self.settings
        return (
            f"{len(s.resolved_entities())} entities ({', '.join(s.resolved_entities())}), nlp_engine {s.nlp_engine}, "
            f"{self.engine.workers} worker(s)"
        )

    # --- /metrics ---------------------------------------------------------------------------------------------

    def metrics(self) -> dict[str, tuple[str, str, dict[Labels, float]]]:
        """name -> (counter|gauge, help, {labels: value}); read at scrape time (see the README's wiring)."""
        engine = self.engine
        gauges = engine.gauges()
        return {
            "redaction_texts": (
                "counter",
                "texts seen by redaction, by result (cache_hit, deduplicated, analyzed, "
                "skipped by the prefilter, failed)",
                {(("result", k),): v for k, v in engine.texts.items()},
            ),
            "redaction_entities": (
                "counter",
                "PII findings by entity type",
                {(("type", k),): v for k, v in engine.entities.items()},
            ),
            "redaction_failed_closed": (
                "counter",
                "fields replaced by the failure marker, by reason",
                {(("reason", k),): v for k, v in self.failed_closed.items()},
            ),
            "redaction_spans": (
                "counter",
                "spans redacted, by whether PII was found",
                {(("pii", k),): v for k, v in self.spans.items()},
            ),
            "redaction_dropped_spans": (
                "counter",
                "spans dropped because they could not even be scrubbed",
                {(): self.dropped_spans},
            ),
            "redaction_scrubbed_batches": (
                "counter",
                "batches scrubbed whole after an unexpected error",
                {(): self.scrubbed_batches},
            ),
            "redaction_analyzed_chars": ("counter", "characters analysed by Presidio", {(): engine.chars_analyzed}),
            "redaction_cache_entries": ("gauge", "entries in the redaction cache", {(): gauges["cache_entries"]}),
            "redaction_cache_bytes": (
                "gauge",
                "estimated bytes held by the redaction cache",
                {(): gauges["cache_bytes"]},
            ),
            "redaction_cache_hit_ratio": (
                "gauge",
                "redaction cache hits / lookups since start",
                {(): gauges["cache_hit_ratio"]},
            ),
            "redaction_cache_evictions": ("counter", "redaction cache evictions", {(): gauges["cache_evictions"]}),
            "redaction_worker_restarts": (
                "counter",
                "redaction workers killed and restarted (deadline, crash)",
                {(): gauges["worker_restarts"]},
            ),
        }


def annotate(span: M.Span, summary: Summary) -> None:
    span.redaction = M.RedactionSummary(
        found={k: set(v) for k, v in summary.found.items()}, failed_closed=summary.failed
    )
    types = sorted({t for v in summary.found.values() for t in v})
    span.set_tag("pii.detected", "true" if types else "false")
    if types:
        span.set_tag("pii.type", [t.lower() for t in types])
    elif "pii.type" in span.tags:
        span.drop_tag("pii.type")
    if summary.failed:
        span.set_tag("pii.failed_closed", str(summary.failed))
