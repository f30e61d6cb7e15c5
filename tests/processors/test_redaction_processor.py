"""Every place content can hide is redacted — in the span model (what the Datadog exporter renders) and in every
OTLP copy (span attributes/events/status of GenAI and plain spans, resource attributes, log records) — with a
summary on every span and counters for /metrics. The last test runs the relay end to end."""

from __future__ import annotations

import asyncio
import json

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from pydantic import ValidationError

from glassbox.collector.config import ConfigError, parse
from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from glassbox.processors.redaction.config import RedactionConfig
from glassbox.processors.redaction.processor import RedactionProcessor
from tests.processors.conftest import chat_span, log_records, otlp_copy, otlp_resource, trace_request
from tests.processors.test_redaction_failclosed import assert_no_leak
from tests.support.capture_server import CaptureServer

PII = {
    "email": "ana.lopez@example.com",
    "phone": "+1 415-555-0137",
    "card": "4111 1111 1111 1111",
    "ssn": "536-22-8741",
    "iban": "DE89370400440532013000",
    "ip": "203.0.113.42",
}


def everything_batch() -> M.Batch:
    """A GenAI span from OTLP with content in attributes, an exception event and status; a Traceloop entity
    span; a plain HTTP span; log records with content; and model-only fields set the way processors do."""
    request = trace_request(
        [
            chat_span(
                1,
                f"I'm Ana, {PII['email']}, call {PII['phone']}",
                f"Charged card {PII['card']}",
                attributes={"gen_ai.tool.definitions": json.dumps([{"name": "refund", "description": "refund"}])},
                events=[
                    (
                        "exception",
                        {
                            "exception.type": "KeyError",
                            "exception.message": f"no customer {PII['ssn']}",
                            "exception.stacktrace": f"File x.py\nKeyError: {PII['ssn']}",
                        },
                    )
                ],
                status=(2, f"lookup failed for {PII['email']}"),
            ),
            {
                "span_id": 2,
                "parent": 1,
                "name": "refund.tool",
                "attributes": {
                    "traceloop.span.kind": "tool",
                    "traceloop.entity.name": "refund",
                    "traceloop.entity.input": json.dumps({"args": [], "kwargs": {"iban": PII["iban"], "amount": 120}}),
                    "traceloop.entity.output": json.dumps({"ok": True, "ip": PII["ip"]}),
                },
            },
            {
                "span_id": 3,
                "name": "GET /customers",
                "attributes": {
                    "http.request.method": "GET",
                    "url.full": f"https://api.shop.io/customers?email={PII['email']}",
                    "service.name": "shop",
                    "enduser.phone": 4155550137,
                    "app.tags": ["vip", PII["ssn"]],
                },
            },
        ],
        resource={"service.name": "shop-bot", "host.owner": PII["email"]},
    )
    spans = normalize.spans(request)
    llm = spans[0]
    llm.metadata = {"temperature": 0.2, "customer": {"email": PII["email"], "card_number": 4111111111111111}}
    llm.prompt = M.Prompt(
        id="support",
        version="3",
        template="Help {{name}} ({{email}})",
        variables={"email": PII["email"], "name": "Ana"},
    )
    llm.evaluations.append(
        M.Evaluation(label="faithful", metric_type="score", value=0.9, reasoning=f"answer repeats {PII['phone']}")
    )
    llm.input.documents.append(M.Document(text=f"CRM note: IBAN {PII['iban']}", name="crm.txt"))
    llm.input.messages.append(M.Message(role="tool", tool_results=[M.ToolResult(result=f"ip {PII['ip']}")]))
    llm.output.messages.append(
        M.Message(
            role="assistant",
            tool_calls=[
                M.ToolCall(name="refund", arguments={"card": PII["card"], "notify": [PII["email"]], "amount": 12.5})
            ],
        )
    )
    llm.user_id = PII["email"]
    llm.tags["customer"] = PII["email"]
    logs = log_records(
        [
            {
                "span_id": 1,
                "event_name": "gen_ai.client.inference.operation.details",
                "body": "",
                "attributes": {
                    "gen_ai.input.messages": json.dumps(
                        [{"role": "user", "parts": [{"type": "text", "content": f"my card is {PII['card']}"}]}]
                    )
                },
            },
            {"span_id": 99, "body": {"content": f"ssn {PII['ssn']}", "role": "user"}},
        ]
    )
    detached = M.DetachedEvaluation(
        llm.trace_id,
        "00000000000000aa",
        "shop",
        M.Evaluation(label="tone", metric_type="categorical", value="ok", reasoning=f"mentions {PII['iban']}"),
    )
    return M.Batch(spans=spans, logs=logs, evaluations=[detached])


async def test_every_place_content_can_hide_is_redacted(processor):
    batch = await processor.process(everything_batch())
    assert_no_leak(batch, *PII.values(), "4111111111111111", "4155550137")
    llm, tool, http = batch.spans
    assert llm.input.messages[0].content == "I'm Ana, <EMAIL_ADDRESS>, call <PHONE_NUMBER>"
    assert llm.output.messages[-1].tool_calls[0].arguments == {
        "card": "<CREDIT_CARD>",
        "notify": ["<EMAIL_ADDRESS>"],
        "amount": 12.5,
    }  # keys and structure kept
    assert llm.metadata == {
        "temperature": 0.2,
        "customer": {"email": "<EMAIL_ADDRESS>", "card_number": "<CREDIT_CARD>"},
    }
    assert llm.prompt.variables == {"email": "<EMAIL_ADDRESS>", "name": "Ana"}
    assert llm.prompt.template == "Help {{name}} ({{email}})"
    assert llm.evaluations[0].reasoning == "answer repeats <PHONE_NUMBER>"
    assert batch.evaluations[0].evaluation.reasoning == "mentions <IBAN_CODE>"
    assert llm.error.message == "lookup failed for <EMAIL_ADDRESS>" and "<US_SSN>" in (llm.error.stack or "<US_SSN>")
    assert llm.input.documents[0].text == "CRM note: IBAN <IBAN_CODE>"
    assert llm.user_id == "<EMAIL_ADDRESS>" and llm.tags["customer"] == "<EMAIL_ADDRESS>"
    assert json.loads(tool.input.value or "{}") in ({}, {"args": [], "kwargs": {"iban": "<IBAN_CODE>", "amount": 120}})
    otlp_tool = {kv.key: kv.value.string_value for kv in otlp_copy(tool).attributes}
    assert json.loads(otlp_tool["traceloop.entity.input"]) == {
        "args": [],
        "kwargs": {"iban": "<IBAN_CODE>", "amount": 120},
    }
    http_attrs = {kv.key: kv.value for kv in otlp_copy(http).attributes}
    assert http_attrs["service.name"].string_value == "shop"  # excluded key: never scanned
    assert http_attrs["enduser.phone"].string_value == "<PHONE_NUMBER>"  # an int that was a phone number
    assert [v.string_value for v in http_attrs["app.tags"].array_value.values] == ["vip", "<US_SSN>"]
    resource = {kv.key: kv.value.string_value for kv in otlp_resource(llm).attributes}
    assert resource == {"service.name": "shop-bot", "host.owner": "<EMAIL_ADDRESS>"}
    # summaries: on every span, by location, as tags the Datadog exporter renders
    assert llm.tags["pii.detected"] == "true"
    assert set(llm.tags["pii.type"]) >= {
        "email_address",
        "phone_number",
        "credit_card",
        "us_ssn",
        "iban_code",
        "ip_address",
    }
    assert llm.redaction.found["input.messages"] >= {"EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS"}
    assert {
        "span.events",
        "span.status",
        "metadata",
        "prompt",
        "evaluations",
        "input.documents",
        "tags",
        "logs",
        "span.attributes",
        "output.messages",
    } <= set(llm.redaction.found)
    assert http.redaction.found["span.attributes"] >= {"EMAIL_ADDRESS", "US_SSN", "PHONE_NUMBER"}
    assert all(s.redaction.failed_closed == 0 for s in batch.spans)
    metrics = processor.metrics()
    assert metrics["redaction_spans"][2][(("pii", "true"),)] >= 3
    assert metrics["redaction_entities"][2][(("type", "EMAIL_ADDRESS"),)] >= 1
    assert metrics["redaction_cache_entries"][2][()] > 0


async def test_a_clean_span_says_so(processor):
    batch = await processor.process(
        M.Batch(spans=normalize.spans(trace_request([chat_span(5, "Where is my sofa?", "On its way.")])))
    )
    assert batch.spans[0].tags["pii.detected"] == "false" and "pii.type" not in batch.spans[0].tags
    assert batch.spans[0].redaction == M.RedactionSummary(found={}, failed_closed=0)


async def test_attribute_key_patterns_choose_what_plain_spans_scan():
    processor = RedactionProcessor(
        RedactionConfig(workers=0, attributes={"include": ["url.*", "http.*"], "exclude": ["http.route"]})
    )
    processor.start()
    try:
        spans = normalize.spans(
            trace_request(
                [
                    {
                        "span_id": 9,
                        "name": "GET",
                        "attributes": {
                            "url.full": f"https://x.io/?e={PII['email']}",
                            "http.route": f"/u/{PII['email']}",
                            "app.note": PII["email"],
                            "exception.message": PII["email"],
                        },
                    }
                ]
            )
        )
        batch = await processor.process(M.Batch(spans=spans))
        values = {kv.key: kv.value.string_value for kv in otlp_copy(batch.spans[0]).attributes}
        assert PII["email"] not in values["url.full"]
        assert values["http.route"] == f"/u/{PII['email']}"  # excluded
        assert values["app.note"] == PII["email"]  # not included
        assert values["exception.message"] == "<EMAIL_ADDRESS>"  # content keys are always scanned
    finally:
        processor.shutdown()


@pytest.mark.parametrize(
    "document",
    [
        '{"note": "mail EMAIL", "ratio": NaN, "big": 123456789012345678901234567890}',  # only json reads these
        '{"note": "mail EMAIL", "odd": "\\ud800"}',  # an escaped lone surrogate: orjson refuses, json reads
        '{"note": "mail EMAIL", "n": 1.5, "nested": [{"deep": "mail EMAIL"}]}',  # the orjson path
    ],
)
async def test_json_attributes_are_redacted_and_every_other_value_survives_the_round_trip(processor, document):
    raw = document.replace("EMAIL", PII["email"])
    spans = normalize.spans(
        trace_request([{"span_id": 11, "name": "tool", "attributes": {"traceloop.entity.input": raw}}])
    )
    batch = await processor.process(M.Batch(spans=spans))
    written = {kv.key: kv.value.string_value for kv in otlp_copy(batch.spans[0]).attributes}["traceloop.entity.input"]
    assert PII["email"] not in written
    expected = json.loads(raw.replace(PII["email"], "<EMAIL_ADDRESS>"))
    assert json.dumps(json.loads(written), sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_settings_are_validated_with_key_paths():
    with pytest.raises(ValidationError, match="extra"):
        RedactionConfig(entitiez=["EMAIL_ADDRESS"])
    with pytest.raises(ValidationError, match="hash_salt"):
        RedactionConfig(operators={"EMAIL_ADDRESS": {"type": "hash"}})
    with pytest.raises(ValidationError, match="need an NER model"):
        RedactionConfig(entities=["PERSON"])
    with pytest.raises(ValidationError, match="invalid regex"):
        RedactionConfig(custom_recognizers=[{"name": "x", "entity": "X", "patterns": [{"regex": "(["}]}])
    with pytest.raises(ValidationError, match="unknown phone regions"):
        RedactionConfig(phone_regions=["XX"])
    with pytest.raises(ConfigError) as err:
        parse(
            {
                "processors": {"redaction": {"entities": ["email"], "text_timeout": 0}},
                "exporters": {"local": {}},
                "pipeline": {"exporters": ["local"], "processors": ["redaction"]},
            },
            environ={},
        )
    assert any(e.startswith("processors.redaction.entities") for e in err.value.errors)
    assert any(e.startswith("processors.redaction.text_timeout") for e in err.value.errors)
    salted = parse(
        {
            "processors": {"redaction": {"hash_salt": "${env:SALT}", "operators": {"DEFAULT": {"type": "hash"}}}},
            "exporters": {"local": {}},
            "pipeline": {"exporters": ["local"], "processors": ["redaction"]},
        },
        environ={"SALT": "0123456789abcdef-salt"},
    )
    assert "0123456789abcdef" not in repr(salted)  # a secret


async def test_the_relay_forwards_only_redacted_data(make_relay):
    """OTel SDK → relay (redaction in 1 worker process) → Datadog agentless + plain OTLP, both captured."""
    with CaptureServer() as capture:
        relay = await make_relay(
            {
                "datadog": {
                    "transport": "agentless",
                    "api_key": "dd-test-key",
                    "override_origin": capture.url,
                    "ml_app": "shop",
                    "flush_interval": 0.05,
                },
                "otlp": {"endpoint": capture.url, "compression": "none", "flush_interval": 0.05},
            },
            pipeline={"processors": ["redaction"]},
            processors={"redaction": {"workers": 1}},
        )
        provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{relay.http_port}/v1/traces", timeout=30))
        )
        tracer = provider.get_tracer("test")
        with tracer.start_as_current_span("POST /chat") as http:
            http.set_attribute("url.full", f"https://shop.io/chat?u={PII['email']}")
            with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                span.set_attribute("gen_ai.operation.name", "chat")
                span.set_attribute("gen_ai.provider.name", "openai")
                span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                span.set_attribute(
                    "gen_ai.input.messages",
                    json.dumps(
                        [
                            {
                                "role": "user",
                                "parts": [{"type": "text", "content": f"card {PII['card']}, ssn {PII['ssn']}"}],
                            }
                        ]
                    ),
                )
                span.set_attribute(
                    "gen_ai.output.messages",
                    json.dumps(
                        [
                            {
                                "role": "assistant",
                                "parts": [{"type": "text", "content": f"mailing {PII['email']}"}],
                                "finish_reason": "stop",
                            }
                        ]
                    ),
                )
                span.record_exception(ValueError(f"bad phone {PII['phone']}"))
        await asyncio.to_thread(provider.shutdown)  # the SDK exports from its thread; the relay runs here
        assert await relay.flush()
        llmobs = [r for r in capture.requests if r.path == "/api/v2/llmobs"]
        traces = [r for r in capture.requests if r.path == "/v1/traces"]
        assert llmobs and traces
        body = b"".join(r.body for r in llmobs + traces)
        for value in (*PII.values(), "4111111111111111"):
            assert value.encode() not in body, value
        events = [s for r in llmobs for envelope in r.json() for s in envelope["spans"]]
        assert "pii.detected:true" in events[0]["tags"]
        assert "<CREDIT_CARD>" in events[0]["meta"]["input"]["messages"][0]["content"]
        forwarded = ExportTraceServiceRequest.FromString(traces[0].body)
        names = {s.name for rs in forwarded.resource_spans for ss in rs.scope_spans for s in ss.spans}
        assert names == {"POST /chat", "chat gpt-4o-mini"}


async def test_drop_removes_the_field_wherever_it_is():
    processor = RedactionProcessor(RedactionConfig(workers=0, operators={"US_SSN": {"type": "drop"}}))
    processor.start()
    try:
        spans = normalize.spans(
            trace_request(
                [chat_span(1, f"ssn {PII['ssn']}", "noted", attributes={"app.ssn": PII["ssn"], "app.note": "fine"})]
            )
        )
        spans[0].metadata = {"ssn": PII["ssn"], "plan": "gold", "ids": [PII["ssn"], "a-1"]}
        batch = await processor.process(M.Batch(spans=spans))
        span = batch.spans[0]
        assert span.input.messages[0].content == ""
        assert span.metadata == {"plan": "gold", "ids": [None, "a-1"]}
        keys = [kv.key for kv in otlp_copy(span).attributes]
        assert "app.ssn" not in keys and "app.note" in keys
        assert span.tags["pii.type"] == ["us_ssn"]
        assert_no_leak(batch, PII["ssn"])
    finally:
        processor.shutdown()


def test_the_harness_prints_both_systems_and_every_entity(capsys):
    from bench.pii.__main__ import main

    assert main(["--texts", "60", "--runs", "1", "--corpus", "multi_turn", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "stock presidio" in out and "glassbox" in out and "speed-up" in out
    for entity in ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"):
        assert entity in out
