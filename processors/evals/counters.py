"""The evals processor's counters, read at scrape time by ``/metrics`` (``Processor.metrics()``).

Names (``glassbox_`` prefix and ``_total`` suffix added by the relay):

* ``evals_spans{kind}``: spans evaluated (llm, tool).
* ``evals_evaluations{label, assessment}``: evaluations this processor added or submitted (pass, fail, none).
* ``evals_errors{label, reason}``: an evaluator failed on a span (exception, bad_return; for the judge:
  malformed_reply, timeout, http_error, connection_error, abandoned, submit_failed).
* ``evals_skipped_spans{reason}``: scrubbed (nothing evaluated), failed_closed (content checks skipped).
* ``evals_superseded{label}``: not evaluated because the app already sent an evaluation with that label.
* ``evals_judge_requests{outcome}``: every judge HTTP attempt: ok, malformed, timeout, http_error,
  connection_error.
* ``evals_judge_skipped_spans{reason}``: unredacted, failed_closed, sampled_out, queue_full, no_answer,
  shut_down.
* ``evals_judge_tokens{model, type}`` (input, output) and ``evals_judge_cost_usd{model}`` (genai-prices);
  ``evals_judge_unpriced_replies{model}`` when the model has no known price.
* ``evals_judge_pending`` (gauge): judgments queued or running.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

Labels = tuple[tuple[str, str], ...]
Series = dict[Labels, float]

HELP = {
    "evals_spans": "spans evaluated by the evals processor, by kind",
    "evals_evaluations": "evaluations added to spans or submitted late, by label and assessment",
    "evals_errors": "evaluator failures on a span (the span goes on without that evaluation), by label and reason",
    "evals_skipped_spans": "spans not evaluated (scrubbed) or without content checks (failed_closed), by reason",
    "evals_superseded": "evaluations not made because the app already sent one with the same label, by label",
    "evals_judge_requests": "LLM judge HTTP attempts, by outcome",
    "evals_judge_skipped_spans": "LLM spans the judge did not judge, by reason",
    "evals_judge_tokens": "tokens used by the LLM judge, by model and type",
    "evals_judge_cost_usd": "the LLM judge's cost in USD (genai-prices), by model",
    "evals_judge_unpriced_replies": "judge replies whose model has no known price, by model",
}


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[str, Series] = {name: {} for name in HELP}
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def add(self, name: str, amount: float = 1, **labels: str) -> None:
        if not amount:
            return
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._series[name]
            series[key] = series.get(key, 0) + amount

    def merge(self, tally: Mapping[tuple[str, tuple[tuple[str, str], ...]], float]) -> None:
        """Add a batch's counts at once: (name, sorted labels) -> amount (one lock per batch, not per count)."""
        with self._lock:
            for (name, key), amount in tally.items():
                series = self._series[name]
                series[key] = series.get(key, 0) + amount

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._series[name].get(tuple(sorted(labels.items())), 0)

    def total(self, name: str) -> float:
        with self._lock:
            return sum(self._series[name].values())

    def render(self) -> dict[str, tuple[str, str, Series]]:
        with self._lock:
            out: dict[str, tuple[str, str, Series]] = {
                name: ("counter", HELP[name], dict(series)) for name, series in self._series.items()
            }
        for name, (help_text, read) in self.gauges.items():
            out[name] = ("gauge", help_text, {(): read()})
        return out
