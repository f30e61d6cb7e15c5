"""End to end: real openai client + real instrumentation → relay → Datadog's own APM test agent.

The app is the demo's support assistant (a subprocess: instrumentation is process-global) talking to the fake
OpenAI server; the relay runs in-process with the ``datadog`` exporter in ``agent`` transport pointed at a real
``ddapm-test-agent``, plus the ``otlp`` exporter pointed at the test agent's OTLP port. Every body the test agent
recorded is decoded, checked field by field, and validated against the JSON Schemas in tests/testdata/schemas.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from glassbox.collector.demo.fake_openai import FakeOpenAI
from glassbox.collector.demo.runner import run_app
from tests.support.schemas import validate_eval_metrics, validate_span_events
from tests.support.testagent import EVAL_METRIC_PATH, LLMOBS_SPANS_PATH, TestAgent

SESSIONS = {"sess-1001": "cust-jane-doe", "sess-1002": "cust-omar-h", "sess-1003": "cust-sam-lee"}
# What the demo's customers typed: none of it may reach the Agent, in any payload or OTLP copy.
TYPED_PII = [
    "jane.doe@example.com",
    "415-555-0134",
    "4111 1111 1111 1111",
    "omar.h@example.net",
    "212-555-0199",
    "sam.lee@example.org",
]
SYSTEM_PROMPT_START = "You are Nova, the customer-support assistant of Nordhaven Furniture."


@pytest.fixture(scope="module")
def test_agent():
    with TestAgent() as agent:
        yield agent


_RECORDED: dict[str, dict] = {}


@pytest.fixture(params=["openllmetry", "openai-v2"])
async def recorded(request, test_agent, make_relay):
    """Run the demo app through the relay into the test agent once per instrumentation; return what the test
    agent recorded (plain data, shared by the tests of that instrumentation)."""
    if request.param in _RECORDED:
        return _RECORDED[request.param]
    test_agent.clear()
    relay = await make_relay(
        {
            "datadog": {"transport": "agent", "agent_url": test_agent.url, "flush_interval": 0.1},
            "otlp": {"endpoint": test_agent.otlp_http_url, "flush_interval": 0.1, "compression": "none"},
        },
        processors={"redaction": {"workers": 0}},
        pipeline={"processors": ["redaction"]},
    )
    async with FakeOpenAI() as fake:
        await run_app(fake.base_url, f"http://127.0.0.1:{relay.http_port}", request.param)
    assert await relay.flush(timeout=30)
    requests = test_agent.requests()
    _RECORDED[request.param] = {
        "mode": request.param,
        "requests": requests,
        "spans": [s for body in test_agent.llmobs_span_payloads() for env in body for s in env["spans"]],
        "span_bodies": test_agent.llmobs_span_payloads(),
        "evals": [m for body in test_agent.eval_metric_payloads() for m in body["data"]["attributes"]["metrics"]],
        "eval_bodies": test_agent.eval_metric_payloads(),
    }
    return _RECORDED[request.param]


def by_kind(spans, kind):
    return [s for s in spans if s["meta"]["span"]["kind"] == kind]


def tag_map(span):
    return dict(tag.split(":", 1) for tag in span["tags"])


async def test_every_body_validates_against_the_schemas(recorded):
    assert recorded["span_bodies"] and recorded["eval_bodies"]
    for body in recorded["span_bodies"]:
        validate_span_events(body)
    for body in recorded["eval_bodies"]:
        validate_eval_metrics(body)


async def test_headers_and_paths_are_the_agent_evp_proxy(recorded):
    llmobs = [r for r in recorded["requests"] if r["path"] == LLMOBS_SPANS_PATH]
    evals = [r for r in recorded["requests"] if r["path"] == EVAL_METRIC_PATH]
    assert llmobs and evals
    for request in llmobs:
        assert request["headers"]["x-datadog-evp-subdomain"] == "llmobs-intake"
        assert request["headers"]["content-type"] == "application/json"
        assert "dd-api-key" not in request["headers"]  # the Agent holds the key
    for request in evals:
        assert request["headers"]["x-datadog-evp-subdomain"] == "api"


async def test_span_kinds_and_counts(recorded):
    spans = recorded["spans"]
    assert Counter(s["meta"]["span"]["kind"] for s in spans) == {"llm": 6, "embedding": 1, "tool": 1, "workflow": 3}
    assert len({s["span_id"] for s in spans}) == len(spans), "a span was sent twice"


async def test_llm_spans_field_by_field(recorded):
    llm = by_kind(recorded["spans"], "llm")
    for span in llm:
        meta = span["meta"]
        assert meta["model_name"] == "gpt-4o-mini-2024-07-18"
        assert meta["model_provider"] == "openai"
        if span["session_id"] != "sess-1003":  # the streamed call (sess-1003) sets no temperature
            assert meta["metadata"]["temperature"] == pytest.approx(0.3)
        metrics = span["metrics"]
        assert metrics["input_tokens"] > 0 and metrics["output_tokens"] > 0
        assert metrics["total_tokens"] == metrics["input_tokens"] + metrics["output_tokens"]
        messages = meta["input"]["messages"]
        assert messages[0] == {"role": "system", "content": messages[0]["content"]}
        assert messages[0]["content"].startswith(SYSTEM_PROMPT_START)
        assert messages[-1]["role"] in ("user", "tool")
        assert meta["output"]["messages"][0]["role"] == "assistant"
        assert span["status"] == "ok" and span["duration"] > 0 and span["start_ns"] > 1_600_000_000 * 10**9
    first = next(s for s in llm if "Jane Doe (<EMAIL_ADDRESS>)" in s["meta"]["input"]["messages"][-1]["content"])
    assert first["session_id"] == "sess-1001"
    assert "deliver" in first["meta"]["output"]["messages"][0]["content"].lower()
    streamed = [s for s in llm if s["meta"]["metadata"].get("stream") is True]
    if recorded["mode"] == "openllmetry":  # openai-v2 2.4b0 records no stream flag
        assert len(streamed) == 1 and streamed[0]["session_id"] == "sess-1003"


async def test_multi_turn_history_is_resent(recorded):
    jane = [s for s in by_kind(recorded["spans"], "llm") if s["session_id"] == "sess-1001"]
    assert len(jane) == 2
    shorter, longer = sorted(jane, key=lambda s: len(s["meta"]["input"]["messages"]))
    assert [m["role"] for m in shorter["meta"]["input"]["messages"]] == ["system", "user"]
    roles = [m["role"] for m in longer["meta"]["input"]["messages"]]
    assert roles == ["system", "user", "assistant", "system", "user"]
    assert longer["meta"]["input"]["messages"][2]["content"] == shorter["meta"]["output"]["messages"][0]["content"]


async def test_tool_call_and_tool_result(recorded):
    omar = sorted(
        (s for s in by_kind(recorded["spans"], "llm") if s["session_id"] == "sess-1002"), key=lambda s: s["start_ns"]
    )
    assert len(omar) == 3
    call = omar[0]["meta"]["output"]["messages"][0]["tool_calls"][0]
    assert call["name"] == "lookup_order" and call["arguments"] == {"order_id": "48213"} and call["tool_id"]
    history = omar[1]["meta"]["input"]["messages"]
    assert history[-2]["tool_calls"][0]["tool_id"] == call["tool_id"]
    result = history[-1]["tool_results"][0]
    # JSON content leaves as redaction walked it (compact): the tool's fields are all there
    assert result["tool_id"] == call["tool_id"] and json.loads(result["result"])["status"] == "shipped"
    if recorded["mode"] == "openllmetry":  # openai-v2 2.4b0 does not emit gen_ai.tool.definitions
        assert omar[0]["meta"]["tool_definitions"][0]["name"] == "lookup_order"
    (tool,) = by_kind(recorded["spans"], "tool")
    assert tool["name"] == "lookup_order" and json.loads(tool["meta"]["input"]["value"]) == {"order_id": "48213"}
    assert json.loads(tool["meta"]["output"]["value"])["carrier"] == "NordFreight"
    assert tool["meta"]["metadata"]["tool_id"] == call["tool_id"]


async def test_embedding_span(recorded):
    (embedding,) = by_kind(recorded["spans"], "embedding")
    assert embedding["meta"]["model_name"] == "text-embedding-3-small"
    assert embedding["meta"]["model_provider"] == "openai"
    assert embedding["metrics"]["input_tokens"] > 0
    if recorded["mode"] == "openllmetry":  # openai-v2 sends no embedding content in event mode
        documents = embedding["meta"]["input"]["documents"]
        assert len(documents) == 4 and documents[1]["text"] == "Returns are accepted within 30 days of delivery."
    assert embedding["meta"]["output"]["value"].startswith("[")


async def test_parentage_ids_sessions_and_tags(recorded):
    spans = recorded["spans"]
    workflows = {s["session_id"]: s for s in by_kind(spans, "workflow")}
    assert set(workflows) == set(SESSIONS)
    for session, workflow in workflows.items():
        assert workflow["parent_id"] == "undefined" and workflow["name"] == "support_conversation"
        children = [s for s in spans if s["trace_id"] == workflow["trace_id"] and s is not workflow]
        assert children
        for child in children:
            # The embedding's OTel parent is the plain `faq_search` span: skipped for the nearest GenAI ancestor.
            assert child["parent_id"] == workflow["span_id"], child["name"]
            assert child["session_id"] == session
            assert tag_map(child)["user_id"] == SESSIONS[session]
    for span in spans:
        assert span["span_id"].isdigit() and int(span["span_id"]) < 2**64
        assert len(span["trace_id"]) == 32 and int(span["trace_id"], 16)
        assert span["_dd"]["apm_trace_id"] == span["trace_id"]
        tags = tag_map(span)
        assert tags["ml_app"] == "furnish-hub" and tags["service"] == "furnish-hub"
        assert tags["env"] == "demo" and tags["version"] == "1.0.0" and tags["error"] == "0"


async def test_evaluation_metric(recorded):
    (metric,) = recorded["evals"]
    assert metric["label"] == "customer_satisfied" and metric["metric_type"] == "score"
    assert metric["score_value"] == 1.0 and metric["assessment"] == "pass"
    assert metric["ml_app"] == "furnish-hub" and metric["eval_scope"] == "span"
    assert metric["reasoning"].startswith("The customer confirmed")
    target = metric["join_on"]["span"]
    last_omar = max(
        (s for s in by_kind(recorded["spans"], "llm") if s["session_id"] == "sess-1002"), key=lambda s: s["start_ns"]
    )
    assert (target["span_id"], target["trace_id"]) == (last_omar["span_id"], last_omar["trace_id"])


async def test_otlp_copy_reaches_the_agent_otlp_port(recorded):
    otlp = [r for r in recorded["requests"] if r["path"] == "/v1/traces"]
    assert otlp, "the otlp exporter forwarded nothing"
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    names = Counter()
    for request in otlp:
        message = ExportTraceServiceRequest()
        message.ParseFromString(request["body"])
        for rs in message.resource_spans:
            for ss in rs.scope_spans:
                names.update(span.name for span in ss.spans)
    assert names["support_conversation"] == 3 and names["faq_search"] == 1  # plain spans are forwarded too


async def test_no_typed_pii_reaches_the_agent_anywhere(recorded):
    bodies = [r["body"] for r in recorded["requests"]]
    assert any(r["path"] == "/v1/logs" for r in recorded["requests"]) or recorded["mode"] == "openllmetry"
    for body in bodies:
        for value in TYPED_PII:
            assert value.encode() not in body, f"{value} reached the Agent"
    llm = by_kind(recorded["spans"], "llm")
    assert all("pii.detected:true" in s["tags"] for s in llm)  # every call carries the customer's first message
    assert any("pii.type:credit_card" in s["tags"] for s in llm)
