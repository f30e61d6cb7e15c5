"""Fail closed: an exception, a timeout, an oversized text, a shape the walker cannot read, a worker that will
not stop, a bug — each field it touches gets the marker (or the batch is scrubbed), the span is tagged, the
counters say why, and no raw value reaches what exporters render. Failures are injected through config and
data only (misbehaving recognizers are loaded by ``class_path``); nothing of ours is mocked."""

from __future__ import annotations

import json

import orjson
import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from glassbox.collector.exporters.datadog import format as datadog_format
from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from glassbox.processors import wire
from glassbox.processors.redaction.config import RedactionConfig
from glassbox.processors.redaction.processor import RedactionProcessor
from glassbox.processors.wire import logs_request, traces_request
from tests.processors.conftest import chat_span, log_records, otlp_copy, trace_request

MARKER = "[REDACTION FAILED]"
EXPLODING = {
    "name": "exploding",
    "entity": "TEST_ENTITY",
    "class_path": "tests.processors.recognizers_for_tests:Exploding",
}
STUBBORN = {
    "name": "stubborn",
    "entity": "TEST_ENTITY",
    "class_path": "tests.processors.recognizers_for_tests.Stubborn",
}


def rendered(batch: M.Batch) -> bytes:
    """Every byte exporters would send: Datadog span events and evaluation metrics (what `local` stores too), the
    OTLP traces copy, the log requests (late evaluations too) and the forwarded metric requests."""
    out = [orjson.dumps(datadog_format.span_event(s, ml_app="app")) for s in batch.spans if s.is_genai]
    out += [orjson.dumps(datadog_format.eval_metrics(s, ml_app="app")) for s in batch.spans if s.is_genai]
    out += [
        orjson.dumps(datadog_format.eval_metric(d.trace_id, d.span_id, d.evaluation, ml_app="app"))
        for d in batch.evaluations
    ]
    out.append(wire.evaluation_logs(batch.evaluations).SerializeToString())
    out.append(traces_request(batch.spans).SerializeToString())
    out.append(logs_request(batch.logs).SerializeToString())
    out.extend(wire.metrics_request(m).SerializeToString() for m in batch.metrics)
    return b"\n".join(out)


def assert_no_leak(batch: M.Batch, *values: str) -> None:
    blob = rendered(batch)
    for value in values:
        assert value.encode() not in blob, f"{value!r} was forwarded"


@pytest.fixture
async def processor_factory():
    made: list[RedactionProcessor] = []

    def make(**settings) -> RedactionProcessor:
        processor = RedactionProcessor(RedactionConfig(**settings))
        processor.start()
        made.append(processor)
        return processor

    yield make
    for processor in made:
        processor.shutdown()


@pytest.mark.parametrize("workers", [0, 1])
async def test_a_recognizer_that_raises_fails_that_text_closed(processor_factory, workers):
    processor = processor_factory(workers=workers, custom_recognizers=[EXPLODING])
    spans = normalize.spans(trace_request([chat_span(1, "EXPLODE for ana@example.com", "Mail bob@example.com")]))
    batch = await processor.process(M.Batch(spans=spans))
    span = batch.spans[0]
    assert span.input.messages[0].content == MARKER
    assert span.output.messages[0].content == "Mail <EMAIL_ADDRESS>"  # the other text is unaffected
    assert span.tags["pii.failed_closed"] == "2"  # the model field and the OTLP attribute copy
    assert span.redaction.failed_closed == 2
    assert processor.metrics()["redaction_failed_closed"][2] == {(("reason", "error"),): 2}
    assert_no_leak(batch, "ana@example.com", "bob@example.com", "EXPLODE")


@pytest.mark.parametrize("workers", [0, 1])
async def test_a_timeout_on_a_huge_text_fails_closed(processor_factory, workers):
    processor = processor_factory(workers=workers, text_timeout=0.001, max_text_chars=10_000_000)
    huge = "call 415-555-0137 or mail ana@example.com " * 50_000  # 2 MB
    spans = normalize.spans(trace_request([chat_span(1, huge, "ok")]))
    batch = await processor.process(M.Batch(spans=spans))
    assert batch.spans[0].input.messages[0].content == MARKER
    assert processor.failed_closed.get("timeout", 0) >= 1
    assert_no_leak(batch, "ana@example.com", "415-555-0137")


async def test_a_worker_that_ignores_its_deadline_is_killed_and_replaced(processor_factory):
    processor = processor_factory(workers=1, text_timeout=0.2, custom_recognizers=[STUBBORN])
    spans = normalize.spans(trace_request([chat_span(1, "STALL ana@example.com", "fine")]))
    batch = await processor.process(M.Batch(spans=spans))
    assert batch.spans[0].input.messages[0].content == MARKER
    assert processor.engine.backend.restarts == 1
    again = await processor.process(
        M.Batch(spans=normalize.spans(trace_request([chat_span(2, "hi bob@example.com", "ok")])))
    )
    assert again.spans[0].input.messages[0].content == "hi <EMAIL_ADDRESS>"  # the restarted worker answers
    assert_no_leak(batch, "ana@example.com")


async def test_texts_over_the_size_limit_fail_closed_without_analysis(processor_factory):
    processor = processor_factory(workers=0, max_text_chars=100)
    spans = normalize.spans(trace_request([chat_span(1, "x" * 90 + " ana@example.com", "short")]))
    batch = await processor.process(M.Batch(spans=spans))
    assert batch.spans[0].input.messages[0].content == MARKER
    assert batch.spans[0].output.messages[0].content == "short"
    assert processor.failed_closed["too_large"] == 2  # the model field and its OTLP copy (one analysis)


async def test_anyvalue_shapes_the_walker_cannot_read_fail_closed(processor_factory):
    processor = processor_factory(workers=0)
    request = trace_request(
        [
            {
                "span_id": 7,
                "name": "GET /x",
                "attributes": {
                    "app.blob": b"\xff\xfe ana@example.com \xc3",  # not UTF-8: cannot be analysed
                    "app.note": "bob@example.com",
                },
            }
        ]
    )
    attributes = request.resource_spans[0].scope_spans[0].spans[0].attributes
    future = attributes.add()
    future.key = "app.future"
    future.value.MergeFromString(b"\x48\x05" + b"\x52\x0fana@example.com")  # fields 9, 10: unknown to this proto
    strindex = attributes.add()
    strindex.key = "app.strindex"
    strindex.value.string_value_strindex = 3  # a string-table index: no table to resolve it with
    deep = attributes.add()
    deep.key = "app.deep"
    node = deep.value
    for _ in range(40):
        node = node.array_value.values.add()
    node.string_value = "carol@example.com"
    batch = await processor.process(M.Batch(spans=normalize.spans(request)))
    values = {kv.key: kv.value for kv in otlp_copy(batch.spans[0]).attributes}
    for key in ("app.blob", "app.future", "app.strindex"):
        assert values[key] == AnyValue(string_value=MARKER), key
    assert values["app.note"].string_value == "<EMAIL_ADDRESS>"
    assert MARKER.encode() in values["app.deep"].SerializeToString()
    assert processor.failed_closed["unknown_shape"] == 4
    assert batch.spans[0].tags["pii.failed_closed"] == "4"
    assert_no_leak(batch, "ana@example.com", "bob@example.com", "carol@example.com")


async def test_model_values_of_unexpected_types_fail_closed(processor_factory):
    processor = processor_factory(workers=0)
    span = normalize.spans(trace_request([chat_span(1, "hello", "ok")]))[0]
    span.metadata = {
        "customer": object(),
        "raw": b"ana@example.com",
        "blob": b"\xff ana@example.com",
        "ok": "bob@example.com",
        "n": 3,
    }
    span.input.messages[0].tool_calls.append(M.ToolCall(name="lookup", arguments=12345678901234))  # not JSON
    batch = await processor.process(M.Batch(spans=[span]))
    out = batch.spans[0]
    # bytes are analysed as UTF-8 (and stay bytes); bytes that are not UTF-8 cannot be, so they fail closed
    assert out.metadata == {
        "customer": MARKER,
        "raw": b"<EMAIL_ADDRESS>",
        "blob": MARKER,
        "ok": "<EMAIL_ADDRESS>",
        "n": 3,
    }
    assert out.input.messages[0].tool_calls[0].arguments == MARKER
    assert out.redaction.failed_closed == 3


async def test_an_unexpected_error_scrubs_the_whole_batch(processor_factory):
    processor = processor_factory(workers=0)
    spans = normalize.spans(
        trace_request(
            [
                chat_span(
                    1,
                    "ana@example.com",
                    "ok",
                    events=[("exception", {"exception.message": "dave@example.com"})],
                    status=(2, "failed for erin@example.com"),
                ),
                {"span_id": 2, "name": "GET", "attributes": {"http.url": "https://x.io/?u=bob@example.com"}},
            ]
        )
    )
    spans[0].input = None  # a model bug upstream: not an IO
    logs = log_records(
        [
            {
                "span_id": 1,
                "event_name": "gen_ai.user.message",
                "body": {"content": "carol@example.com"},
                "attributes": {"note": "frank@example.com"},
            }
        ]
    )
    batch = await processor.process(M.Batch(spans=spans, logs=logs))
    assert processor.scrubbed_batches == 1
    assert len(batch.spans) == 2 and all(s.tags["pii.failed_closed"] == "1" for s in batch.spans)
    assert all(s.tags["glassbox.scrubbed"] == "redaction_error" for s in batch.spans)
    assert batch.spans[0].input.value == MARKER
    assert batch.logs[0].body == MARKER and not batch.logs[0].attributes
    assert_no_leak(batch, *(f"{n}@example.com" for n in ("ana", "bob", "carol", "dave", "erin", "frank")))


def test_json_in_strings_keeps_structure_and_is_parsed_only_when_valid():
    from glassbox.processors.redaction.walk import Collector, Summary

    collector = Collector(RedactionConfig(workers=0))
    holder = {"a": json.dumps({"to": "ana@example.com", "n": [1, "x"]}), "b": "{not json"}
    collector._value(holder, "a", "metadata", Summary(), 0)
    collector._value(holder, "b", "metadata", Summary(), 0)
    # values and keys (a key can carry PII too); the keys "to" and "n" are not glassbox vocabulary
    assert [s.text for s in collector.slots] == ["ana@example.com", "to", "x", "n", "{not json"]
