"""Hand-worked prices, provider by provider: each expected number is tokens × the published USD-per-million
price (the research's price table, docs/ of each provider), written out as arithmetic. Spans follow the OTel
GenAI convention unless the test says otherwise: input tokens include cached tokens, output tokens include
reasoning tokens. All spans start on 2026-11-01 (prices are date-effective) unless a test moves them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from glassbox.processors import model as M
from tests.processors.cost.support import MAY_2025, NOV_2026, model_span, otlp_span, priced, usd


@dataclass
class Case:
    id: str
    provider: str | None
    model: str
    tokens: dict[str, float]
    input: list[tuple[int, str]]  # tokens × USD per million tokens
    output: list[tuple[int, str]] | None  # None: no output_cost key (embeddings)
    kind: str = M.LLM
    start_ns: int = NOV_2026
    metadata: dict[str, object] = field(default_factory=dict)


def parts(*priced_tokens: tuple[int, str]) -> list[tuple[int, str]]:
    return list(priced_tokens)


def t(i: int, o: int | None = None, cr: int | None = None, cw: int | None = None, r: int | None = None) -> dict:
    tokens = {M.INPUT_TOKENS: i, M.OUTPUT_TOKENS: o, M.CACHE_READ_TOKENS: cr, M.CACHE_WRITE_TOKENS: cw}
    tokens[M.REASONING_TOKENS] = r
    return {key: value for key, value in tokens.items() if value is not None}


CASES = [
    # --- OpenAI: input includes cached tokens; reasoning is inside output ---------------------------------------
    Case(
        "gpt-4o", "openai", "gpt-4o", t(1000, 500, cr=200), parts((800, "2.50"), (200, "1.25")), parts((500, "10.00"))
    ),
    Case(
        "gpt-4o-2024-08-06 is gpt-4o",
        "openai",
        "gpt-4o-2024-08-06",
        t(1000, 500, cr=200),
        parts((800, "2.50"), (200, "1.25")),
        parts((500, "10.00")),
    ),
    Case(
        "gpt-4o-2024-11-20 is gpt-4o",
        "openai",
        "gpt-4o-2024-11-20",
        t(1000, 500),
        parts((1000, "2.50")),
        parts((500, "10.00")),
    ),
    Case(  # priced as itself, 5/15, and it has no cached-input rate: cached tokens pay the input price
        "gpt-4o-2024-05-13 is not gpt-4o",
        "openai",
        "gpt-4o-2024-05-13",
        t(1000, 500, cr=200),
        parts((1000, "5.00")),
        parts((500, "15.00")),
    ),
    Case(
        "gpt-4o-mini, the fake server's usage",
        "openai",
        "gpt-4o-mini",
        t(21, 9, cr=5, r=3),
        parts((16, "0.15"), (5, "0.075")),
        parts((9, "0.60")),
    ),
    Case(
        "gpt-4.1",
        "openai",
        "gpt-4.1",
        t(10000, 1000, cr=4000),
        parts((6000, "2.00"), (4000, "0.50")),
        parts((1000, "8")),
    ),
    Case("gpt-4.1-mini", "openai", "gpt-4.1-mini", t(10000, 1000), parts((10000, "0.40")), parts((1000, "1.60"))),
    Case(
        "gpt-4.1-nano snapshot",
        "openai",
        "gpt-4.1-nano-2025-04-14",
        t(10000, 1000, cr=2000),
        parts((8000, "0.10"), (2000, "0.025")),
        parts((1000, "0.40")),
    ),
    Case(
        "o1", "openai", "o1", t(2000, 3000, cr=1000, r=2500), parts((1000, "15"), (1000, "7.50")), parts((3000, "60"))
    ),
    Case("o3 since 2025-06-10", "openai", "o3", t(2000, 3000, r=2000), parts((2000, "2.00")), parts((3000, "8.00"))),
    Case(
        "o3 before its price cut",
        "openai",
        "o3",
        t(2000, 3000, r=2000),
        parts((2000, "10.00")),
        parts((3000, "40.00")),
        start_ns=MAY_2025,
    ),
    Case(
        "o3-mini snapshot",
        "openai",
        "o3-mini-2025-01-31",
        t(2000, 1000, cr=1000),
        parts((1000, "1.10"), (1000, "0.55")),
        parts((1000, "4.40")),
    ),
    Case(
        "o4-mini",
        "openai",
        "o4-mini",
        t(2000, 1000, cr=1000),
        parts((1000, "1.10"), (1000, "0.275")),
        parts((1000, "4.4")),
    ),
    Case(
        "gpt-5 snapshot",
        "openai",
        "gpt-5-2025-08-07",
        t(100000, 2000, cr=50000, r=1500),
        parts((50000, "1.25"), (50000, "0.125")),
        parts((2000, "10.00")),
    ),
    Case(
        "gpt-5-mini",
        "openai",
        "gpt-5-mini",
        t(100000, 2000, cr=50000),
        parts((50000, "0.25"), (50000, "0.025")),
        parts((2000, "2.00")),
    ),
    Case(
        "gpt-5-nano",
        "openai",
        "gpt-5-nano",
        t(100000, 2000, cr=50000),
        parts((50000, "0.05"), (50000, "0.005")),
        parts((2000, "0.40")),
    ),
    Case(
        "text-embedding-3-small", "openai", "text-embedding-3-small", t(1000), parts((1000, "0.02")), None, M.EMBEDDING
    ),
    Case(
        "text-embedding-3-large", "openai", "text-embedding-3-large", t(1000), parts((1000, "0.13")), None, M.EMBEDDING
    ),
    Case(
        "text-embedding-ada-002", "openai", "text-embedding-ada-002", t(1000), parts((1000, "0.10")), None, M.EMBEDDING
    ),
    Case(
        "legacy completions",
        "openai",
        "gpt-3.5-turbo-instruct",
        t(2, 1),
        parts((2, "1.50")),
        parts((1, "2.00")),
    ),
    # --- Anthropic, as OpenLLMetry and the OTel instrumentation report it: input includes cache reads/writes ---
    Case(
        "Claude Sonnet 4.5",
        "anthropic",
        "claude-sonnet-4-5-20250929",
        t(10000, 500, cr=6000, cw=2000),
        parts((2000, "3.00"), (6000, "0.30"), (2000, "3.75")),
        parts((500, "15.00")),
    ),
    Case(
        "Claude Sonnet 4",
        "anthropic",
        "claude-sonnet-4-20250514",
        t(10000, 500, cr=6000, cw=2000),
        parts((2000, "3.00"), (6000, "0.30"), (2000, "3.75")),
        parts((500, "15.00")),
    ),
    Case(
        "Claude Opus 4.1",
        "anthropic",
        "claude-opus-4-1-20250805",
        t(10000, 500, cr=6000, cw=2000),
        parts((2000, "15.00"), (6000, "1.50"), (2000, "18.75")),
        parts((500, "75.00")),
    ),
    Case(
        "Claude Opus 4.5",
        "anthropic",
        "claude-opus-4-5-20251101",
        t(10000, 500, cr=6000, cw=2000),
        parts((2000, "5.00"), (6000, "0.50"), (2000, "6.25")),
        parts((500, "25.00")),
    ),
    Case(
        "Claude Haiku 4.5",
        "anthropic",
        "claude-haiku-4-5-20251001",
        t(10000, 500, cr=6000, cw=2000),
        parts((2000, "1.00"), (6000, "0.10"), (2000, "1.25")),
        parts((500, "5.00")),
    ),
    Case(
        "Claude 3.7 Sonnet",
        "anthropic",
        "claude-3-7-sonnet-20250219",
        t(10000, 500, cr=6000, cw=2000),
        parts((2000, "3.00"), (6000, "0.30"), (2000, "3.75")),
        parts((500, "15.00")),
    ),
    Case(
        "Claude 3.5 Haiku",
        "anthropic",
        "claude-3-5-haiku-20241022",
        t(10000, 500, cr=6000, cw=2000),
        parts((2000, "0.80"), (6000, "0.08"), (2000, "1.00")),
        parts((500, "4.00")),
    ),
    Case(
        "Claude 3 Haiku",
        "anthropic",
        "claude-3-haiku-20240307",
        t(10000, 500, cr=6000, cw=2000),
        parts((2000, "0.25"), (6000, "0.03"), (2000, "0.30")),
        parts((500, "1.25")),
    ),
    # --- Google Gemini: promptTokenCount includes cached content -----------------------------------------------
    Case(
        "Gemini 2.5 Pro",
        "gcp.gemini",
        "gemini-2.5-pro",
        t(100000, 2000, cr=40000, r=1500),
        parts((60000, "1.25"), (40000, "0.125")),
        parts((2000, "10.00")),
    ),
    Case(
        "Gemini 2.5 Flash",
        "gcp.gemini",
        "gemini-2.5-flash",
        t(10000, 2000, cr=4000),
        parts((6000, "0.30"), (4000, "0.03")),
        parts((2000, "2.50")),
    ),
    Case(
        "Gemini 2.5 Flash-Lite",
        "gcp.gemini",
        "gemini-2.5-flash-lite",
        t(10000, 2000, cr=4000),
        parts((6000, "0.10"), (4000, "0.01")),
        parts((2000, "0.40")),
    ),
    Case(
        "Gemini 2.0 Flash snapshot",
        "gcp.gemini",
        "gemini-2.0-flash-001",
        t(10000, 2000, cr=4000),
        parts((6000, "0.10"), (4000, "0.025")),
        parts((2000, "0.40")),
    ),
    Case(
        "gemini-embedding-001", "gcp.gemini", "gemini-embedding-001", t(1000), parts((1000, "0.15")), None, M.EMBEDDING
    ),
    # --- Mistral ---------------------------------------------------------------------------------------------------
    Case(
        "Mistral Large 24.11",
        "mistral_ai",
        "mistral-large-2411",
        t(10000, 2000),
        parts((10000, "2")),
        parts((2000, "6")),
    ),
    Case(
        "Codestral 25.01", "mistral_ai", "codestral-2501", t(10000, 2000), parts((10000, "0.3")), parts((2000, "0.9"))
    ),
    Case("mistral-embed", "mistral_ai", "mistral-embed", t(1000), parts((1000, "0.10")), None, M.EMBEDDING),
    # --- long context: the whole request moves to the higher tier once the prompt, cached tokens included,
    # --- passes the threshold (strictly greater)
    Case(
        "Gemini 2.5 Pro over 200k: 150k + 60k cached = 210k",
        "gcp.gemini",
        "gemini-2.5-pro",
        t(210000, 1000, cr=60000),
        parts((150000, "2.50"), (60000, "0.25")),
        parts((1000, "15.00")),
    ),
    Case(
        "Gemini 2.5 Pro at exactly 200k stays in the base tier",
        "gcp.gemini",
        "gemini-2.5-pro",
        t(200000, 1000, cr=60000),
        parts((140000, "1.25"), (60000, "0.125")),
        parts((1000, "10.00")),
    ),
    Case(
        "Sonnet 4.5 over 200k: input, cache and output all move",
        "anthropic",
        "claude-sonnet-4-5-20250929",
        t(250000, 1000, cr=80000, cw=20000),
        parts((150000, "6.00"), (80000, "0.60"), (20000, "7.50")),
        parts((1000, "22.50")),
    ),
    Case(
        "GPT-5.4 over 272k",
        "openai",
        "gpt-5.4",
        t(300000, 1000, cr=100000),
        parts((200000, "5.00"), (100000, "0.50")),
        parts((1000, "22.50")),
    ),
    # --- batch and service tiers: only when the span says so --------------------------------------------------
    Case(
        "gpt-5 batch (metadata batch: true)",
        "openai",
        "gpt-5",
        t(100000, 2000, cr=50000),
        parts((50000, "0.625"), (50000, "0.0625")),
        parts((2000, "5.00")),
        metadata={"batch": True},
    ),
    Case(
        "gpt-5 flex (request service_tier)",
        "openai",
        "gpt-5",
        t(100000, 2000, cr=50000),
        parts((50000, "0.625"), (50000, "0.0625")),
        parts((2000, "5.00")),
        metadata={"service_tier": "flex"},
    ),
    Case(
        "gpt-5 default tier is standard",
        "openai",
        "gpt-5",
        t(100000, 2000, cr=50000),
        parts((50000, "1.25"), (50000, "0.125")),
        parts((2000, "10.00")),
        metadata={"service_tier": "default"},
    ),
    Case(
        "Haiku 4.5 batch (metadata processing: batch): cache multipliers stack with the discount",
        "anthropic",
        "claude-haiku-4-5-20251001",
        t(10000, 500, cr=6000, cw=2000),
        parts((2000, "0.50"), (6000, "0.05"), (2000, "0.625")),
        parts((500, "2.50")),
        metadata={"processing": "batch"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hand_worked_price(case: Case):
    span = model_span(case.model, case.provider, kind=case.kind, start_ns=case.start_ns, metadata=case.metadata)
    span.metrics.update(case.tokens)

    cost = priced(span)

    assert cost[M.INPUT_COST] == usd(*case.input)
    if case.output is None:
        assert M.OUTPUT_COST not in cost
        assert cost[M.TOTAL_COST] == usd(*case.input)
    else:
        assert cost[M.OUTPUT_COST] == usd(*case.output)
        assert cost[M.TOTAL_COST] == usd(*case.input, *case.output)
    assert M.TOTAL_COST in span.enriched_metrics  # set through the enrichment API: the OTLP copy gets it too


def test_breakdown_of_a_cached_reasoning_call():
    """Cache reads, cache writes and reasoning are reported as parts; reasoning is part of output, not extra."""
    span = model_span("claude-sonnet-4-5-20250929", "anthropic", **t(10000, 500, cr=6000, cw=2000, r=200))

    cost = priced(span)

    assert cost == {
        M.NON_CACHED_INPUT_COST: usd((2000, "3.00")),
        M.CACHE_READ_INPUT_COST: usd((6000, "0.30")),
        M.CACHE_WRITE_INPUT_COST: usd((2000, "3.75")),
        M.INPUT_COST: usd((2000, "3.00"), (6000, "0.30"), (2000, "3.75")),
        M.REASONING_OUTPUT_COST: usd((200, "15.00")),
        M.OUTPUT_COST: usd((500, "15.00")),  # 500 output tokens, 200 of them reasoning: billed once
        M.TOTAL_COST: usd((2000, "3.00"), (6000, "0.30"), (2000, "3.75"), (500, "15.00")),
    }


def test_breakdown_keys_follow_the_reported_token_counts():
    span = model_span("gpt-4o", "openai", **t(1000, 500))

    assert set(priced(span)) == {M.INPUT_COST, M.NON_CACHED_INPUT_COST, M.OUTPUT_COST, M.TOTAL_COST}


def test_an_embedding_span_without_output_has_no_output_cost():
    span = model_span("text-embedding-3-small", "openai", kind=M.EMBEDDING, **t(4))

    assert priced(span) == {
        M.INPUT_COST: usd((4, "0.02")),
        M.NON_CACHED_INPUT_COST: usd((4, "0.02")),
        M.TOTAL_COST: usd((4, "0.02")),
    }


def test_other_kinds_are_never_priced_even_with_tokens_and_a_cost():
    """Datadog sums span costs into trace totals itself: a workflow or agent total would be counted twice."""
    for kind in (M.WORKFLOW, M.AGENT, M.TASK, M.TOOL, M.RETRIEVAL, None):
        span = model_span("gpt-4o", "openai", kind=kind, **t(1000, 500))
        span.metrics[M.TOTAL_COST] = 0.5

        priced(span)

        assert {k: v for k, v in span.metrics.items() if k.endswith("_cost")} == {M.TOTAL_COST: 0.5}
        assert not span.enriched_metrics and not span.tags


def response_tier_span(tier: str, request_tier: str = "auto") -> M.Span:
    return otlp_span(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-5",
            "gen_ai.openai.request.service_tier": request_tier,
            "openai.response.service_tier": tier,  # what was billed, as openai-v2 and OpenLIT report it
            "gen_ai.usage.input_tokens": 100000,
            "gen_ai.usage.output_tokens": 2000,
            "gen_ai.usage.cache_read.input_tokens": 50000,
        }
    )


def test_the_billed_service_tier_of_the_response_wins_over_the_requested_one():
    cost = priced(response_tier_span("priority"))

    assert cost[M.INPUT_COST] == usd((50000, "2.50"), (50000, "0.25"))
    assert cost[M.OUTPUT_COST] == usd((2000, "20.00"))


def test_a_default_response_tier_is_standard_even_if_flex_was_requested():
    cost = priced(response_tier_span("default", request_tier="flex"))

    assert cost[M.INPUT_COST] == usd((50000, "1.25"), (50000, "0.125"))


def test_a_batch_service_tier_is_the_batch_price():
    cost = priced(response_tier_span("batch"))

    assert cost[M.INPUT_COST] == usd((50000, "0.625"), (50000, "0.0625"))
    assert cost[M.OUTPUT_COST] == usd((2000, "5.00"))


def test_a_free_model_costs_zero_and_a_model_priced_in_other_units_is_unpriced():
    """genai-prices lists OpenAI moderation as free: $0 is its price, not a guess. tts-1 is priced per character,
    which a span does not carry: it is left unpriced rather than billed $0."""
    free = model_span("omni-moderation-latest", "openai", input_tokens=100, output_tokens=0)
    per_character = model_span("tts-1", "openai", input_tokens=100, output_tokens=0)

    assert priced(free)[M.TOTAL_COST] == 0.0
    assert priced(per_character) == {}
    assert per_character.tags == {"cost.unpriced_model": "tts-1"}
