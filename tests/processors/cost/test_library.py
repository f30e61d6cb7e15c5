"""genai-prices is the reference: for every model of the providers glassbox's users call, glassbox's per-part
arithmetic (which adds the breakdown Datadog shows and is cached per day) gives genai-prices' own total, with
tiers, date-effective prices, service tiers and batch. And the processor never raises out of ``process``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import Usage
from genai_prices.data_snapshot import get_snapshot

from glassbox.processors import model as M
from glassbox.processors.cost.calc import read_usage, token_cost
from glassbox.processors.cost.catalog import LibraryPrice
from glassbox.processors.cost.processor import ERROR_TAG
from tests.processors.cost.support import MAY_2025, NOV_2026, model_span, processor

PROVIDERS = ("openai", "anthropic", "google", "aws", "azure", "mistral")
CONTEXTS = ((), (("processing", "batch"),), (("service_tier", "flex"),), (("service_tier", "priority"),))
USAGES = [  # (input incl. cache, output incl. reasoning, cache read, cache write, reasoning)
    (1_000, 200, 0, 0, 0),
    (250_000, 3_000, 20_000, 10_000, 1_000),  # over every 200k / 272k long-context threshold
    (21, 9, 5, 0, 3),
]
MODELS = [(p, m) for p in get_snapshot().providers if p.id in PROVIDERS for m in p.models]


@pytest.mark.parametrize("provider, model", MODELS, ids=[f"{p.id}:{m.id}" for p, m in MODELS])
def test_glassbox_arithmetic_equals_genai_prices_total(provider, model):
    price = LibraryPrice(provider, model)
    compared = 0
    for start_ns in (MAY_2025, NOV_2026):
        when = datetime.fromtimestamp(start_ns / 1e9, UTC)
        for context in CONTEXTS:
            sheet = price.sheet(start_ns, context)
            if not sheet.token_priced:
                continue  # priced per audio hour, character, page...: spans cannot carry those
            for inp, out, cache_read, cache_write, reasoning in USAGES:
                metrics = {
                    M.INPUT_TOKENS: inp,
                    M.OUTPUT_TOKENS: out,
                    M.CACHE_READ_TOKENS: cache_read,
                    M.CACHE_WRITE_TOKENS: cache_write,
                    M.REASONING_TOKENS: reasoning,
                }
                usage = read_usage(metrics, cache_in_input=True, reasoning_in_output=True)
                assert usage is not None
                ours = token_cost(sheet, usage)
                reference = model.calc_price(
                    Usage(
                        input_tokens=inp,
                        output_tokens=out,
                        cache_read_tokens=cache_read,
                        cache_write_tokens=cache_write,
                        output_reasoning_tokens=reasoning,
                    ),
                    provider,
                    genai_request_timestamp=when,
                    price_context=dict(context) or None,
                )
                assert ours.total == reference.total_price, (when, context, metrics)
                assert ours.output == reference.output_price
                assert ours.input + ours.output == ours.total
                assert ours.input == ours.non_cached_input + ours.cache_read_input + ours.cache_write_input
                compared += 1
    assert compared or not price.sheet(NOV_2026, ()).token_priced


def test_a_multiplier_scales_every_price_tiers_included():
    (provider, model) = next((p, m) for p, m in MODELS if p.id == "google" and m.id == "gemini-2.5-pro")
    usage = read_usage({M.INPUT_TOKENS: 250_000, M.OUTPUT_TOKENS: 1_000}, True, True)
    assert usage is not None

    full = token_cost(LibraryPrice(provider, model).sheet(NOV_2026, ()), usage)
    discounted = token_cost(LibraryPrice(provider, model, Decimal("0.8")).sheet(NOV_2026, ()), usage)

    assert (
        discounted.total
        == full.total * Decimal("0.8")
        == (250_000 * Decimal("2.50") + 1_000 * Decimal(15)) * Decimal("0.8") / 1_000_000
    )


def test_process_never_raises_a_broken_span_is_tagged_and_counted_and_the_batch_goes_on():
    broken = model_span("gpt-4o", "openai", input_tokens=10, output_tokens=1)
    setattr(broken, "model_name", 42)  # noqa: B010 — what a buggy receiver could hand over
    fine = model_span("gpt-4o", "openai", input_tokens=10, output_tokens=1)
    batch = M.Batch(spans=[broken, fine])
    proc = processor()

    assert proc.process(batch) is batch

    assert broken.tags == {ERROR_TAG: "AttributeError"}
    assert not {k for k in broken.metrics if k.endswith("_cost")}
    assert fine.metrics[M.TOTAL_COST] == float((10 * Decimal("2.50") + 1 * Decimal(10)) / 1_000_000)
    assert proc.metrics()["cost_spans"][2][(("result", "error"),)] == 1.0
    assert proc.metrics()["cost_spans"][2][(("result", "priced"),)] == 1.0
