"""An SDK exporting OTLP/gRPC to the OTLP/HTTP port (the Python SDK's default protocol is gRPC, so the README's old
one-line wiring did exactly this) gets refused with one log line that says what to change, counted under its own
reason — not a traceback per retry. Real gRPC client, real relay, real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from glassbox.collector import telemetry as T
from tests.conftest import fixture_files, post_otlp, signal_of


async def grpc_to(port: int, attempts: int) -> None:
    # Each attempt on a channel of its own with its own subchannel: gRPC otherwise shares one connection (and its
    # backoff after the failure) between channels, and later attempts fail without connecting at all.
    options = [("grpc.enable_http_proxy", 0), ("grpc.use_local_subchannel_pool", 1)]
    for _ in range(attempts):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) as ch:
            stub = trace_service_pb2_grpc.TraceServiceStub(ch)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.Export(trace_service_pb2.ExportTraceServiceRequest(), timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_grpc_on_the_http_port_is_one_line_with_the_fix_and_a_counted_reason(make_relay, caplog):
    relay = await make_relay()
    with caplog.at_level(logging.INFO):
        await grpc_to(relay.http_port, attempts=3)

    said = [r for r in caplog.records if "arrived on the OTLP/HTTP port" in r.getMessage()]
    assert len(said) == 1, [r.getMessage() for r in caplog.records]  # once a minute at most, however many tries
    message = said[0].getMessage()
    assert f"(127.0.0.1:{relay.http_port})" in message
    assert f"receivers.otlp.grpc.endpoint, 127.0.0.1:{relay.grpc_port}" in message
    assert "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf" in message
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
    refused = relay.telemetry.value(
        T.RECEIVER_REFUSED_REQUESTS, transport="http", signal="unknown", reason="grpc_on_http_port"
    )
    assert refused >= 3  # every attempt counted (gRPC retries the connection, so possibly more)

    path = fixture_files("ll_events")[0]  # the port still serves OTLP/HTTP
    assert (await post_otlp(relay, signal_of(path), path.read_bytes()))[0] == 200


async def test_bytes_that_are_not_http_are_counted_and_said_once_at_debug_level(make_relay, caplog):
    relay = await make_relay()
    with caplog.at_level(logging.DEBUG, logger="glassbox.receiver.otlp"):
        for _ in range(2):
            reader, writer = await asyncio.open_connection("127.0.0.1", relay.http_port)
            writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64) + b"\r\n\r\n")  # a TLS hello
            await writer.drain()
            await reader.read()  # the server answers and closes
            writer.close()
            await writer.wait_closed()

    said = [r.getMessage() for r in caplog.records if "did not speak HTTP/1.1" in r.getMessage()]
    assert len(said) == 1 and not [r for r in caplog.records if r.exc_info]
    assert (
        relay.telemetry.value(T.RECEIVER_REFUSED_REQUESTS, transport="http", signal="unknown", reason="not_http") == 2
    )
