"""OTLP/gRPC receiver: real grpc.aio clients (and the OTel SDK's own exporter) against a relay on 127.0.0.1."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from glassbox.collector.errors import StartupError
from tests.conftest import export_over_grpc, fixture_files

LIMIT = 16 * 1024  # receivers.otlp.grpc.max_message_bytes
FIXTURE = fixture_files("ll_default")[0]
TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@pytest.fixture
async def relay(make_relay):
    return await make_relay(
        receivers={"otlp": {"grpc": {"endpoint": "127.0.0.1:0", "max_message_bytes": LIMIT}, "http": None}}
    )


def fixture_request() -> trace_service_pb2.ExportTraceServiceRequest:
    return trace_service_pb2.ExportTraceServiceRequest.FromString(FIXTURE.read_bytes())


def trace_ids(request: trace_service_pb2.ExportTraceServiceRequest) -> set[str]:
    return {span.trace_id.hex() for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans}


async def stored_trace_ids(relay) -> set[str]:
    assert await relay.flush()
    return {row["trace_id"] for row in relay.local_exporter.store.recent(1000)}


async def assert_still_serves(relay) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{relay.grpc_port}") as channel:
        await trace_service_pb2_grpc.TraceServiceStub(channel).Export(fixture_request(), timeout=10)
    assert trace_ids(fixture_request()) <= await stored_trace_ids(relay)


async def test_valid_trace_export_succeeds_and_is_stored(relay):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{relay.grpc_port}") as channel:
        response = await trace_service_pb2_grpc.TraceServiceStub(channel).Export(fixture_request(), timeout=10)

    assert isinstance(response, trace_service_pb2.ExportTraceServiceResponse)
    assert not response.HasField("partial_success")
    assert trace_ids(fixture_request()) <= await stored_trace_ids(relay)
    assert relay.telemetry.value("receiver_accepted_requests", transport="grpc", signal="traces") == 1


async def test_gzip_compressed_export_succeeds(relay):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{relay.grpc_port}") as channel:
        await trace_service_pb2_grpc.TraceServiceStub(channel).Export(
            fixture_request(), timeout=10, compression=grpc.Compression.Gzip
        )

    assert trace_ids(fixture_request()) <= await stored_trace_ids(relay)


async def test_message_over_the_limit_is_resource_exhausted(relay):
    big = fixture_request()
    big.resource_spans[0].scope_spans[0].spans[0].name = "x" * (2 * LIMIT)

    async with grpc.aio.insecure_channel(f"127.0.0.1:{relay.grpc_port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await trace_service_pb2_grpc.TraceServiceStub(channel).Export(big, timeout=10)

    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert str(LIMIT) in refused.value.details()
    await assert_still_serves(relay)


async def test_an_unusable_span_is_rejected_by_partial_success(relay):
    request = fixture_request()
    bad = request.resource_spans[0].scope_spans[0].spans.add()
    bad.trace_id, bad.span_id, bad.name = bytes(range(1, 17)), b"", "no-span-id"

    async with grpc.aio.insecure_channel(f"127.0.0.1:{relay.grpc_port}") as channel:
        response = await trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=10)

    assert response.partial_success.rejected_spans == 1
    assert "span id" in response.partial_success.error_message
    assert trace_ids(fixture_request()) <= await stored_trace_ids(relay)


async def test_logs_and_metrics_services_answer(relay):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{relay.grpc_port}") as channel:
        logs = await logs_service_pb2_grpc.LogsServiceStub(channel).Export(
            logs_service_pb2.ExportLogsServiceRequest(), timeout=10
        )
        metrics = await metrics_service_pb2_grpc.MetricsServiceStub(channel).Export(
            metrics_service_pb2.ExportMetricsServiceRequest(), timeout=10
        )

    assert isinstance(logs, logs_service_pb2.ExportLogsServiceResponse)
    assert isinstance(metrics, metrics_service_pb2.ExportMetricsServiceResponse)
    for signal in ("logs", "metrics"):
        assert relay.telemetry.value("receiver_accepted_requests", transport="grpc", signal=signal) == 1
    await assert_still_serves(relay)


async def test_content_sent_as_log_records_joins_its_span_over_grpc(make_relay):
    """OpenLLMetry's event mode: the chat content arrives through LogsService, the span through TraceService."""
    relay = await make_relay()
    await export_over_grpc(relay, fixture_files("ll_events"))

    assert await relay.flush()
    outputs = [row["event"]["meta"].get("output", {}).get("messages") for row in relay.local_exporter.store.recent(100)]
    assert [{"role": "assistant", "content": "The weather in Paris is rainy."}] in outputs
    assert relay.telemetry.total("pipeline_joined_spans") > 0
    assert relay.telemetry.total("receiver_accepted_log_records") > 0


async def test_otel_sdk_grpc_exporter_is_accepted(relay):
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{relay.grpc_port}", insecure=True, timeout=10)
    provider = TracerProvider(resource=Resource.create({"service.name": "grpc-sdk-client"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    def emit() -> str:
        with tracer.start_as_current_span(
            "chat gpt-4o-mini",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.input.messages": '[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]',
                "gen_ai.output.messages": '[{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}]',
            },
        ) as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
        provider.shutdown()
        return trace_id

    trace_id = await asyncio.to_thread(emit)  # the SDK exporter blocks; keep the relay's loop free

    assert trace_id in await stored_trace_ids(relay)
    assert relay.telemetry.value("receiver_accepted_requests", transport="grpc", signal="traces") == 1


async def test_garbage_bytes_get_a_non_retryable_error(relay):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{relay.grpc_port}") as channel:
        export = channel.unary_unary(TRACE_EXPORT, request_serializer=bytes, response_deserializer=bytes)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await export(b"\xff\xfe\x00 not protobuf", timeout=10)

    # OTLP's retryable codes: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS.
    assert refused.value.code() not in {
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
    await assert_still_serves(relay)


async def test_garbage_bytes_are_invalid_argument_and_counted(relay):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{relay.grpc_port}") as channel:
        export = channel.unary_unary(TRACE_EXPORT, request_serializer=bytes, response_deserializer=bytes)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await export(b"\xff\xfe\x00 not protobuf", timeout=10)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid protobuf ExportTraceServiceRequest" in refused.value.details()
    assert (
        relay.telemetry.value("receiver_refused_requests", transport="grpc", signal="traces", reason="bad_request") == 1
    )


async def test_a_second_relay_cannot_take_the_same_grpc_port(relay, make_relay):
    """grpcio binds with SO_REUSEPORT unless told not to: two relays would then silently share the port."""
    with pytest.raises(
        StartupError, match=f"receivers.otlp.grpc.endpoint: cannot listen on 127.0.0.1:{relay.grpc_port}"
    ):
        await make_relay(receivers={"otlp": {"grpc": {"endpoint": f"127.0.0.1:{relay.grpc_port}"}, "http": None}})
