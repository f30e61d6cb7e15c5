"""``processors.wire``: the one owner of the OTLP copy. What processors set through the model reaches the copy
the ``otlp`` exporter forwards, what they did not touch leaves exactly as it came, and nothing the model does
not hold (a duplicate key, an unknown field) is ever forwarded."""

from __future__ import annotations

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from glassbox.processors import semconv as S
from glassbox.processors import wire
from tests.processors.conftest import chat_span, log_request, otlp_copy, trace_request


def attributes(span) -> dict:
    return {kv.key: wire.value(kv.value) for kv in span.attributes}


def test_an_untouched_span_is_forwarded_byte_for_byte():
    request = trace_request([chat_span(1, "hello", "hi", events=[("exception", {"exception.message": "x"})])])
    original = request.resource_spans[0].scope_spans[0].spans[0].SerializeToString()
    resource = request.resource_spans[0].resource.SerializeToString()

    rendered = wire.traces_request(normalize.spans(request))

    assert rendered.resource_spans[0].scope_spans[0].spans[0].SerializeToString() == original
    assert rendered.resource_spans[0].resource.SerializeToString() == resource


def test_enrichment_reaches_the_otlp_copy_and_reads_back_the_same():
    span = normalize.spans(trace_request([chat_span(1, "hello", "hi")]))[0]
    span.set_metric(M.TOTAL_COST, 0.0042)
    span.set_metric(M.INPUT_COST, 0.001)
    span.set_tag("feature", "returns")
    span.set_tag("pii.type", ["email_address", "phone_number"])
    span.set_prompt(M.Prompt(id="support-v", name="support", version="7"))
    span.add_evaluation(
        M.Evaluation(
            label="faithful",
            metric_type="score",
            value=0.5,
            assessment="fail",
            reasoning="made up a date",
            timestamp_ms=1_700_000_000_123,
        )
    )

    copy = otlp_copy(span)
    attrs = attributes(copy)

    assert attrs[S.COST[0]] == 0.0042 and attrs["glassbox.metrics.input_cost"] == 0.001
    assert attrs["feature"] == "returns" and attrs["pii.type"] == ["email_address", "phone_number"]
    assert (attrs["gen_ai.prompt.name"], attrs["gen_ai.prompt.version"], attrs["gen_ai.prompt.id"]) == (
        "support",
        "7",
        "support-v",
    )
    [event] = [e for e in copy.events if e.name == S.EVENT_EVALUATION]
    assert attributes(event) == {
        S.EVALUATION_NAME: "faithful",
        S.EVALUATION_SCORE: 0.5,
        S.EVALUATION_LABEL: "fail",
        S.EVALUATION_EXPLANATION: "made up a date",
    }
    assert event.time_unix_nano == 1_700_000_000_123_000_000
    # what a relay downstream (or Datadog's OTLP intake) reads from that copy is what this relay had
    again = normalize.spans(wire.traces_request([span]))[0]
    assert again.metrics[M.TOTAL_COST] == 0.0042
    assert (again.prompt.name, again.prompt.version) == ("support", "7")
    assert [(e.label, e.value, e.assessment) for e in again.evaluations] == [("faithful", 0.5, "fail")]


def test_rendering_twice_changes_nothing():
    span = normalize.spans(trace_request([chat_span(1, "hello", "hi")]))[0]
    span.add_evaluation(M.Evaluation(label="ok", metric_type="boolean", value=True))
    span.set_tag("feature", "x")
    first = wire.traces_request([span]).SerializeToString()

    assert wire.traces_request([span]).SerializeToString() == first
    assert len([e for e in otlp_copy(span).events if e.name == S.EVENT_EVALUATION]) == 1


def test_a_dropped_tag_leaves_the_copy():
    span = normalize.spans(trace_request([chat_span(1, "hello", "hi", attributes={"pii.type": "email_address"})]))[0]
    span.drop_tag("pii.type")

    assert "pii.type" not in attributes(otlp_copy(span))


def test_a_duplicate_key_the_model_cannot_hold_is_never_forwarded():
    """OTLP allows the same key twice; the model keeps the last (as the SDKs do). Forwarding the source as it
    came would send the first value, which nothing redacted."""
    request = trace_request([{"span_id": 3, "name": "GET", "attributes": {"user.email": "ana@example.com"}}])
    span_pb = request.resource_spans[0].scope_spans[0].spans[0]
    duplicate = span_pb.attributes.add()
    duplicate.key, duplicate.value.string_value = "user.email", "<EMAIL_ADDRESS>"

    copy = otlp_copy(normalize.spans(request)[0])

    assert [(kv.key, kv.value.string_value) for kv in copy.attributes] == [("user.email", "<EMAIL_ADDRESS>")]


def test_changed_values_are_written_and_the_rest_kept_in_place():
    request = trace_request(
        [
            chat_span(
                1,
                "hello",
                "hi",
                events=[("exception", {"exception.message": "boom", "exception.type": "E"})],
                status=(2, "failed for ana@example.com"),
            )
        ]
    )
    span_pb = request.resource_spans[0].scope_spans[0].spans[0]
    link = span_pb.links.add()
    link.trace_id, link.span_id = b"\x01" * 16, b"\x02" * 8
    link.attributes.add(key="why", value=AnyValue(string_value="ana@example.com"))
    event_time = span_pb.events[0].time_unix_nano = 1_700_000_000_000_000_001
    span = normalize.spans(request)[0]
    assert span.wire is not None
    span.wire.attributes["gen_ai.request.model"] = "gpt-4o-mini-redacted"
    span.wire.events[0].attributes["exception.message"] = "<gone>"
    span.wire.links[0].attributes.clear()
    span.wire.status_message = "failed for <EMAIL_ADDRESS>"
    span.wire.events.insert(0, span.wire.events.pop())  # a reordering forces the events to be rebuilt

    copy = otlp_copy(span)

    assert attributes(copy)["gen_ai.request.model"] == "gpt-4o-mini-redacted"
    assert [(e.name, e.time_unix_nano, attributes(e)) for e in copy.events] == [
        ("exception", event_time, {"exception.message": "<gone>", "exception.type": "E"})
    ]
    assert (copy.links[0].trace_id, copy.links[0].span_id, len(copy.links[0].attributes)) == (
        b"\x01" * 16,
        b"\x02" * 8,
        0,
    )
    assert copy.status.message == "failed for <EMAIL_ADDRESS>"


def test_values_of_every_kind_round_trip():
    unknown = AnyValue()
    unknown.MergeFromString(b"\x52\x05hello")  # field 10: a kind this library does not know
    values = {
        "s": "x",
        "i": -(2**63),
        "f": 1.5,
        "b": False,
        "raw": b"\xff\x00",
        "list": [1, "a", [True]],
        "map": {"k": {"n": None}},
    }
    request = trace_request([{"span_id": 5, "name": "x", "attributes": values}])
    request.resource_spans[0].scope_spans[0].spans[0].attributes.add(key="future", value=unknown)

    span = normalize.spans(request)[0]
    assert isinstance(span.wire.attributes["future"], M.Opaque)
    span.wire.attributes["list"] = list(span.wire.attributes["list"])  # a new object: written from the model
    copy = otlp_copy(span)

    assert {k: v for k, v in attributes(copy).items() if k != "future"} == values
    [future] = [kv.value for kv in copy.attributes if kv.key == "future"]
    assert future.SerializeToString() == b""  # fields unknown to this library never leave (nothing could inspect them)


def test_unknown_protobuf_fields_are_not_forwarded():
    request = trace_request([chat_span(1, "hello", "hi")])
    span_pb = request.resource_spans[0].scope_spans[0].spans[0]
    span_pb.MergeFromString(b"\xfa\x3e\x0fana@example.com")  # field 1007: unknown to this library

    assert b"ana@example.com" not in wire.traces_request(normalize.spans(request)).SerializeToString()


def test_log_records_forward_what_the_model_holds():
    request = log_request(
        [
            {
                "span_id": 1,
                "event_name": "gen_ai.user.message",
                "body": {"content": "ana@x.io"},
                "attributes": {"note": "keep", "who": "ana@x.io"},
            },
            {"span_id": 2, "body": "untouched"},
        ]
    )
    untouched = request.resource_logs[0].scope_logs[0].log_records[1].SerializeToString()
    records = wire.read_logs(request)
    records[0].body = {"content": "<EMAIL_ADDRESS>"}
    del records[0].attributes["who"]

    out = wire.logs_request(records).resource_logs[0].scope_logs[0].log_records

    assert wire.value(out[0].body) == {"content": "<EMAIL_ADDRESS>"}
    assert attributes(out[0]) == {"note": "keep"}
    assert out[1].SerializeToString() == untouched
    assert (records[0].trace_id, records[0].span_id, records[0].event_name) == (
        "0af7651916cd43dd8448eb211c80319c",
        "0000000000000001",
        "gen_ai.user.message",
    )


def test_evaluations_made_later_reach_otlp_as_semconv_log_records():
    """An LLM judge's result leaves after its span: OTLP copies get it as a gen_ai.evaluation.result record
    joined by trace and span id. Evaluations that came in log records were forwarded with them already."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    from glassbox.collector.exporters.otlp.config import OtlpExporterConfig
    from glassbox.collector.exporters.otlp.exporter import OtlpExporter

    late = M.DetachedEvaluation(
        "0af7651916cd43dd8448eb211c80319c",
        "00000000000000aa",
        "shop-bot",
        M.Evaluation(
            label="faithful",
            metric_type="score",
            value=0.25,
            assessment="fail",
            reasoning="invented a date",
            timestamp_ms=1_700_000_000_000,
        ),
    )
    forwarded = M.DetachedEvaluation(
        "0af7651916cd43dd8448eb211c80319c",
        "00000000000000bb",
        "shop-bot",
        M.Evaluation(label="app", metric_type="score", value=1.0),
        from_wire=True,
    )
    exporter = OtlpExporter(OtlpExporterConfig(endpoint="http://127.0.0.1:9"))

    [(kind, body)] = exporter.render(M.Batch(evaluations=[late, forwarded]))

    [record] = ExportLogsServiceRequest.FromString(body).resource_logs[0].scope_logs[0].log_records
    assert (kind, record.event_name, record.trace_id.hex(), record.span_id.hex()) == (
        "logs",
        S.EVENT_EVALUATION,
        late.trace_id,
        late.span_id,
    )
    assert attributes(record) == {
        S.EVALUATION_NAME: "faithful",
        S.EVALUATION_SCORE: 0.25,
        S.EVALUATION_LABEL: "fail",
        S.EVALUATION_EXPLANATION: "invented a date",
    }
    again = normalize.log_contents(wire.read_logs(ExportLogsServiceRequest.FromString(body)))[0]
    assert [e.label for e in again[(late.trace_id, late.span_id)].evaluations] == ["faithful"]  # reads back
