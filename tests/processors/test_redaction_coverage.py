"""Every string that leaves is scanned: a value planted in EVERY string field of the OTLP schema (found by walking
the protobuf descriptors, so a field a newer schema adds is planted too), in every key, in every field of the span
model, and in forwarded metric requests, never reaches what exporters render — redacted, or scrubbed when the
batch fails. Plus the write-back rules that make it so: nested JSON (depth 3, escapes), keys, numbers, duplicate
JSON keys."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from glassbox.processors import wire
from glassbox.processors.scrub import scrub_batch, structural
from tests.processors.conftest import TRACE_ID, chat_span, trace_request
from tests.processors.test_redaction_failclosed import rendered

IDS = {"trace_id": TRACE_ID, "span_id": bytes(range(1, 9)), "parent_span_id": b""}


class Planter:
    """Unique e-mail addresses, one per planted field, so a leak names its field."""

    def __init__(self) -> None:
        self.planted: dict[str, str] = {}
        self._n = itertools.count()

    def value(self, where: str) -> str:
        value = f"leak{next(self._n)}.owner@example.com"
        self.planted[value] = where
        return value

    def fill(self, message: Any, path: str, depth: int = 0, choice: int = 0) -> None:
        """Set every string field and id; of a oneof (a metric's gauge | sum | histogram ...), member ``choice``.
        A repeated message field gets one element per member of its type's largest oneof, so every member of
        every oneof is filled somewhere."""
        if message.DESCRIPTOR.full_name == "opentelemetry.proto.common.v1.AnyValue":
            if depth % 2:
                message.bytes_value = self.value(path + ".bytes_value").encode()
            else:
                message.string_value = self.value(path + ".string_value")
            return
        for field in message.DESCRIPTOR.fields:
            oneof = field.containing_oneof
            if oneof is not None and oneof.fields[choice % len(oneof.fields)] is not field:
                continue
            where = f"{path}.{field.name}"
            repeated = wire._is_repeated(field)
            if field.type == field.TYPE_STRING:
                if repeated:
                    getattr(message, field.name).append(self.value(where))
                else:
                    setattr(message, field.name, self.value(where))
            elif field.type == field.TYPE_BYTES and field.name in IDS:
                setattr(message, field.name, IDS[field.name])
            elif field.type == field.TYPE_MESSAGE and depth < 6:
                if repeated:
                    variants = max((len(o.fields) for o in field.message_type.oneofs), default=1)
                    for k in range(variants):
                        self.fill(getattr(message, field.name).add(), where, depth + 1, k)
                else:
                    self.fill(getattr(message, field.name), where, depth + 1)

    def leaks(self, blob: bytes) -> dict[str, str]:
        return {v: w for v, w in self.planted.items() if v.encode() in blob or v.encode().hex().encode() in blob}


def genai_attributes(plant: Planter) -> dict[str, Any]:
    """A chat span whose every GenAI field — model, provider, roles, tool names and ids, prompt identity,
    evaluation label, error type, status description — carries a planted value."""
    p = plant.value
    call = {"type": "tool_call", "id": p("call.id"), "name": p("call.name"), "arguments": {p("arg.key"): p("arg")}}
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": p("provider"),
        "gen_ai.request.model": p("request.model"),
        "gen_ai.response.model": p("response.model"),
        "gen_ai.response.id": p("response.id"),
        "gen_ai.conversation.id": p("conversation.id"),
        "gen_ai.input.messages": json.dumps([{"role": p("role"), "parts": [{"type": "text", "content": "hi"}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [call], "finish_reason": p("finish")}]),
        "gen_ai.prompt.name": p("prompt.name"),
        "gen_ai.prompt.version": p("prompt.version"),
        "gen_ai.prompt.id": p("prompt.id"),
        "error.type": p("error.type"),
        "otel.status_description": p("status_description"),
        "service.name": p("service.name attribute"),
        "user.id": p("user.id"),
        "session.id": p("session.id"),
        p("attribute key"): "x",
        "app.double": 4111111111111111.0,
        "app.json_keys": json.dumps({p("json key"): 1, "n": 4111111111111111.0}),
        "app.duplicate_keys": '{"a": "' + p("duplicate key's first value") + '", "a": "x"}',
    }


async def test_every_string_field_of_the_otlp_schema_and_of_the_model_is_redacted(processor):
    plant = Planter()
    request = ExportTraceServiceRequest()
    plant.fill(request, "traces")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.ClearField("parent_span_id")
    span.start_time_unix_nano, span.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_000_001_000_000
    for key, val in genai_attributes(plant).items():
        kv = span.attributes.add()
        kv.key = key
        wire.set_value(kv.value, val)
    span.events.add(name="exception").attributes.add(key="exception.type").value.string_value = plant.value("exc")
    metrics = ExportMetricsServiceRequest()
    plant.fill(metrics, "metrics")
    batch = M.Batch(spans=normalize.spans(request), metrics=[metrics])
    assert len(batch.spans) == 1 and batch.spans[0].is_genai
    assert len(plant.planted) > 60
    assert plant.leaks(rendered(batch)).keys() == plant.planted.keys()  # control: every planted field goes out

    await processor.process(batch)
    assert plant.leaks(rendered(batch)) == {}
    assert batch.spans[0].tags.get("pii.detected") == "true"
    assert not batch.spans[0].redaction.failed_closed


def test_a_scrubbed_batch_keeps_only_names_no_pattern_can_hide_in():
    plant = Planter()
    request = ExportTraceServiceRequest()
    plant.fill(request, "traces")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.ClearField("parent_span_id")
    attributes = genai_attributes(plant)
    for key in ("gen_ai.request.model", "gen_ai.response.model"):
        del plant.planted[attributes[key]]
        attributes[key] = "gpt-4o-mini"
    for key, val in attributes.items():
        kv = span.attributes.add()
        kv.key = key
        wire.set_value(kv.value, val)
    batch = M.Batch(spans=normalize.spans(request))
    batch.evaluations.append(
        M.DetachedEvaluation(
            "ab" * 16, "cd" * 8, plant.value("detached.service"), M.Evaluation(plant.value("l"), "score", 1)
        )
    )
    assert plant.leaks(rendered(batch)).keys() == plant.planted.keys()  # control: every planted field goes out
    assert scrub_batch(batch, "redaction_error") == 0
    assert plant.leaks(rendered(batch)) == {}
    assert batch.spans[0].model_name == "gpt-4o-mini"  # a name with no room for PII stays


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("gpt-4o-mini", True),
        ("openai", True),
        ("KeyError", True),
        ("1.2.3", True),
        ("chat gpt-4o", True),
        ("https://opentelemetry.io/schemas/1.21.0", True),
        ("ana@example.com", False),
        ("gpt-4o-2024-08-06", False),
        ("call 415-555-0137", False),
        ("DE89370400440532013000", False),
        ("10.0.0.5", False),
        ("fe80::1", False),
        ("a" * 129, False),
        ("émile", False),
        (42, False),
    ],
)
def test_structural_names_are_short_identifiers_with_few_digits(value, kept):
    assert structural(value) is kept


async def test_json_nested_three_deep_with_escapes_is_redacted_at_every_level(processor):
    email = "ana.lopez@example.com"
    level3 = json.dumps({"note": f'she said "write to {email}"\\n', "unicode": "café ☕"})
    level2 = json.dumps({"body": level3, "status": 200})
    level1 = json.dumps({"tool_result": level2})
    reply = [{"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "f", "arguments": level1}]}]
    spec = chat_span(1, "hi", "ok", attributes={"gen_ai.output.messages": json.dumps(reply), "app.result": level1})
    batch = M.Batch(spans=normalize.spans(trace_request([spec])))
    await processor.process(batch)
    assert email.encode() not in rendered(batch)

    attrs = {
        kv.key: kv.value.string_value
        for kv in wire.traces_request(batch.spans).resource_spans[0].scope_spans[0].spans[0].attributes
    }
    inner = json.loads(json.loads(json.loads(attrs["app.result"])["tool_result"])["body"])
    assert inner == {"note": 'she said "write to <EMAIL_ADDRESS>"\\n', "unicode": "café ☕"}  # structure and text kept
    assert "pii.type" in batch.spans[0].tags and "email_address" in batch.spans[0].tags["pii.type"]


async def test_keys_with_pii_are_renamed_after_their_values_and_collisions_keep_both(processor):
    spec = chat_span(
        1,
        "hi",
        "ok",
        attributes={"app.meta": json.dumps({"ana@example.com": "bob@example.com", "carl@example.com": "2"})},
    )
    batch = M.Batch(spans=normalize.spans(trace_request([spec])))
    await processor.process(batch)
    meta = json.loads(batch.spans[0].wire.attributes["app.meta"])
    assert meta == {"<EMAIL_ADDRESS>": "<EMAIL_ADDRESS>", "<EMAIL_ADDRESS> (2)": "2"}
    assert "role" not in processor.rules.clean and "app.meta" in processor.rules.clean  # vocabulary is never scanned
    assert "ana@example.com" not in processor.rules.clean


async def test_numbers_that_are_card_numbers_are_redacted_as_text_and_small_ones_stay_numbers(processor):
    spec = chat_span(1, "hi", "ok", attributes={"app.card": 4111111111111111.0, "app.ratio": 0.5, "app.n": 123456})
    batch = M.Batch(spans=normalize.spans(trace_request([spec])))
    await processor.process(batch)
    attrs = batch.spans[0].wire.attributes
    assert attrs["app.card"] == "<CREDIT_CARD>" and attrs["app.ratio"] == 0.5 and attrs["app.n"] == 123456


async def test_a_duplicate_json_key_cannot_smuggle_its_first_value_out(processor):
    text = '{"a": "ana@example.com", "a": "x", "b": 1}'
    batch = M.Batch(spans=normalize.spans(trace_request([chat_span(1, "hi", "ok", attributes={"app.j": text})])))
    await processor.process(batch)
    assert b"ana@example.com" not in rendered(batch)
    assert json.loads(batch.spans[0].wire.attributes["app.j"]) == {"a": "x", "b": 1}


async def test_a_short_number_is_read_with_its_key_as_context_and_only_the_value_is_rewritten(processor):
    attributes = {
        "app.ssn": 536228741,
        "app.order_id": 536228741,
        "app.customer": json.dumps({"ssn": "536228741", "ticket": "536228741", "note": "hello"}),
    }
    batch = M.Batch(spans=normalize.spans(trace_request([chat_span(1, "hi", "ok", attributes=attributes)])))
    await processor.process(batch)
    attrs = batch.spans[0].wire.attributes
    assert attrs["app.ssn"] == "<US_SSN>"  # "app.ssn: 536228741" — the key is the context word
    assert attrs["app.order_id"] == 536228741  # the same digits under another key stay a number
    assert json.loads(attrs["app.customer"]) == {"ssn": "<US_SSN>", "ticket": "536228741", "note": "hello"}
    assert "us_ssn" in batch.spans[0].tags["pii.type"]


async def test_a_score_that_holds_a_card_number_becomes_a_redacted_label(processor):
    span = normalize.spans(trace_request([chat_span(1, "hi", "ok")]))[0]
    span.add_evaluation(M.Evaluation("lookup", "score", 4111111111111111.0))
    span.add_evaluation(M.Evaluation("quality", "score", 0.75))
    batch = M.Batch(spans=[span])
    await processor.process(batch)
    card, quality = span.evaluations
    assert (card.metric_type, card.value) == ("categorical", "<CREDIT_CARD>")
    assert (quality.metric_type, quality.value) == ("score", 0.75)
    assert b"4111111111111111" not in rendered(batch)
