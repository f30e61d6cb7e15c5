"""Token conventions: what the input and output counts contain depends on the provider and the instrumentation.

The OTel GenAI conventions, OpenAI, OpenLLMetry (which adds Anthropic's cache counts into the input), openai-v2
and the OTel Anthropic instrumentation report input counts that include cached tokens; OpenLIT's Anthropic and
Bedrock spans carry the provider's raw input count, which excludes cache reads and writes. Reasoning tokens are
part of the output. Whatever the convention, every token is billed exactly once."""

from __future__ import annotations

import math

import pytest

from glassbox.processors import model as M
from glassbox.processors.cost.processor import ERROR_TAG
from tests.processors.cost.support import model_span, otlp_span, priced, processor, usd


def anthropic_span(sdk: str | None, provider: str = "anthropic", model: str = "claude-sonnet-4-5-20250929", **usage):
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        **{f"gen_ai.usage.{key}": value for key, value in usage.items()},
    }
    if sdk is not None:
        attributes["telemetry.sdk.name"] = sdk  # OpenLIT writes it on every span
    return otlp_span(attributes)


SAME_NUMBERS = {"input_tokens": 5000, "output_tokens": 400, "cache_read.input_tokens": 3000}


def test_openlit_anthropic_input_excludes_the_cache():
    """OpenLIT reports Anthropic's raw input_tokens (the uncached part): the cache is added, never subtracted."""
    cost = priced(anthropic_span("openlit", **SAME_NUMBERS))

    assert cost[M.INPUT_COST] == usd((5000, "3.00"), (3000, "0.30"))
    assert cost[M.NON_CACHED_INPUT_COST] == usd((5000, "3.00"))
    assert cost[M.CACHE_READ_INPUT_COST] == usd((3000, "0.30"))


def test_openllmetry_anthropic_input_includes_the_cache():
    """The same numbers from OpenLLMetry (input = input + cache read + cache creation) bill 3000 fewer tokens."""
    cost = priced(anthropic_span(None, **SAME_NUMBERS))

    assert cost[M.INPUT_COST] == usd((2000, "3.00"), (3000, "0.30"))
    assert cost[M.NON_CACHED_INPUT_COST] == usd((2000, "3.00"))


def test_openlit_bedrock_input_excludes_the_cache():
    span = anthropic_span(
        "openlit",
        provider="aws.bedrock",
        model="us.anthropic.claude-haiku-4-5-20251001-v1:0",
        input_tokens=1000,
        output_tokens=100,
        **{"cache_read.input_tokens": 400, "cache_creation.input_tokens": 200},
    )

    assert priced(span)[M.INPUT_COST] == usd((1000, "1.10"), (400, "0.11"), (200, "1.375"))


def test_openlit_openai_input_includes_the_cache():
    """OpenAI's prompt_tokens include cached tokens, and OpenLIT passes them through (capture: 21 with 5 cached)."""
    span = anthropic_span("openlit", provider="openai", model="gpt-4o-mini", input_tokens=21, output_tokens=9)
    span.metrics[M.CACHE_READ_TOKENS] = 5

    assert priced(span)[M.INPUT_COST] == usd((16, "0.15"), (5, "0.075"))


def test_an_input_smaller_than_its_cache_can_only_exclude_it():
    """No instrumentation marker, but 1000 input tokens with 3000 cache reads cannot be inclusive."""
    cost = priced(anthropic_span(None, input_tokens=1000, output_tokens=10, **{"cache_read.input_tokens": 3000}))

    assert cost[M.INPUT_COST] == usd((1000, "3.00"), (3000, "0.30"))


def test_exclusive_counts_reach_the_long_context_tier_with_their_cache():
    """150k uncached + 30k read + 30k written = 210k prompt tokens: over Sonnet 4.5's 200k, the whole request
    is billed at the higher tier."""
    span = anthropic_span(
        "openlit",
        input_tokens=150000,
        output_tokens=1000,
        **{"cache_read.input_tokens": 30000, "cache_creation.input_tokens": 30000},
    )

    cost = priced(span)

    assert cost[M.INPUT_COST] == usd((150000, "6.00"), (30000, "0.60"), (30000, "7.50"))
    assert cost[M.OUTPUT_COST] == usd((1000, "22.50"))


def test_the_config_overrides_the_detection_per_provider():
    cost = priced(anthropic_span(None, **SAME_NUMBERS), processor(input_tokens_include_cache={"anthropic": False}))
    assert cost[M.INPUT_COST] == usd((5000, "3.00"), (3000, "0.30"))

    cost = priced(anthropic_span("openlit", **SAME_NUMBERS), processor(input_tokens_include_cache={"Anthropic": True}))
    assert cost[M.INPUT_COST] == usd((2000, "3.00"), (3000, "0.30"))


def test_reasoning_is_part_of_the_output():
    cost = priced(model_span("o3", "openai", input_tokens=100, output_tokens=900, reasoning_output_tokens=800))

    assert cost[M.OUTPUT_COST] == usd((900, "8.00"))
    assert cost[M.REASONING_OUTPUT_COST] == usd((800, "8.00"))
    assert cost[M.TOTAL_COST] == usd((100, "2.00"), (900, "8.00"))


def test_an_output_smaller_than_its_reasoning_can_only_exclude_it():
    """Gemini reports thoughts beside the candidates: 100 candidates + 300 thoughts are 400 billed output tokens."""
    cost = priced(
        model_span("gemini-2.5-flash", "gcp.gemini", input_tokens=10, output_tokens=100, reasoning_output_tokens=300)
    )

    assert cost[M.OUTPUT_COST] == usd((400, "2.50"))
    assert cost[M.REASONING_OUTPUT_COST] == usd((300, "2.50"))


def test_reasoning_outside_the_output_by_config():
    span = model_span(
        "gemini-2.5-flash", "gcp.vertex_ai", input_tokens=10, output_tokens=100, reasoning_output_tokens=50
    )

    cost = priced(span, processor(output_tokens_include_reasoning={"gcp.vertex_ai": False}))

    assert cost[M.OUTPUT_COST] == usd((150, "2.50"))


def test_fractional_and_float_counts_are_billed_exactly():
    cost = priced(model_span("gpt-4o", "openai", input_tokens=1000.0, output_tokens=0.5))

    assert cost == {
        M.INPUT_COST: usd((1000, "2.50")),
        M.NON_CACHED_INPUT_COST: usd((1000, "2.50")),
        M.OUTPUT_COST: usd((0.5, "10")),
        M.TOTAL_COST: usd((1000, "2.50"), (0.5, "10")),
    }


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf, "21"])
def test_a_count_that_cannot_be_billed_leaves_the_span_without_cost_tagged_and_counted(bad):
    span = model_span("gpt-4o", "openai", input_tokens=21, output_tokens=9)
    span.metrics[M.CACHE_READ_TOKENS] = bad
    proc = processor()

    assert priced(span, proc) == {}
    assert span.tags == {ERROR_TAG: "invalid_usage"}
    assert proc.metrics()["cost_spans"][2][(("result", "error"),)] == 1.0
