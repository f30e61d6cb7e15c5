"""Hostile clients on both ports: random bytes, idle and slow connections, huge spans, and a bounded fuzz run.

After each, the relay must still answer a valid request and nothing may be a 500.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import OTLP_CAPTURES, post_otlp

VALID = (OTLP_CAPTURES / "ll_default" / "0001_traces.pb").read_bytes()


async def still_serving(relay) -> None:
    status, _, _ = await post_otlp(relay, "traces", VALID)
    assert status == 200


async def raw_exchange(port: int, payload: bytes, read: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    data = b""
    if read:
        try:
            data = await asyncio.wait_for(reader.read(4096), 5)
        except (TimeoutError, ConnectionError):
            pass
    writer.close()
    return data


async def test_random_bytes_on_both_ports(make_relay):
    relay = await make_relay()
    rng = random.Random(7)
    for _ in range(20):
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096)))
        for port in (relay.http_port, relay.grpc_port):
            try:
                answer = await raw_exchange(port, junk)
            except ConnectionError:
                answer = b""
            assert not answer.startswith(b"HTTP/1.1 5"), answer[:80]
    await still_serving(relay)


async def test_slow_and_idle_connections_do_not_block_others(make_relay):
    relay = await make_relay(
        receivers={
            "otlp": {"http": {"endpoint": "127.0.0.1:0", "read_timeout": 0.5}, "grpc": {"endpoint": "127.0.0.1:0"}}
        }
    )
    idle = [socket.create_connection(("127.0.0.1", relay.http_port)) for _ in range(50)]
    slow = socket.create_connection(("127.0.0.1", relay.http_port))
    slow.sendall(
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        b"Content-Length: 100000\r\n\r\n" + VALID[:10]
    )  # ...and never the rest
    try:
        await still_serving(relay)  # served while 51 connections hang
        slow.settimeout(5)
        answer = await asyncio.to_thread(slow.recv, 4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]  # the slow body times out
    finally:
        for sock in (*idle, slow):
            sock.close()
    await still_serving(relay)


async def test_a_span_with_100k_attributes_and_a_10_mb_prompt(make_relay):
    relay = await make_relay()
    request = ExportTraceServiceRequest()
    request.ParseFromString(VALID)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    for i in range(100_000):
        kv = span.attributes.add()
        kv.key = f"app.attr.{i}"
        kv.value.int_value = i
    prompt = "x" * (10 << 20)
    for kv in span.attributes:
        if kv.key == "gen_ai.input.messages":
            kv.value.string_value = json.dumps([{"role": "user", "parts": [{"type": "text", "content": prompt}]}])
    status, _, _ = await post_otlp(relay, "traces", request.SerializeToString())
    assert status == 200
    assert await relay.flush(timeout=30)
    (row,) = [r for r in relay.local_exporter.store.recent(10) if r["span_id"] == str(int(span.span_id.hex(), 16))]
    assert row["event"]["collection_errors"] == ["dropped_io"]  # > 5 MB: input/output dropped as ddtrace does
    await still_serving(relay)


async def test_fuzzed_bodies_never_get_a_500(make_relay):
    """Bounded fuzzing (hypothesis, fixed seed): mutated protobuf and JSON bodies on every signal."""
    relay = await make_relay()
    statuses: list[int] = []
    json_body = (OTLP_CAPTURES / "node_json" / "0001_traces.json").read_bytes()

    @settings(
        max_examples=int(os.environ.get("GLASSBOX_FUZZ_EXAMPLES", "400")),
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        base=st.sampled_from([VALID, json_body]),
        signal=st.sampled_from(["traces", "logs", "metrics"]),
        cut=st.integers(0, 2000),
        flips=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=8),
        tail=st.binary(max_size=64),
    )
    def fuzz(base, signal, cut, flips, tail):
        body = bytearray(base[: len(base) - min(cut, len(base))])
        for position, value in flips:
            if body:
                body[position % len(body)] = value
        content_type = "application/json" if base is json_body else "application/x-protobuf"
        status = asyncio.run_coroutine_threadsafe(
            post_otlp(relay, signal, bytes(body) + tail, content_type=content_type), loop
        ).result(30)[0]
        statuses.append(status)
        assert status in (200, 400), status

    loop = asyncio.get_running_loop()
    await asyncio.to_thread(fuzz)
    assert statuses and set(statuses) <= {200, 400}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{relay.admin_port}/healthz") as resp:
            assert resp.status == 200
    await still_serving(relay)
