"""The cost processor in a real relay: real instrumentation captures posted over OTLP/HTTP, the local exporter's
stored Datadog span events read back, the counters scraped from /metrics, and the OTLP copy rendered.

The captures' fake server reported 21 prompt tokens (5 cached) and 9 completion tokens (3 of them reasoning) for
chat calls to gpt-4o-mini (it answers with gpt-4o-mini-2024-08-06, a snapshot OpenAI never released, so the
request model prices it); 4 input tokens for text-embedding-3-small; 2 in / 1 out for gpt-3.5-turbo-instruct;
12 in (2 cached) / 4 out (1 reasoning) for gpt-4.1-mini on the Responses API. What each instrumentation kept of
that is what it is billed on."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from glassbox.processors.wire import traces_request
from tests.conftest import fixture_files, post_otlp, signal_of
from tests.processors.conftest import chat_span, trace_request
from tests.processors.cost.support import COST_KEYS, processor, usd

CHAT = {  # gpt-4o-mini: 16 uncached + 5 cached input tokens, 9 output tokens of which 3 reasoning
    M.INPUT_COST: usd((16, "0.15"), (5, "0.075")),
    M.NON_CACHED_INPUT_COST: usd((16, "0.15")),
    M.CACHE_READ_INPUT_COST: usd((5, "0.075")),
    M.OUTPUT_COST: usd((9, "0.60")),
    M.TOTAL_COST: usd((16, "0.15"), (5, "0.075"), (9, "0.60")),
}
CHAT_REASONING = {**CHAT, M.REASONING_OUTPUT_COST: usd((3, "0.60"))}
CHAT_NO_CACHE = {  # openai-v2 reports no cached count: all 21 input tokens at the input price
    M.INPUT_COST: usd((21, "0.15")),
    M.NON_CACHED_INPUT_COST: usd((21, "0.15")),
    M.OUTPUT_COST: usd((9, "0.60")),
    M.TOTAL_COST: usd((21, "0.15"), (9, "0.60")),
}
EMBED = {M.INPUT_COST: usd((4, "0.02")), M.NON_CACHED_INPUT_COST: usd((4, "0.02")), M.TOTAL_COST: usd((4, "0.02"))}
COMPLETION = {
    M.INPUT_COST: usd((2, "1.50")),
    M.NON_CACHED_INPUT_COST: usd((2, "1.50")),
    M.OUTPUT_COST: usd((1, "2.00")),
    M.TOTAL_COST: usd((2, "1.50"), (1, "2.00")),
}
RESPONSES = {  # gpt-4.1-mini: 10 uncached + 2 cached input, 4 output of which 1 reasoning
    M.INPUT_COST: usd((10, "0.40"), (2, "0.10")),
    M.NON_CACHED_INPUT_COST: usd((10, "0.40")),
    M.CACHE_READ_INPUT_COST: usd((2, "0.10")),
    M.OUTPUT_COST: usd((4, "1.60")),
    M.REASONING_OUTPUT_COST: usd((1, "1.60")),
    M.TOTAL_COST: usd((10, "0.40"), (2, "0.10"), (4, "1.60")),
}
OPENLLMETRY = [  # chat, tools, toolresult: with reasoning; stream: without; streamtools: no usage at all
    ("openai.chat", CHAT_REASONING),
    ("openai.chat", CHAT_REASONING),
    ("openai.chat", CHAT_REASONING),
    ("openai.chat", CHAT),
    ("openai.chat", {}),
    ("openai.embeddings", {**EMBED, M.CACHE_READ_INPUT_COST: 0.0}),  # reports cache_read 0
    ("openai.completion", COMPLETION),
    ("openai.response", RESPONSES),
]


async def run(make_relay: Any, source: str, **cost: Any) -> tuple[Any, list[dict[str, Any]]]:
    relay = await make_relay(processors={"cost": cost}, pipeline={"processors": ["cost"]})
    for path in fixture_files(source):
        status, body, _ = await post_otlp(relay, signal_of(path), path.read_bytes())
        assert status == 200, body
    assert await relay.flush()
    return relay, [row["event"] for row in relay.local_exporter.store.recent(1000)]


def costs(events: list[dict[str, Any]]) -> Counter:
    """(span name, its cost metrics) of every stored span event, as a multiset."""
    return Counter(
        (event["name"], tuple(sorted((k, v) for k, v in event["metrics"].items() if k in COST_KEYS)))
        for event in events
    )


def expected(spans: list[tuple[str, dict[str, float]]]) -> Counter:
    return Counter((name, tuple(sorted(metrics.items()))) for name, metrics in spans)


async def scrape(relay: Any) -> dict[tuple[str, frozenset], float]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{relay.admin_port}/metrics") as resp:
            assert resp.status == 200
            text = await resp.text()
    samples = {}
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if match and match.group(1).startswith("glassbox_cost_"):
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            samples[(match.group(1), labels)] = float(match.group(3))
    return samples


async def test_openllmetry_0_62_bills_cached_and_reasoning_tokens_once(make_relay):
    relay, events = await run(make_relay, "ll_default")

    assert costs(events) == expected(OPENLLMETRY)
    samples = await scrape(relay)
    assert samples[("glassbox_cost_spans_total", frozenset({("result", "priced")}))] == 7
    assert samples[("glassbox_cost_spans_total", frozenset({("result", "no_usage")}))] == 1
    assert samples[("glassbox_cost_spans_total", frozenset({("result", "unpriced_model")}))] == 0


async def test_openllmetry_0_47_old_usage_names_give_the_same_bill(make_relay):
    """gen_ai.usage.prompt_tokens / completion_tokens, gen_ai.usage.cache_read_input_tokens and
    llm.usage.reasoning_tokens."""
    _, events = await run(make_relay, "ll_0.47.5")

    assert costs(events) == expected(OPENLLMETRY)


async def test_openai_v2_reports_no_cache_so_every_input_token_is_billed_at_the_input_price(make_relay):
    _, events = await run(make_relay, "v2_latest_span_only")

    assert costs(events) == expected(
        [("chat gpt-4o-mini", CHAT_NO_CACHE)] * 4
        + [("chat gpt-4o-mini", {}), ("embeddings text-embedding-3-small", EMBED)]
    )


async def test_openlit_keeps_its_own_cost_and_disagreements_are_counted(make_relay):
    """OpenLIT prices chat at 21 × 0.15 + 9 × 0.60 = 8.55e-06 (no cache discount): 4.6% above glassbox's
    8.175e-06, so with app_cost: keep the span shows OpenLIT's total alone. Embeddings agree (8e-08), so they get
    glassbox's breakdown under OpenLIT's total. The Responses span has OpenLIT's int 0 (unknown): glassbox prices it.
    """
    relay, events = await run(make_relay, "openlit_1.45.0")

    assert costs(events) == expected(
        [("chat gpt-4o-mini", {M.TOTAL_COST: usd((21, "0.15"), (9, "0.60"))})] * 5
        + [
            ("embeddings text-embedding-3-small", EMBED),
            ("chat gpt-4.1-mini", {**RESPONSES, M.CACHE_WRITE_INPUT_COST: 0.0}),
        ]
    )
    samples = await scrape(relay)
    assert samples[("glassbox_cost_app_disagreements_total", frozenset({("model", "gpt-4o-mini-2024-08-06")}))] == 5
    assert samples[("glassbox_cost_spans_total", frozenset({("result", "app_cost")}))] == 5
    assert samples[("glassbox_cost_spans_total", frozenset({("result", "priced")}))] == 2


async def test_openlit_with_app_cost_replace_gets_glassboxs_numbers(make_relay):
    _, events = await run(make_relay, "openlit_1.45.0", app_cost="replace")

    chat = {**CHAT, M.CACHE_WRITE_INPUT_COST: 0.0}  # OpenLIT's chat spans carry cache counts but no reasoning
    assert costs(events) == expected(
        [("chat gpt-4o-mini", chat)] * 5
        + [
            ("embeddings text-embedding-3-small", EMBED),
            ("chat gpt-4.1-mini", {**RESPONSES, M.CACHE_WRITE_INPUT_COST: 0.0}),
        ]
    )


async def test_traceloop_entities_get_no_cost_only_the_llm_call_does(make_relay):
    _, events = await run(make_relay, "traceloop_sdk")

    assert costs(events) == expected(
        [
            ("openai.chat", CHAT_REASONING),
            ("get_weather", {}),
            ("summarize.task", {}),
            ("support_flow.workflow", {}),
            ("weather_agent.agent", {}),
        ]
    )


async def test_an_unknown_model_is_tagged_and_counted_on_metrics(make_relay):
    relay = await make_relay(pipeline={"processors": ["cost"]})
    attributes = {"gen_ai.request.model": "acme-llm-7b", "gen_ai.response.model": "acme-llm-7b-0917"}
    body = trace_request([chat_span(1, "hi", "hello", attributes=attributes)]).SerializeToString()

    status, _, _ = await post_otlp(relay, "traces", body)
    assert status == 200
    assert await relay.flush()

    (row,) = relay.local_exporter.store.recent(10)
    assert not COST_KEYS & set(row["event"]["metrics"])
    assert "cost.unpriced_model:acme-llm-7b-0917" in row["event"]["tags"]
    samples = await scrape(relay)
    assert samples[("glassbox_cost_unpriced_spans_total", frozenset({("model", "acme-llm-7b-0917")}))] == 1


async def test_a_pricing_file_in_the_relay_config(make_relay, tmp_path: Path):
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  - {model: gpt-4o-mini, provider: openai, multiplier: 0.5}\n")

    _, events = await run(make_relay, "v2_latest_span_only", pricing_file=str(prices))

    half = {
        M.INPUT_COST: usd((21, "0.075")),  # 0.15 × 0.5
        M.NON_CACHED_INPUT_COST: usd((21, "0.075")),
        M.OUTPUT_COST: usd((9, "0.30")),  # 0.60 × 0.5
        M.TOTAL_COST: usd((21, "0.075"), (9, "0.30")),
    }
    assert costs(events)[("chat gpt-4o-mini", tuple(sorted(half.items())))] == 4


def test_the_otlp_copy_carries_the_cost():
    """What the otlp exporter forwards: the total as gen_ai.usage.cost, the parts as glassbox.metrics.<name>."""
    request = ExportTraceServiceRequest.FromString(fixture_files("ll_default")[0].read_bytes())
    spans = normalize.spans(request)
    processor().process(M.Batch(spans=spans))
    (llm,) = [span for span in spans if span.kind == M.LLM]

    (copy,) = [s for rs in traces_request([llm]).resource_spans for ss in rs.scope_spans for s in ss.spans]
    attributes = {kv.key: kv.value for kv in copy.attributes}

    assert attributes["gen_ai.usage.cost"].double_value == usd((16, "0.15"), (5, "0.075"), (9, "0.60"))
    assert attributes["glassbox.metrics.input_cost"].double_value == usd((16, "0.15"), (5, "0.075"))
    assert attributes["glassbox.metrics.output_cost"].double_value == usd((9, "0.60"))
    assert attributes["glassbox.metrics.cache_read_input_cost"].double_value == usd((5, "0.075"))
    assert attributes["glassbox.metrics.reasoning_output_cost"].double_value == usd((3, "0.60"))
    assert attributes["gen_ai.usage.input_tokens"].int_value == 21  # the app's own attributes stay as they were
