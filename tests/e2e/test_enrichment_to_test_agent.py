"""End to end with the embedded default chain (redaction → cost → prompts → evals): the demo's support bot (real
openai client, real OpenLLMetry) → relay → Datadog's ``ddapm-test-agent``. Cost, prompt and evaluations are
checked field by field in what the Agent recorded, every body against the JSON Schemas, and the OTLP copies
carry the same cost and prompt."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from glassbox.collector.demo.fake_openai import FakeOpenAI
from glassbox.collector.demo.runner import run_app
from tests.support.schemas import validate_eval_metrics, validate_span_events
from tests.support.testagent import TestAgent

# gpt-4o-mini (the fake server answers as the 2024-07-18 snapshot): USD per million tokens, list price.
GPT_4O_MINI = {"input": Decimal("0.15"), "cached": Decimal("0.075"), "output": Decimal("0.60")}
BUILTINS = {"truncated", "empty_answer", "pii_in_output", "failure_to_answer", "prompt_injection"}


@pytest.fixture(scope="module")
def test_agent():
    with TestAgent() as agent:
        yield agent


@pytest.fixture
async def recorded(test_agent, make_relay):
    test_agent.clear()
    with resources.as_file(resources.files("glassbox.config").joinpath("prompts.example.yaml")) as registry:
        relay = await make_relay(
            {
                "datadog": {"transport": "agent", "agent_url": test_agent.url, "flush_interval": 0.1},
                "otlp": {"endpoint": test_agent.otlp_http_url, "flush_interval": 0.1, "compression": "none"},
            },
            processors={"redaction": {"workers": 0}, "prompts": {"registry": str(registry)}},
            pipeline={"processors": ["redaction", "cost", "prompts", "evals"]},
        )
        async with FakeOpenAI() as fake:
            await run_app(fake.base_url, f"http://127.0.0.1:{relay.http_port}", "openllmetry")
        assert await relay.flush(timeout=30)
    spans = [s for body in test_agent.llmobs_span_payloads() for env in body for s in env["spans"]]
    evals = [m for body in test_agent.eval_metric_payloads() for m in body["data"]["attributes"]["metrics"]]
    return {"agent": test_agent, "spans": spans, "evals": evals}


def llm_spans(spans):
    return [s for s in spans if s["meta"]["span"]["kind"] == "llm"]


async def test_enriched_spans_and_evaluations_reach_the_agent(recorded):
    agent, spans, evals = recorded["agent"], recorded["spans"], recorded["evals"]
    for body in agent.llmobs_span_payloads():
        validate_span_events(body)
    for body in agent.eval_metric_payloads():
        validate_eval_metrics(body)

    llm = llm_spans(spans)
    assert len(llm) == 6
    for span in llm:
        metrics = span["metrics"]
        cached = Decimal(str(metrics.get("cache_read_input_tokens", 0)))
        uncached = Decimal(str(metrics["input_tokens"])) - cached
        expected_input = (uncached * GPT_4O_MINI["input"] + cached * GPT_4O_MINI["cached"]) / 1_000_000
        expected_output = Decimal(str(metrics["output_tokens"])) * GPT_4O_MINI["output"] / 1_000_000
        assert metrics["input_cost"] == pytest.approx(float(expected_input), rel=1e-9)
        assert metrics["output_cost"] == pytest.approx(float(expected_output), rel=1e-9)
        assert metrics["total_cost"] == pytest.approx(float(expected_input + expected_output), rel=1e-9)
        prompt = span["meta"]["input"]["prompt"]
        assert (prompt["id"], prompt["version"], prompt["label"]) == ("nordhaven-support", "2026-03", "production")
        assert prompt["variables"] == {"assistant_name": "Nova"}
        assert prompt["template"].startswith("You are {{assistant_name}}, the customer-support assistant")
        tags = set(span["tags"])
        assert {"prompt_name:nordhaven-support", "prompt_version:2026-03"} <= tags
        assert not any(t.startswith("cost.unpriced_model") for t in tags)
    (embedding,) = [s for s in spans if s["meta"]["span"]["kind"] == "embedding"]
    assert embedding["metrics"]["total_cost"] == pytest.approx(embedding["metrics"]["input_tokens"] * 0.02e-6)
    assert all("total_cost" not in s["metrics"] for s in spans if s["meta"]["span"]["kind"] in ("workflow", "tool"))

    by_span: dict[str, set[str]] = {}
    for metric in evals:
        by_span.setdefault(metric["join_on"]["span"]["span_id"], set()).add(metric["label"])
        assert metric["ml_app"] == "furnish-hub" and metric["join_on"]["span"]["span_id"].isdigit()
    answered = 0
    for span in llm:
        # failure_to_answer reads the answer text; a turn that only calls tools has none, so it has no verdict
        only_tools = not any(m.get("content") for m in span["meta"]["output"].get("messages", []))
        expected = BUILTINS - {"failure_to_answer"} if only_tools else BUILTINS
        answered += not only_tools
        assert expected <= by_span[span["span_id"]], span["span_id"]
        assert not any(t.startswith("eval.failed:") for t in span["tags"])  # the support bot behaves
    assert answered >= 3  # the conversations end in answers, so failure_to_answer did run
    assert "customer_satisfied" in {m["label"] for m in evals}  # the app's own evaluation still goes through


async def test_otlp_copies_carry_the_same_cost_and_prompt(recorded):
    requests = [r for r in recorded["agent"].requests() if r["path"] == "/v1/traces"]
    attributes: list[dict] = []
    for request in requests:
        message = ExportTraceServiceRequest.FromString(request["body"])
        for span in (s for rs in message.resource_spans for ss in rs.scope_spans for s in ss.spans):
            if span.name == "openai.chat":
                attributes.append({kv.key: kv.value for kv in span.attributes})
    assert len(attributes) == 6
    costs = sorted(a["gen_ai.usage.cost"].double_value for a in attributes)
    assert costs == pytest.approx(sorted(s["metrics"]["total_cost"] for s in llm_spans(recorded["spans"])))
    for attrs in attributes:
        assert attrs["gen_ai.prompt.name"].string_value == "nordhaven-support"
        assert attrs["gen_ai.prompt.version"].string_value == "2026-03"
        assert attrs["pii.detected"].string_value == "true"
