"""The ``evals`` processor: built-in and custom evaluators on every LLM span (tool_error also on tool spans),
and an optional LLM judge whose results arrive later.

Per span, in ``process`` (no I/O, never raises):

* skipped whole when its content was scrubbed (tag ``glassbox.scrubbed``); content-reading evaluators are
  skipped when redaction failed closed on it (its text is then the failure marker, not what the model said);
* each enabled built-in, then each custom evaluator, adds its ``Evaluation`` through ``Span.add_evaluation``;
  one that raises (or, custom, returns something else than an evaluation) is counted and skipped for that
  span, the others go on;
* an evaluator whose label the app already sent (``gen_ai.evaluation.result``, already in ``span.evaluations``)
  does not run: the app's result is forwarded untouched and not duplicated;
* every failed evaluation (assessment ``fail``, the app's included) is listed in the tag
  ``eval.failed:<label>`` (``Span.set_tag`` with a list: one tag per label);
* the judge, when configured, is handed the span; it copies what it needs and works in background tasks.

Late batches (``Context.submit``: the judge's results) come through here too and pass untouched.
"""

from __future__ import annotations

import logging
import operator
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from glassbox.processors import model as M
from glassbox.processors.base import Context
from glassbox.processors.evals import builtins as B
from glassbox.processors.evals import custom as U
from glassbox.processors.evals.config import EvalsConfig
from glassbox.processors.evals.counters import Counters, Series
from glassbox.processors.evals.judge import Judge
from glassbox.processors.evals.language import Detector

log = logging.getLogger("glassbox.processors.evals")
SCRUBBED_TAG = "glassbox.scrubbed"  # processors.scrub.REASON_TAG
FAILED_TAG = "eval.failed"
_LABEL_ASSESSMENT = operator.attrgetter("label", "assessment")
# Spans whose readings are prepared together: enough to share one search, few enough that what they hold is freed
# young (readings of a whole 2,000-span batch kept alive cost 20 us per span in collections at default GC settings).
PREPARED_TOGETHER = 64
_NONE: frozenset[str] = frozenset()


@dataclass(frozen=True, eq=False)  # compared by identity (which evaluators read a span)
class _Evaluator:
    label: str
    kinds: frozenset[str]
    content: bool
    evaluate: Callable[[Any], Any]  # a built-in reads a ``builtins.Reading``, a custom evaluator the span itself
    custom: bool
    prepare: Callable[[list[B.Reading]], None] | None = None  # a built-in's work for the whole batch at once


class EvalsProcessor:
    name = "evals"

    def __init__(self, config: EvalsConfig | None = None, context: Context | None = None):
        self.config = config if config is not None else EvalsConfig()
        context = context if context is not None else Context()
        self.counters = Counters()
        self.detector: Detector | None = None
        if self.config.builtins.language_mismatch.enabled:
            self.detector = Detector(self.config.builtins.language_mismatch.languages)
        self.evaluators = [
            _Evaluator(b.label, b.kinds, b.content, b.read, False, b.prepare)
            for b in B.build(self.config.builtins, self.detector)
        ]
        for custom in self.config.custom:
            function = U.resolve(custom.function, context.base_dir)  # the factory's check() reported failures
            self.evaluators.append(_Evaluator(custom.label, frozenset(custom.kinds), True, function, True))
        self.kinds = frozenset(kind for e in self.evaluators for kind in e.kinds) | (
            {M.LLM} if self.config.judge else set()
        )
        # The evaluators that apply to each span kind, in order: looked up once per span, not checked per evaluator.
        self.by_kind: dict[str | None, list[_Evaluator]] = {
            kind: [e for e in self.evaluators if kind in e.kinds] for kind in self.kinds
        }
        self.judge = Judge(self.config.judge, context.submit, self.counters) if self.config.judge else None
        self._logged: set[tuple[str, str]] = set()

    def start(self) -> None:
        if self.detector is not None:
            self.detector.load()  # half a second now rather than in the first batch

    def shutdown(self) -> None:
        if self.judge is not None:
            self.judge.shutdown()

    async def drain(self, timeout: float) -> None:
        """Finish the judge's requests in flight (their results go to ``Context.submit``), or abandon them."""
        if self.judge is not None:
            await self.judge.drain(timeout)

    async def process(self, batch: M.Batch) -> M.Batch:
        tally: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()  # merged once per batch
        kinds: Counter[str | None] = Counter()  # spans evaluated, by kind
        made: list[M.Evaluation] = []  # evaluations added, counted by label and assessment at the end
        by_kind = self.by_kind
        work = [(span, evaluators) for span in batch.spans if (evaluators := by_kind.get(span.kind)) is not None]
        for start in range(0, len(work), PREPARED_TOGETHER):
            chunk = work[start : start + PREPARED_TOGETHER]
            readings = [B.Reading(span) for span, _ in chunk]  # what the built-ins read from a span, worked out once
            self._prepare(chunk, readings)
            for (span, evaluators), reading in zip(chunk, readings):
                try:
                    if self._span(span, evaluators, reading, tally, made):
                        kinds[span.kind] += 1
                except Exception as exc:  # noqa: BLE001 — a bug here must not scrub the batch; counted, span goes on
                    self._error("_processor", "exception", exc)
        for kind, count in kinds.items():
            tally["evals_spans", (("kind", str(kind)),)] += count
        for (label, assessment), count in Counter(map(_LABEL_ASSESSMENT, made)).items():
            tally["evals_evaluations", (("assessment", assessment or "none"), ("label", label))] += count
        self.counters.merge(tally)
        return batch

    def _prepare(self, work: list[tuple[M.Span, list[_Evaluator]]], readings: list[B.Reading]) -> None:
        """Each built-in's batch work, on the spans it will read (content intact, not scrubbed). A failure leaves
        the readings unprepared: the built-in then reads each span alone."""
        for evaluator in self.evaluators:
            if evaluator.prepare is None:
                continue
            chosen = [
                reading
                for (span, evaluators), reading in zip(work, readings)
                if evaluator in evaluators and _reads(evaluator, span)
            ]
            if not chosen:
                continue
            try:
                evaluator.prepare(chosen)
            except Exception as exc:  # noqa: BLE001 — counted; the spans are still evaluated, one by one
                self._error(evaluator.label, "prepare", exc)

    def _span(
        self,
        span: M.Span,
        evaluators: list[_Evaluator],
        reading: B.Reading,
        tally: Counter[tuple[str, tuple[tuple[str, str], ...]]],
        made: list[M.Evaluation],
    ) -> bool:
        """Evaluate one span; False when it was skipped whole."""
        if SCRUBBED_TAG in span.tags:
            tally["evals_skipped_spans", (("reason", "scrubbed"),)] += 1
            return False
        app_labels = {evaluation.label for evaluation in span.evaluations} if span.evaluations else _NONE
        if B.content_lost(span):
            tally["evals_skipped_spans", (("reason", "failed_closed"),)] += 1
            evaluators = [e for e in evaluators if not e.content]
        for evaluator in evaluators:
            if evaluator.label in app_labels:
                tally["evals_superseded", (("label", evaluator.label),)] += 1
                continue
            try:
                if evaluator.custom:
                    evaluation = U.as_evaluation(evaluator.label, evaluator.evaluate(span))
                else:
                    evaluation = evaluator.evaluate(reading)
            except U.BadReturn as exc:
                self._error(evaluator.label, "bad_return", exc)
                continue
            except Exception as exc:  # noqa: BLE001 — one evaluator failing skips only itself, for this span
                self._error(evaluator.label, "exception", exc)
                continue
            if evaluation is None:
                continue
            span.add_evaluation(evaluation)
            made.append(evaluation)
        if self.config.failed_tag:
            self._tag_failures(span)
        if self.judge is not None and span.kind == M.LLM:
            self.judge.consider(span, app_labels)
        return True

    def _tag_failures(self, span: M.Span) -> None:
        for evaluation in span.evaluations:  # most spans fail nothing: no set built for them
            if evaluation.assessment == "fail":
                break
        else:
            return
        failed = {e.label for e in span.evaluations if e.assessment == "fail"}
        existing = span.tags.get(FAILED_TAG)
        if isinstance(existing, str):
            failed.add(existing)
        elif isinstance(existing, list):
            failed.update(str(v) for v in existing)
        span.set_tag(FAILED_TAG, sorted(failed))

    def _error(self, label: str, reason: str, exc: BaseException) -> None:
        self.counters.add("evals_errors", label=label, reason=reason)
        if (label, reason) not in self._logged:  # once per evaluator and reason: a broken one must not flood logs
            self._logged.add((label, reason))
            log.warning(
                "evaluator %s failed on a span (%s: %s); skipped for that span", label, reason, type(exc).__name__
            )

    # --- /metrics ---------------------------------------------------------------------------------------------

    def metrics(self) -> dict[str, tuple[str, str, Series]]:
        return self.counters.render()


def _reads(evaluator: _Evaluator, span: M.Span) -> bool:
    """Whether ``evaluator`` will read ``span`` (what ``_span`` decides): not scrubbed, and its content intact if
    it reads content."""
    return SCRUBBED_TAG not in span.tags and not (evaluator.content and B.content_lost(span))
