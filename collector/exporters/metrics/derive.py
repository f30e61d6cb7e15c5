"""GenAI spans → metric points (the names are a contract with the shipped dashboards and monitors; README has
the table).

Per span kind: LLM spans give requests, errors, latency, time to first token, tokens and estimated cost;
embedding spans requests, latency, input tokens and cost; retrieval spans requests, latency, documents and the
top score. Every GenAI span (any kind, ``span_kind`` tells which) gives its evaluations, the problems they found
(invalid JSON, refusals, tool failures), the PII types redaction found and whether redaction failed closed.
Evaluations that arrive after their span (``Batch.evaluations``) count too, tagged by service only.

Points are summed into an ``Aggregate`` as they are derived: counts per (name, tags), distribution values kept
as lists, so a batch becomes one queue item per family whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeGuard

from glassbox.collector.exporters.datadog.format import normalize_ml_app
from glassbox.collector.exporters.metrics.guard import CardinalityGuard, RawTags
from glassbox.processors import model as M

PREFIX = {M.LLM: "glassbox.llm", M.EMBEDDING: "glassbox.embedding", M.RETRIEVAL: "glassbox.retrieval"}
EVALS = "glassbox.llm"  # evaluation, PII and redaction metrics, whatever the span kind
TOKENS = (  # (metric suffix, span metric)
    ("input_tokens", M.INPUT_TOKENS),
    ("output_tokens", M.OUTPUT_TOKENS),
    ("cache_read_tokens", M.CACHE_READ_TOKENS),
    ("reasoning_tokens", M.REASONING_TOKENS),
)
# Evaluations whose failure is a metric of its own: label → (metric suffix, the tag the value goes under).
PROBLEMS = {
    "invalid_json": ("json_invalid", None),
    "failure_to_answer": ("refusals", "category"),
    "tool_error": ("tool_failures", None),
}

Key = tuple[str, tuple[str, ...]]  # (metric name, sorted "key:value" tags)


@dataclass
class Aggregate:
    counts: dict[Key, float] = field(default_factory=dict)
    values: dict[Key, list[float]] = field(default_factory=dict)

    def count(self, key: Key, amount: float) -> None:
        self.counts[key] = self.counts.get(key, 0) + amount

    def value(self, key: Key, amount: float) -> None:
        found = self.values.get(key)
        if found is None:
            self.values[key] = [amount]
        else:
            found.append(amount)


class Deriver:
    """Turns spans into points through one ``CardinalityGuard``; ``allowlist``: span tags that may be tags."""

    def __init__(
        self, guard: CardinalityGuard, allowlist: list[str], defaults: dict[str, str], ml_app: str | None = None
    ):
        self.guard = guard
        self.allowlist = [(name, name.lower()) for name in allowlist]
        self.free = frozenset(key for _, key in self.allowlist)
        self.defaults = defaults
        self.ml_app = normalize_ml_app(ml_app) if ml_app else None

    def base_tags(self, span: M.Span) -> RawTags:
        """The span's tag values before the guard: base tags, then allow-listed span tags; missing ones left out."""
        d = self.defaults
        service = span.service or d.get("service")
        prompt = span.prompt
        pairs = [
            ("env", span.env or d.get("env")),
            ("service", service),
            ("version", span.version or d.get("version")),
            ("ml_app", self.ml_app or span.ml_app or normalize_ml_app(service)),
            ("model_name", span.model_name or d.get("model_name")),
            ("model_provider", span.model_provider or d.get("model_provider")),
            ("prompt_name", (prompt.name if prompt else None) or d.get("prompt_name")),
            ("prompt_version", (prompt.version if prompt else None) or d.get("prompt_version")),
            ("span_kind", span.kind),
            ("status", span.status),
        ]
        tags = span.tags
        for name, key in self.allowlist:
            value = tags.get(name)
            if isinstance(value, list):
                pairs.extend((key, str(v)) for v in value if v not in (None, ""))
            elif value not in (None, ""):
                pairs.append((key, str(value)))
        return tuple(sorted((k, str(v)) for k, v in pairs if v not in (None, "")))

    def span(self, span: M.Span, into: Aggregate) -> None:
        if not span.is_genai:
            return
        raw = self.base_tags(span)
        prefix = PREFIX.get(span.kind or "")
        if prefix is not None:
            self._usage(span, prefix, raw, into)
        for evaluation in span.evaluations:
            self.evaluation(evaluation, raw, into)
        redaction = span.redaction
        if redaction is not None:
            for entity in sorted({e for found in redaction.found.values() for e in found}):
                self._count(f"{EVALS}.pii_detected", raw, 1, into, (("entity_type", entity),))
            if redaction.failed_closed:
                self._count(f"{EVALS}.redaction_failed_closed", raw, 1, into)

    def detached(self, detached: M.DetachedEvaluation, into: Aggregate) -> None:
        service = detached.service or self.defaults.get("service")
        pairs = [
            ("service", service),
            ("ml_app", self.ml_app or normalize_ml_app(service)),
            ("env", self.defaults.get("env")),
            ("version", self.defaults.get("version")),
        ]
        raw = tuple(sorted((k, v) for k, v in pairs if v))
        self.evaluation(detached.evaluation, raw, into)

    def evaluation(self, evaluation: M.Evaluation, raw: RawTags, into: Aggregate) -> None:
        label = evaluation.label
        extra: RawTags = (("eval_label", label),)
        if evaluation.assessment:
            extra += (("assessment", evaluation.assessment),)
        self._count(f"{EVALS}.evaluations", raw, 1, into, extra)
        value = evaluation.value
        if evaluation.metric_type == "score" and _number(value):
            into.value(
                (f"{EVALS}.eval_score", self.guard.tags(f"{EVALS}.eval_score", raw, extra[:1], self.free)), value
            )
        problem = PROBLEMS.get(label)
        if problem is not None and evaluation.assessment == "fail":
            suffix, tag = problem
            more: RawTags = ((tag, str(value)),) if tag and value not in (None, "") else ()
            self._count(f"{EVALS}.{suffix}", raw, 1, into, more)

    def _usage(self, span: M.Span, prefix: str, raw: RawTags, into: Aggregate) -> None:
        metrics = span.metrics
        self._count(f"{prefix}.requests", raw, 1, into)
        self._value(f"{prefix}.latency", raw, span.duration_ns / 1e9, into)
        if span.kind == M.RETRIEVAL:
            documents = span.output.documents
            self._value(f"{prefix}.documents", raw, len(documents), into)
            scores = [d.score for d in documents if _number(d.score)]
            if scores:  # how good the best hit was: a falling top score is a retrieval problem before an answer one
                self._value(f"{prefix}.top_score", raw, max(scores), into)
            return
        cost = metrics.get(M.TOTAL_COST)
        if _number(cost):
            self._value(f"{prefix}.estimated_cost_usd", raw, cost, into)
        if span.kind == M.EMBEDDING:
            tokens = metrics.get(M.INPUT_TOKENS)
            if _number(tokens) and tokens:
                self._count(f"{prefix}.input_tokens", raw, tokens, into)
            return
        if span.status == "error":
            error_type = span.error.type if span.error and span.error.type else None
            self._count(f"{prefix}.errors", raw, 1, into, (("error_type", error_type),) if error_type else ())
        ttft = metrics.get(M.TIME_TO_FIRST_TOKEN)
        if _number(ttft):
            self._value(f"{prefix}.time_to_first_token", raw, ttft, into)
        for suffix, name in TOKENS:
            tokens = metrics.get(name)
            if _number(tokens) and tokens:
                self._count(f"{prefix}.{suffix}", raw, tokens, into)

    def _count(self, metric: str, raw: RawTags, amount: float, into: Aggregate, extra: RawTags = ()) -> None:
        into.count((metric, self.guard.tags(metric, raw, extra, self.free)), amount)

    def _value(self, metric: str, raw: RawTags, amount: float, into: Aggregate) -> None:
        into.value((metric, self.guard.tags(metric, raw, (), self.free)), amount)


def _number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value  # not NaN
