"""Exact acknowledgements, end to end: a real relay, its real queue and sender, real exporters posting over real
sockets to a capture server that fails one path and not the other.

The bug these guard against: the sender used to treat an exporter's failure as "the first *n* items were
accepted, the rest were not" (a suffix). Exporters do not send in queue order: the ``datadog`` exporter posts
every span event first and then every evaluation, and the ``otlp`` exporter posts all traces, then all logs,
then all metrics; queue rows interleave (span1, span2, evals1, span3, span4, evals2 / traces1, logs1, traces2,
logs2). With the suffix logic a failure of the second POST acknowledged (deleted) rows of the failed POST that
were never delivered, sent rows of the successful POST a second time, and a permanent failure dead-lettered rows
the destination had already accepted. Each test below states what the suffix logic would have done to it.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from glassbox.collector.delivery import deadletter
from glassbox.collector.exporters.datadog.exporter import EVAL_PATH, SPAN_PATH
from glassbox.collector.exporters.datadog.format import EVAL_ZLIB_KIND, eval_item_metrics
from glassbox.processors.wire import set_value
from tests.conftest import post_otlp
from tests.support.capture_server import CaptureServer

TRACE_ID = bytes.fromhex("5b8efff798038103d269b633813fc60c")
SPAN_IDS = [0x1001, 0x1002, 0x1003]  # one GenAI span (and one evaluation) each
FAST = {"flush_interval": 0.05, "retry_initial_interval": 0.02, "retry_max_interval": 0.05}


# --- OTLP requests, built as SDKs send them ------------------------------------------------------------------


def _attributes(target, values: dict) -> None:
    for key, val in values.items():
        kv = target.add()
        kv.key = key
        set_value(kv.value, val)


def genai_traces(span_ids: list[int], *, evaluation: bool = True) -> bytes:
    """Root chat spans with their content on attributes (nothing waits for logs), each with one evaluation
    event (``gen_ai.evaluation.result``), in one request: the datadog exporter renders span, eval, span, eval…"""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    _attributes(resource_spans.resource.attributes, {"service.name": "acks-app"})
    scope_spans = resource_spans.scope_spans.add()
    for span_id in span_ids:
        span = scope_spans.spans.add()
        span.trace_id = TRACE_ID
        span.span_id = span_id.to_bytes(8, "big")
        span.name = "chat gpt-4o-mini"
        span.start_time_unix_nano = 1_700_000_000_000_000_000
        span.end_time_unix_nano = span.start_time_unix_nano + 1_000_000
        _attributes(
            span.attributes,
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]),
                "gen_ai.output.messages": json.dumps(
                    [{"role": "assistant", "parts": [{"type": "text", "content": "hello"}], "finish_reason": "stop"}]
                ),
            },
        )
        if evaluation:
            event = span.events.add()
            event.name = "gen_ai.evaluation.result"
            event.time_unix_nano = span.end_time_unix_nano
            _attributes(
                event.attributes,
                {"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.5 + span_id % 16 / 100},
            )
    return request.SerializeToString()


def plain_traces(span_ids: list[int]) -> bytes:
    """Spans that are not GenAI: the otlp exporter forwards them, nothing is held for joining."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    _attributes(resource_spans.resource.attributes, {"service.name": "acks-app"})
    scope_spans = resource_spans.scope_spans.add()
    for span_id in span_ids:
        span = scope_spans.spans.add()
        span.trace_id = TRACE_ID
        span.span_id = span_id.to_bytes(8, "big")
        span.name = f"GET /{span_id}"
        span.start_time_unix_nano = 1_700_000_000_000_000_000
        span.end_time_unix_nano = span.start_time_unix_nano + 1_000
    return request.SerializeToString()


def plain_logs(bodies: list[str]) -> bytes:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    _attributes(resource_logs.resource.attributes, {"service.name": "acks-app"})
    scope_logs = resource_logs.scope_logs.add()
    for body in bodies:
        record = scope_logs.log_records.add()
        record.time_unix_nano = 1_700_000_000_000_000_000
        record.body.string_value = body
    return request.SerializeToString()


def one_gauge() -> bytes:
    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = "blocker"
    point = metric.gauge.data_points.add()
    point.as_int = 1
    point.time_unix_nano = 1_700_000_000_000_000_000
    return request.SerializeToString()


@pytest.fixture
def capture():
    """The stand-in destination. Tests list it before ``make_relay`` so the relay is stopped first (a relay
    stopping against a closed port would retry until its shutdown timeout)."""
    with CaptureServer() as server:
        yield server


# --- what reached the stand-in -------------------------------------------------------------------------------


def span_event_ids(capture: CaptureServer, status: int) -> Counter:
    """Decimal span ids of every span event in span POSTs that got ``status``."""
    return Counter(
        s["span_id"]
        for r in capture.requests
        if r.path == SPAN_PATH and r.response_status == status
        for envelope in r.json()
        for s in envelope["spans"]
    )


def eval_span_ids(capture: CaptureServer, status: int) -> Counter:
    return Counter(
        m["join_on"]["span"]["span_id"]
        for r in capture.requests
        if r.path == EVAL_PATH and r.response_status == status
        for m in r.json()["data"]["attributes"]["metrics"]
    )


def otlp_span_ids(capture: CaptureServer, status: int) -> Counter:
    return Counter(
        int.from_bytes(span.span_id, "big")
        for r in capture.requests
        if r.path == "/v1/traces" and r.response_status == status
        for rs in ExportTraceServiceRequest.FromString(r.body).resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    )


def otlp_log_bodies(capture: CaptureServer, status: int) -> Counter:
    return Counter(
        record.body.string_value
        for r in capture.requests
        if r.path == "/v1/logs" and r.response_status == status
        for rl in ExportLogsServiceRequest.FromString(r.body).resource_logs
        for sl in rl.scope_logs
        for record in sl.log_records
    )


def queue_db(tmp_path: Path) -> Path:
    return tmp_path / "storage" / "queue.db"


def datadog(capture: CaptureServer) -> dict:
    return {"datadog": {"transport": "agentless", "api_key": "test-key", "override_origin": capture.url, **FAST}}


SECOND_IDS = [0x1004, 0x1005, 0x1006]
DECIMAL_IDS = {str(i): 1 for i in SPAN_IDS + SECOND_IDS}


# --- datadog: span events first, then evaluations -----------------------------------------------------------


async def _queue_interleaved_datadog(relay, capture: CaptureServer) -> None:
    """Put span1-3, evals1, span4-6, evals2 in the datadog queue (a batch's evaluations are one row after its
    spans) so that the sender takes them as ONE read. The sender is first kept busy retrying a lone span (the
    span path answers 503) while the two batches are accepted; then the span path is let through."""
    capture.set_default_for(SPAN_PATH, 503, {}, b"busy")
    assert (await post_otlp(relay, "traces", genai_traces([0x1000], evaluation=False)))[0] == 200
    assert await asyncio.to_thread(capture.wait_until, lambda reqs: any(r.path == SPAN_PATH for r in reqs), 5)
    assert (await post_otlp(relay, "traces", genai_traces(SPAN_IDS)))[0] == 200
    assert (await post_otlp(relay, "traces", genai_traces(SECOND_IDS)))[0] == 200
    assert relay.store.stats["datadog"].items == 9  # the lone span still retrying + 6 spans + 2 evaluation rows
    capture.set_default_for(SPAN_PATH, 202, {}, b"{}")


def _after_the_lone_span(capture: CaptureServer) -> list[tuple[str, int]]:
    requests = [(r.path, r.response_status) for r in capture.requests]
    first = requests.index((SPAN_PATH, 202))  # the lone span finally accepted
    return requests[first + 1 :]


async def test_datadog_eval_503_resends_only_the_evaluations(capture, make_relay, tmp_path):
    """Queue rows: span1, span2, span3, evals1, span4, span5, span6, evals2. The span POST (rows 0-2, 4-6) is
    accepted; the eval POST answers 503 once. The sender must acknowledge exactly the span rows and resend the
    two evaluation rows.

    Suffix logic: "6 accepted" acknowledged rows 0-5 (span1-3, evals1, span4, span5): evals1 was deleted
    without ever being accepted, and the retry sent span6 again (span6 twice, evals1 never)."""
    capture.respond_to(EVAL_PATH, [(503, {}, b"busy")])
    capture.set_default_for(EVAL_PATH, 202, {}, b"{}")
    relay = await make_relay(datadog(capture))
    await _queue_interleaved_datadog(relay, capture)
    assert await relay.flush(timeout=10)

    assert _after_the_lone_span(capture) == [(SPAN_PATH, 202), (EVAL_PATH, 503), (EVAL_PATH, 202)]
    assert span_event_ids(capture, 202) == {"4096": 1, **DECIMAL_IDS}  # every span event exactly once
    assert eval_span_ids(capture, 503) == DECIMAL_IDS
    assert eval_span_ids(capture, 202) == DECIMAL_IDS  # every evaluation exactly once after the retry
    await relay.store.resync("datadog")
    assert relay.store.stats["datadog"].items == 0
    assert deadletter.list_letters(queue_db(tmp_path)) == []
    assert relay.telemetry.value("exporter_sent_items", exporter="datadog") == 9
    assert relay.telemetry.value("exporter_retries", exporter="datadog") >= 2  # the lone span's, the evals'
    assert relay.telemetry.total("exporter_dead_letters") == 0


async def test_datadog_eval_400_dead_letters_only_the_evaluations(capture, make_relay, tmp_path):
    """Same rows; the eval POST answers 400 (permanent). Exactly the two evaluation rows are refused.

    Suffix logic: "6 accepted" acknowledged span1-3, evals1, span4, span5 and dead-lettered span6 and evals2:
    evals1 vanished without a trace and span6, which Datadog had accepted, sat in the dead letters (a replay
    would send it twice)."""
    capture.set_default_for(EVAL_PATH, 400, {}, b'{"errors":["bad metric"]}')
    relay = await make_relay(datadog(capture))
    await _queue_interleaved_datadog(relay, capture)
    assert await relay.flush(timeout=10)

    assert _after_the_lone_span(capture) == [(SPAN_PATH, 202), (EVAL_PATH, 400)]
    assert span_event_ids(capture, 202) == {"4096": 1, **DECIMAL_IDS}
    assert eval_span_ids(capture, 202) == Counter()  # no evaluation was delivered
    letters = deadletter.list_letters(queue_db(tmp_path))
    assert (
        sorted((row["exporter"], row["kind"], row["reason"]) for row in letters)
        == [("datadog", EVAL_ZLIB_KIND, "http_400")] * 2
    )
    # a row holds a batch's metrics, comma-joined (an array without its brackets), compressed
    refused = [
        m
        for row in letters
        for m in json.loads(
            b"["
            + eval_item_metrics(EVAL_ZLIB_KIND, deadletter.show_letter(queue_db(tmp_path), row["id"])["payload"])
            + b"]"
        )
    ]
    assert Counter(m["join_on"]["span"]["span_id"] for m in refused) == DECIMAL_IDS
    await relay.store.resync("datadog")
    assert relay.store.stats["datadog"].items == 0
    assert relay.telemetry.value("exporter_dead_letters", exporter="datadog", reason="http_400") == 2
    assert relay.telemetry.total("exporter_dead_letters") == 2
    assert (
        'glassbox_exporter_dead_letters_total{exporter="datadog",reason="http_400"} 2'
        in relay.telemetry.render().splitlines()
    )
    assert relay.telemetry.value("exporter_sent_items", exporter="datadog") == 7


# --- otlp: all traces, then all logs --------------------------------------------------------------------------


async def _queue_interleaved_otlp(relay, capture: CaptureServer) -> None:
    """Put traces1, logs1, traces2, logs2 in the otlp queue so the sender takes them as ONE batch.

    Four requests are four commits, and a sender that is idle could take the first ones alone. So the sender is
    first kept busy retrying a metrics item (``/v1/metrics`` answers 503) while the four requests are accepted
    (each one is on disk when ``post_otlp`` returns); then ``/v1/metrics`` is let through and the sender's next
    read of its queue returns all four rows, in queue order."""
    capture.set_default_for("/v1/metrics", 503, {}, b"busy")
    assert (await post_otlp(relay, "metrics", one_gauge()))[0] == 200
    assert await asyncio.to_thread(capture.wait_until, lambda reqs: any(r.path == "/v1/metrics" for r in reqs), 5)
    assert (await post_otlp(relay, "traces", plain_traces([0x2001, 0x2002])))[0] == 200
    assert (await post_otlp(relay, "logs", plain_logs(["log-1a", "log-1b"])))[0] == 200
    assert (await post_otlp(relay, "traces", plain_traces([0x2003])))[0] == 200
    assert (await post_otlp(relay, "logs", plain_logs(["log-2"])))[0] == 200
    assert relay.store.stats["otlp"].items == 5  # the metrics item still retrying + the four
    capture.set_default_for("/v1/metrics", 200, {}, b"")


def otlp(capture: CaptureServer) -> dict:
    return {"otlp": {"endpoint": capture.url, "compression": "none", **FAST}}


async def test_otlp_logs_503_resends_only_the_logs(capture, make_relay, tmp_path):
    """Batch rows: traces1, logs1, traces2, logs2. ``/v1/traces`` takes both traces items (rows 0, 2) in one
    POST; ``/v1/logs`` answers 503 once. Exactly rows 0 and 2 are acknowledged, rows 1 and 3 sent again.

    Suffix logic: "2 accepted" acknowledged traces1 and logs1: logs1 was lost and traces2 was forwarded twice."""
    capture.set_default_for("/v1/traces", 200, {}, b"")
    capture.respond_to("/v1/logs", [(503, {}, b"busy")])
    capture.set_default_for("/v1/logs", 200, {}, b"")
    relay = await make_relay(otlp(capture))
    await _queue_interleaved_otlp(relay, capture)
    assert await relay.flush(timeout=10)

    batch = [(r.path, r.response_status) for r in capture.requests if r.path != "/v1/metrics"]
    assert batch == [("/v1/traces", 200), ("/v1/logs", 503), ("/v1/logs", 200)]
    assert otlp_span_ids(capture, 200) == {0x2001: 1, 0x2002: 1, 0x2003: 1}
    assert otlp_log_bodies(capture, 503) == {"log-1a": 1, "log-1b": 1, "log-2": 1}
    assert otlp_log_bodies(capture, 200) == {"log-1a": 1, "log-1b": 1, "log-2": 1}
    await relay.store.resync("otlp")
    assert relay.store.stats["otlp"].items == 0
    assert deadletter.list_letters(queue_db(tmp_path)) == []
    assert relay.telemetry.value("exporter_sent_items", exporter="otlp") == 5


async def test_otlp_logs_400_dead_letters_only_the_logs(capture, make_relay, tmp_path):
    """Same batch; ``/v1/logs`` answers 400. Exactly the two logs rows are dead-lettered, the traces rows are
    acknowledged (they were accepted) and not dead-lettered.

    Suffix logic: acknowledged traces1 and logs1 and dead-lettered traces2 and logs2: logs1 was lost, and
    traces2, already accepted, was kept as refused."""
    capture.set_default_for("/v1/traces", 200, {}, b"")
    capture.set_default_for("/v1/logs", 400, {}, b"bad logs")
    relay = await make_relay(otlp(capture))
    await _queue_interleaved_otlp(relay, capture)
    assert await relay.flush(timeout=10)

    batch = [(r.path, r.response_status) for r in capture.requests if r.path != "/v1/metrics"]
    assert batch == [("/v1/traces", 200), ("/v1/logs", 400)]
    assert otlp_span_ids(capture, 200) == {0x2001: 1, 0x2002: 1, 0x2003: 1}
    assert otlp_log_bodies(capture, 200) == Counter()
    letters = deadletter.list_letters(queue_db(tmp_path))
    assert (
        sorted((row["exporter"], row["kind"], row["reason"]) for row in letters) == [("otlp", "logs", "http_400")] * 2
    )
    refused = [
        ExportLogsServiceRequest.FromString(deadletter.show_letter(queue_db(tmp_path), row["id"])["payload"])
        for row in letters
    ]
    assert Counter(
        record.body.string_value
        for request in refused
        for rl in request.resource_logs
        for sl in rl.scope_logs
        for record in sl.log_records
    ) == {"log-1a": 1, "log-1b": 1, "log-2": 1}
    await relay.store.resync("otlp")
    assert relay.store.stats["otlp"].items == 0
    assert relay.telemetry.value("exporter_dead_letters", exporter="otlp", reason="http_400") == 2
    assert relay.telemetry.value("exporter_sent_items", exporter="otlp") == 3  # metrics + two traces items
