"""The ``cost`` processor: estimated cost in USD of every LLM and embedding span.

Per span (LLM and embedding kinds only; other spans are never touched):

1. What to price: the pricing file's first matching entry, else genai-prices' model for the response model,
   else for the request model (``catalog``). Decided once per (provider, response model, request model).
2. Which prices: genai-prices' prices in force on the span's start date, for its service tier (``flex``,
   ``priority``... from the response's ``service_tier``, else the request's) and batch processing (only when
   the span says so: ``service_tier: batch``, metadata ``batch: true`` or ``processing: batch``, e.g. the
   attribute ``gen_ai.request.batch``); otherwise standard prices.
3. Billed token counts (``calc.read_usage``): the input includes cache reads and writes, the output includes
   reasoning, whatever the instrumentation's convention (see ``calc``); nothing is billed twice.
4. Output, via ``span.set_metric`` (so the OTLP copy gets it too): ``input_cost``, ``output_cost`` (LLM spans, or
   when output tokens are reported), ``total_cost`` = input + output, and the breakdown Datadog defines:
   ``non_cached_input_cost``; ``cache_read_input_cost`` / ``cache_write_input_cost`` when the span reports those
   token counts; ``reasoning_output_cost`` when it reports reasoning tokens — a part of ``output_cost``, never
   added to it. USD floats, computed in ``Decimal``. A GPU-hour price gives ``total_cost`` only.
   No trace or session totals: Datadog sums span costs itself, a parent total would be counted twice.

The app's own cost (OpenLIT's ``gen_ai.usage.cost``, read by intake as ``total_cost``):

- ``app_cost: keep`` (default): the app's total stays. glassbox adds its breakdown (input, output, cache,
  reasoning) only when its own total agrees with the app's within ``app_cost_tolerance``, so the parts always
  add up to the total (to within that tolerance); otherwise the span keeps the app's total alone.
- ``app_cost: replace``: glassbox's numbers, total included, replace the app's whenever glassbox can price the
  span; when it cannot, the app's total stays (a known number is never dropped).
- In both modes a disagreement beyond the tolerance is counted (``cost_app_disagreements``, by model).

A model nobody can price gets no cost fields at all (never a silent $0), the tag ``cost.unpriced_model:<model>``
(``unpriced_tag``) and a count in ``cost_unpriced_spans{model}``. ``process`` never raises: a span that fails
for an unexpected reason keeps no cost, is tagged ``cost.error:<reason>`` and counted.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from decimal import Decimal
from typing import Any

from glassbox.processors import model as M
from glassbox.processors import semconv
from glassbox.processors.base import Context, StartupError
from glassbox.processors.cost.calc import Cost, InvalidUsage, duration_cost, read_usage, token_cost
from glassbox.processors.cost.catalog import Catalog, GpuHours, LibraryPrice, Price
from glassbox.processors.cost.config import CostConfig
from glassbox.processors.cost.pricing_file import Entry, PricingFileError, load, resolve

log = logging.getLogger("glassbox.processors.cost")

UNPRICED_TAG = "cost.unpriced_model"
ERROR_TAG = "cost.error"
MAX_MODEL_LABELS = 200  # distinct model label values per counter; the rest are counted under "other"


STANDARD_TIERS = frozenset({"", "auto", "default", "standard", "standard_only", "on_demand"})
# Instrumentations whose input token count excludes cache reads and writes, per provider (see calc.py).
EXCLUSIVE_INPUT = {"openlit": frozenset({"anthropic", "aws.bedrock"})}
RESULTS = ("priced", "app_cost", "unpriced_model", "no_usage", "error")


class CostProcessor:
    name = "cost"

    def __init__(self, config: CostConfig, context: Context | None = None):
        self.config = config
        self.problems: list[str] = []
        entries: list[Entry] = []
        if config.pricing_file:
            path = resolve(config.pricing_file, context.base_dir if context is not None else None)
            try:
                entries, self.problems = load(path)
            except PricingFileError as exc:
                self.problems = [str(exc)]
        self.catalog = Catalog(entries, config.model_aliases)
        self.keep = config.app_cost == "keep"
        self.tolerance = Decimal(repr(config.app_cost_tolerance))
        self.results: Counter[str] = Counter()
        self.unpriced: Counter[str] = Counter()
        self.disagreements: Counter[str] = Counter()
        self._logged_errors: set[str] = set()

    def start(self) -> None:
        if self.problems:  # the config check refuses these first; this is for a file changed since
            raise StartupError(f"processors.cost.pricing_file: {self.problems[0]}")

    def shutdown(self) -> None:
        return None

    # --- per batch ----------------------------------------------------------------------------------------------

    def process(self, batch: M.Batch) -> M.Batch:
        for span in batch.spans:
            if span.kind != M.LLM and span.kind != M.EMBEDDING:
                continue
            try:
                self.results[self._price(span)] += 1
            except Exception as exc:  # a span must never fail its batch (the pipeline would scrub it)
                self._failed(span, exc)
        return batch

    def _price(self, span: M.Span) -> str:
        metrics = span.metrics
        app_total = metrics.get(M.TOTAL_COST) if M.TOTAL_COST not in span.enriched_metrics else None
        attrs = span.wire.attributes if span.wire is not None else {}
        request_model = attrs.get(semconv.REQUEST_MODEL)
        if not isinstance(request_model, str):
            request_model = None
        label = span.model_name or request_model or "unknown"
        price = self.catalog.plan(span.model_provider, span.model_name, request_model)
        cost, reported, result = (
            self._cost(span, price, attrs) if price is not None else (None, frozenset[str](), "unpriced_model")
        )

        if isinstance(app_total, (int, float)) and math.isfinite(app_total):
            if cost is None:
                return "app_cost"  # the app's number stays; the span has a cost, so it is not "unpriced"
            agree = self._agree(Decimal(repr(float(app_total))), cost.total)
            if not agree:
                self.disagreements[self._label(self.disagreements, label)] += 1
            if not self.keep:
                self._write(span, cost, reported, total=True)
                return "priced"
            if agree and not cost.by_duration:
                self._write(span, cost, reported, total=False)
                return "priced"
            return "app_cost"
        if cost is None:
            if result == "unpriced_model":
                self.unpriced[self._label(self.unpriced, label)] += 1
                if self.config.unpriced_tag:
                    span.set_tag(UNPRICED_TAG, label)
            return result
        self._write(span, cost, reported, total=True)
        return "priced"

    def _cost(self, span: M.Span, price: Price, attrs: dict[str, Any]) -> tuple[Cost | None, frozenset[str], str]:
        if isinstance(price, GpuHours):
            return duration_cost(price, span.duration_ns), frozenset(), "priced"
        provider = span.model_provider
        cache_in_input = self.config.input_tokens_include_cache.get(provider or "")
        if cache_in_input is None:
            sdk = attrs.get(semconv.TELEMETRY_SDK_NAME) or (
                span.wire.resource.attributes.get(semconv.TELEMETRY_SDK_NAME) if span.wire else None
            )
            cache_in_input = provider not in EXCLUSIVE_INPUT.get(sdk, ()) if isinstance(sdk, str) else True
        reasoning_in_output = self.config.output_tokens_include_reasoning.get(provider or "", True)
        try:
            usage = read_usage(span.metrics, cache_in_input, reasoning_in_output)
        except InvalidUsage as exc:
            span.set_tag(ERROR_TAG, "invalid_usage")
            self._log_once("invalid_usage", f"cost: span {span.span_id} has a token count that cannot be billed: {exc}")
            return None, frozenset(), "error"
        if usage is None:
            return None, frozenset(), "no_usage"
        sheet = price.sheet(span.start_ns, self._context(span, attrs)) if isinstance(price, LibraryPrice) else price
        if not sheet.token_priced:
            return None, frozenset(), "unpriced_model"  # priced per image, audio hour... units spans do not carry
        return token_cost(sheet, usage), usage.reported, "priced"

    @staticmethod
    def _context(span: M.Span, attrs: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        """genai-prices' price context: the billed service tier and batch processing, when the span says so."""
        tier = None
        for key in semconv.RESPONSE_SERVICE_TIER:
            value = attrs.get(key)
            if isinstance(value, str) and value:
                tier = value
                break
        metadata = span.metadata
        if tier is None:
            tier = metadata.get("service_tier")
            if not isinstance(tier, str):
                tier = None
        batch, processing = metadata.get("batch"), metadata.get("processing")
        if tier is None and batch is None and processing is None:
            return ()  # most spans: standard prices
        context: dict[str, str] = {}
        tier = (tier or "").strip().lower()
        if tier == "batch":
            context["processing"] = "batch"
        elif tier not in STANDARD_TIERS:
            context["service_tier"] = tier
        if batch is True or (isinstance(batch, str) and batch.lower() == "true") or processing == "batch":
            context["processing"] = "batch"
        return tuple(sorted(context.items()))

    def _agree(self, app: Decimal, ours: Decimal) -> bool:
        return abs(app - ours) <= self.tolerance * max(abs(app), abs(ours)) + Decimal("1e-12")

    @staticmethod
    def _write(span: M.Span, cost: Cost, reported: frozenset[str], total: bool) -> None:
        if cost.by_duration:
            span.set_metric(M.TOTAL_COST, float(cost.total))
            return
        span.set_metric(M.INPUT_COST, float(cost.input))
        span.set_metric(M.NON_CACHED_INPUT_COST, float(cost.non_cached_input))
        if M.CACHE_READ_TOKENS in reported:
            span.set_metric(M.CACHE_READ_INPUT_COST, float(cost.cache_read_input))
        if M.CACHE_WRITE_TOKENS in reported:
            span.set_metric(M.CACHE_WRITE_INPUT_COST, float(cost.cache_write_input))
        if span.kind == M.LLM or M.OUTPUT_TOKENS in reported:
            span.set_metric(M.OUTPUT_COST, float(cost.output))
        if M.REASONING_TOKENS in reported:
            span.set_metric(M.REASONING_OUTPUT_COST, float(cost.reasoning_output))
        if total:
            span.set_metric(M.TOTAL_COST, float(cost.total))

    def _failed(self, span: M.Span, exc: Exception) -> None:
        """An unexpected error: the span keeps no cost of ours, is tagged and counted, and the batch goes on."""
        reason = type(exc).__name__
        self.results["error"] += 1
        try:
            for name in M.COST_METRICS:  # _price writes last, so this only matters if writing itself failed
                if name in span.enriched_metrics:
                    span.metrics.pop(name, None)
                    span.enriched_metrics.discard(name)
            span.set_tag(ERROR_TAG, reason)
        except Exception:  # a span too broken to tag must not fail the batch either
            pass
        self._log_once(reason, f"cost: cannot price span {getattr(span, 'span_id', '?')}: {reason}: {exc}")

    def _log_once(self, key: str, message: str) -> None:
        if key not in self._logged_errors:
            self._logged_errors.add(key)
            log.warning("%s (further occurrences are only counted)", message)

    @staticmethod
    def _label(counter: Counter[str], model: str) -> str:
        return model if model in counter or len(counter) < MAX_MODEL_LABELS else "other"

    # --- counters on /metrics -----------------------------------------------------------------------------------

    def metrics(self) -> dict[str, tuple[str, str, dict[tuple[tuple[str, str], ...], float]]]:
        """name -> (counter|gauge, help, {labels: value}); read at scrape time."""
        return {
            "cost_spans": (
                "counter",
                "LLM and embedding spans seen by the cost processor, by result (priced, app_cost: the app's own "
                "total kept, unpriced_model, no_usage: no token counts, error)",
                {(("result", result),): float(self.results.get(result, 0)) for result in RESULTS},
            ),
            "cost_unpriced_spans": (
                "counter",
                f"spans left without cost because no price is known for their model (at most {MAX_MODEL_LABELS} "
                "models, the rest as other)",
                {(("model", model),): float(n) for model, n in list(self.unpriced.items())},
            ),
            "cost_app_disagreements": (
                "counter",
                "spans whose app-reported total cost differs from glassbox's beyond app_cost_tolerance, by model",
                {(("model", model),): float(n) for model, n in list(self.disagreements.items())},
            ),
        }
