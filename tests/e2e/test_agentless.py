"""Agentless mode against a local capture server: URLs, headers, payload size limits, oversized events, retries.

Spans come from the real OTel SDK (OTLPSpanExporter over HTTP) into the in-process relay; the capture server
stands in for ``llmobs-intake.<site>`` and ``api.<site>`` through ``override_origin``.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from glassbox.collector.config import parse
from glassbox.collector.exporters.datadog import format as F
from glassbox.collector.exporters.datadog.exporter import DatadogExporter
from tests.support.capture_server import CaptureServer
from tests.support.schemas import validate_eval_metrics, validate_span_events

API_KEY = "dd-test-key-4c1d2e9f"


@pytest.fixture
def capture():
    with CaptureServer() as server:
        yield server


def agentless(capture: CaptureServer, **extra) -> dict:
    return {
        "datadog": {
            "transport": "agentless",
            "api_key": API_KEY,
            "site": "datadoghq.eu",
            "override_origin": capture.url,
            "ml_app": "Shop Bot",
            "flush_interval": 0.05,
            "retry_initial_interval": 0.05,
            **extra,
        }
    }


async def send_llm_spans(relay, contents: list[str], *, evaluation: bool = False) -> None:
    """Create one LLM span per content string with the real OTel SDK and export it to the relay."""
    provider = TracerProvider(resource=Resource.create({"service.name": "agentless-app"}))
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"http://127.0.0.1:{relay.http_port}/v1/traces", timeout=30),
            max_export_batch_size=4,
        )
    )
    tracer = provider.get_tracer("test")
    for content in contents:
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.provider.name", "openai")
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            span.set_attribute("gen_ai.usage.input_tokens", 11)
            span.set_attribute("gen_ai.usage.output_tokens", 2)
            span.set_attribute(
                "gen_ai.input.messages", json.dumps([{"role": "user", "parts": [{"type": "text", "content": content}]}])
            )
            span.set_attribute(
                "gen_ai.output.messages",
                json.dumps(
                    [{"role": "assistant", "parts": [{"type": "text", "content": "ok"}], "finish_reason": "stop"}]
                ),
            )
            if evaluation:
                span.add_event(
                    "gen_ai.evaluation.result",
                    {
                        "gen_ai.evaluation.name": "toxicity",
                        "gen_ai.evaluation.score.label": "pass",
                        "gen_ai.evaluation.score.value": 0.02,
                    },
                )
    await asyncio.to_thread(provider.force_flush)
    await asyncio.to_thread(provider.shutdown)


def span_posts(capture: CaptureServer):
    return [r for r in capture.requests if r.path == "/api/v2/llmobs"]


async def test_agentless_urls_headers_and_bodies(capture, make_relay):
    relay = await make_relay(agentless(capture))
    await send_llm_spans(relay, ["Where is my order?", "Thanks!"], evaluation=True)
    assert await relay.flush()
    posts = span_posts(capture)
    evals = [r for r in capture.requests if r.path == "/api/intake/llm-obs/v2/eval-metric"]
    assert posts and evals
    for request in posts + evals:
        assert request.method == "POST"
        assert request.headers["DD-API-KEY"] == API_KEY
        assert request.headers["Content-Type"] == "application/json"
        assert "Content-Encoding" not in request.headers  # like ddtrace: the intake gets plain JSON
        assert "X-Datadog-EVP-Subdomain" not in request.headers
    spans = []
    for request in posts:
        body = request.json()
        validate_span_events(body)
        spans += [s for envelope in body for s in envelope["spans"]]
    assert sorted(s["meta"]["input"]["messages"][0]["content"] for s in spans) == ["Thanks!", "Where is my order?"]
    assert {s["meta"]["model_name"] for s in spans} == {"gpt-4o-mini"}
    assert all("ml_app:shop_bot" in s["tags"] for s in spans)  # normalized to Datadog's ml_app rules
    metrics = []
    for request in evals:
        validate_eval_metrics(request.json())
        metrics += request.json()["data"]["attributes"]["metrics"]
    assert len(metrics) == 2
    assert {m["join_on"]["span"]["span_id"] for m in metrics} == {s["span_id"] for s in spans}
    assert all(
        m["label"] == "toxicity" and m["score_value"] == pytest.approx(0.02) and m["assessment"] == "pass"
        for m in metrics
    )


def test_agentless_default_urls_follow_the_site():
    config = parse(
        {
            "exporters": {"datadog": {"transport": "agentless", "api_key": API_KEY, "site": "us5.datadoghq.com"}},
            "pipeline": {"exporters": ["datadog"], "send_unredacted": True},  # these tests are about URLs
        },
        environ={},
    )
    exporter = DatadogExporter(config.exporters.datadog)
    assert exporter.span_url == "https://llmobs-intake.us5.datadoghq.com/api/v2/llmobs"
    assert exporter.eval_url == "https://api.us5.datadoghq.com/api/intake/llm-obs/v2/eval-metric"
    env_config = parse(
        {"exporters": {"datadog": {}}, "pipeline": {"exporters": ["datadog"], "send_unredacted": True}},
        environ={"DD_API_KEY": API_KEY, "DD_LLMOBS_OVERRIDE_ORIGIN": "http://127.0.0.1:9"},
    )
    env_exporter = DatadogExporter(env_config.exporters.datadog)
    assert env_exporter.span_url == "http://127.0.0.1:9/api/v2/llmobs"
    assert env_exporter.span_headers["DD-API-KEY"] == API_KEY


async def test_payloads_are_split_under_5_mib(capture, make_relay):
    relay = await make_relay(agentless(capture, batch_max_items=100))
    big = "x" * 1_500_000  # each event ~1.5 MB: at most three fit in one 5 MiB payload
    await send_llm_spans(relay, [f"{i} {big}" for i in range(8)])
    assert await relay.flush(timeout=30)
    posts = span_posts(capture)
    assert len(posts) >= 3
    assert all(len(r.body) <= F.PAYLOAD_SIZE_LIMIT for r in posts)
    got = sorted(
        int(s["meta"]["input"]["messages"][0]["content"].split()[0])
        for r in posts
        for env in r.json()
        for s in env["spans"]
    )
    assert got == list(range(8))


async def test_oversized_event_drops_io_like_ddtrace(capture, make_relay):
    relay = await make_relay(agentless(capture))
    await send_llm_spans(relay, ["y" * 6_000_000])
    assert await relay.flush(timeout=30)
    (post,) = span_posts(capture)
    body = post.json()
    validate_span_events(body)
    (span,) = body[0]["spans"]
    assert span["collection_errors"] == ["dropped_io"]
    assert span["meta"]["input"] == {"value": F.DROPPED_VALUE_TEXT}
    assert span["meta"]["output"] == {"value": F.DROPPED_VALUE_TEXT}
    assert span["metrics"]["input_tokens"] == 11 and span["meta"]["model_name"] == "gpt-4o-mini"


async def test_retryable_then_permanent_failures(capture, make_relay):
    relay = await make_relay(agentless(capture))
    capture.respond_with([(503, {}, b"busy"), (429, {"Retry-After": "0"}, b"")])
    await send_llm_spans(relay, ["first"])
    assert await relay.flush(timeout=30)
    statuses = [r.response_status for r in span_posts(capture)]
    assert statuses == [503, 429, 202]  # retried until accepted, sent exactly once successfully
    assert relay.telemetry.value("exporter_retries", exporter="datadog") == 2

    capture.clear()
    capture.respond_with([(400, {}, b'{"errors":["bad"]}')])
    await send_llm_spans(relay, ["second"])
    assert await relay.flush(timeout=30)
    assert [r.response_status for r in span_posts(capture)] == [400]  # permanent: not retried
    assert relay.telemetry.value("exporter_dead_letters", exporter="datadog", reason="http_400") == 1
    metrics = relay.telemetry.render()
    assert 'glassbox_exporter_dead_letters_total{exporter="datadog",reason="http_400"} 1' in metrics
    assert await relay.store.count_dead_letters() == {"datadog": 1}
    assert API_KEY not in metrics
