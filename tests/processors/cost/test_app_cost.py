"""The app's own cost (OpenLIT's gen_ai.usage.cost, read by intake as total_cost) against glassbox's.

Rule: with ``app_cost: keep`` the app's total stays and glassbox's breakdown is added only when the two totals
agree within ``app_cost_tolerance`` (so input + output always add up to the total shown); with ``replace``
glassbox's numbers win whenever it can price the span. A known number is never dropped, and disagreements are
counted in both modes."""

from __future__ import annotations

from glassbox.processors import model as M
from glassbox.processors.cost.processor import CostProcessor
from tests.processors.cost.support import otlp_span, priced, processor, usd

OURS_NO_CACHE = usd((21, "0.15"), (9, "0.60"))  # 8.55e-06: what OpenLIT computes too (it ignores the cache)
OURS_CACHED = usd((16, "0.15"), (5, "0.075"), (9, "0.60"))  # 8.175e-06: 5 of the 21 input tokens were cached


def openlit_span(app_cost: float, model: str = "gpt-4o-mini", cached: int | None = None) -> M.Span:
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": 21,
        "gen_ai.usage.output_tokens": 9,
        "gen_ai.usage.cost": app_cost,
        "telemetry.sdk.name": "openlit",
    }
    if cached is not None:
        attributes["gen_ai.usage.cache_read.input_tokens"] = cached
    return otlp_span(attributes)


def results(proc: CostProcessor) -> dict[str, float]:
    return {labels[0][1]: value for labels, value in proc.metrics()["cost_spans"][2].items() if value}


def disagreements(proc: CostProcessor) -> dict[str, float]:
    return {labels[0][1]: value for labels, value in proc.metrics()["cost_app_disagreements"][2].items()}


def test_keep_and_agree_adds_the_breakdown_under_the_apps_total():
    span = openlit_span(8.6e-06)  # 0.6% above ours: within the default 1%
    proc = processor()

    cost = priced(span, proc)

    assert cost == {
        M.TOTAL_COST: 8.6e-06,  # the app's own number
        M.INPUT_COST: usd((21, "0.15")),
        M.NON_CACHED_INPUT_COST: usd((21, "0.15")),
        M.OUTPUT_COST: usd((9, "0.60")),
    }
    assert M.TOTAL_COST not in span.enriched_metrics  # not rewritten: the copy keeps the app's attribute as is
    assert disagreements(proc) == {}
    assert results(proc) == {"priced": 1.0}


def test_keep_and_disagree_keeps_only_the_apps_total_and_counts_it():
    """OpenLIT does not discount cached tokens: its 8.55e-06 is 4.6% above the cached price, 8.175e-06."""
    span = openlit_span(OURS_NO_CACHE, cached=5)
    proc = processor()

    cost = priced(span, proc)

    assert cost == {M.TOTAL_COST: OURS_NO_CACHE}  # no parts that would not add up to it
    assert disagreements(proc) == {"gpt-4o-mini": 1.0}
    assert results(proc) == {"app_cost": 1.0}
    assert span.tags == {}


def test_replace_writes_glassboxs_numbers_and_still_counts_the_disagreement():
    span = openlit_span(OURS_NO_CACHE, cached=5)
    proc = processor(app_cost="replace")

    cost = priced(span, proc)

    assert cost[M.TOTAL_COST] == OURS_CACHED
    assert cost[M.INPUT_COST] == usd((16, "0.15"), (5, "0.075"))
    assert cost[M.OUTPUT_COST] == usd((9, "0.60"))
    assert M.TOTAL_COST in span.enriched_metrics
    assert disagreements(proc) == {"gpt-4o-mini": 1.0}


def test_the_tolerance_is_configurable():
    span = openlit_span(OURS_NO_CACHE, cached=5)
    proc = processor(app_cost_tolerance=0.05)

    cost = priced(span, proc)

    assert cost[M.TOTAL_COST] == OURS_NO_CACHE
    assert cost[M.INPUT_COST] == usd((16, "0.15"), (5, "0.075"))
    assert disagreements(proc) == {}


def test_an_app_total_for_a_model_glassbox_cannot_price_stays_in_both_modes():
    for mode in ("keep", "replace"):
        span = openlit_span(0.0042, model="acme-internal-13b")
        proc = processor(app_cost=mode)

        assert priced(span, proc) == {M.TOTAL_COST: 0.0042}
        assert span.tags == {}  # it has a cost: not an unpriced span
        assert results(proc) == {"app_cost": 1.0}
        assert proc.metrics()["cost_unpriced_spans"][2] == {}


def test_openlits_zero_means_unknown_not_free():
    """OpenLIT writes int 0 when it has no price; intake drops it, so glassbox prices the span."""
    span = openlit_span(0, model="gpt-4.1-mini")
    span_cost = priced(span)

    assert span_cost[M.TOTAL_COST] == usd((21, "0.40"), (9, "1.60"))


def test_an_app_total_that_is_not_a_number_is_ignored():
    span = openlit_span(0.001)
    span.metrics[M.TOTAL_COST] = float("nan")

    assert priced(span)[M.TOTAL_COST] == OURS_NO_CACHE
