"""Bad input on OTLP/HTTP gets a clear OTLP answer, never a crash, and the relay keeps serving.

Every case runs against a real relay on 127.0.0.1 with a small body limit. A refusal must be answered with the
right status and a ``google.rpc.Status`` body (protobuf or JSON, like the request), be counted on the admin
``/metrics`` page under its reason, and leave the relay able to accept and store the next valid request.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import tracemalloc
import zlib
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.conftest import fixture_files, post_otlp

PB = "application/x-protobuf"
JSON = "application/json"
LIMIT = 64 * 1024  # receivers.otlp.http.max_body_bytes for every relay in this file
TIMEOUT = aiohttp.ClientTimeout(total=30)  # a hung relay fails the test quickly instead of after 5 minutes
FIXTURE = fixture_files("ll_default")[0]  # one OpenLLMetry chat span
FIXTURE_JSON = FIXTURE.with_suffix(".json")  # the same capture as OTLP/JSON
FIXTURE_TRACE_ID = (
    ExportTraceServiceRequest.FromString(FIXTURE.read_bytes()).resource_spans[0].scope_spans[0].spans[0].trace_id.hex()
)


@pytest.fixture
async def relay(make_relay):
    return await make_relay(
        receivers={"otlp": {"grpc": None, "http": {"endpoint": "127.0.0.1:0", "max_body_bytes": LIMIT}}}
    )


# --- helpers ----------------------------------------------------------------------------------------------------


async def send(
    relay, body: Any, *, content_type: str | None = PB, encoding: str | None = None, signal: str = "traces"
) -> tuple[int, bytes, str]:
    """POST with full control of the headers; ``body`` may be bytes or an async iterator (sent chunked)."""
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        async with session.post(f"http://127.0.0.1:{relay.http_port}/v1/{signal}", data=body, headers=headers) as resp:
            return resp.status, await resp.read(), resp.content_type


async def raw_post(
    port: int, headers: list[str], chunks: list[bytes], *, chunked: bool = False, path: str = "/v1/traces"
) -> tuple[int, dict[str, str], bytes]:
    """A hand-written HTTP/1.1 request over a socket: exact headers (or none), optional chunked framing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close", *headers]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {sum(map(len, chunks))}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        for chunk in chunks:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    response_headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    return int(status_line.split()[1]), response_headers, body


def rpc_status(body: bytes, content_type: str) -> status_pb2.Status:
    """The refusal body, which must be a google.rpc.Status in the request's encoding."""
    if content_type == JSON:
        return json_format.Parse(body, status_pb2.Status())
    assert content_type == PB, f"refusal answered as {content_type!r}"
    return status_pb2.Status.FromString(body)


async def scrape(relay) -> dict[tuple[str, frozenset], float]:
    """The admin /metrics page as {(metric, labels): value}."""
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        async with session.get(f"http://127.0.0.1:{relay.admin_port}/metrics") as resp:
            assert resp.status == 200
            text = await resp.text()
    samples = {}
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if match and not line.startswith("#"):
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            samples[(match.group(1), labels)] = float(match.group(3))
    return samples


async def refused(relay, reason: str, signal: str = "traces") -> float:
    labels = frozenset({("reason", reason), ("signal", signal), ("transport", "http")})
    return (await scrape(relay)).get(("glassbox_receiver_refused_requests_total", labels), 0)


async def stored_trace_ids(relay) -> set[str]:
    assert await relay.flush()
    return {row["trace_id"] for row in relay.local_exporter.store.recent(1000)}


async def stored_names(relay) -> set[str]:
    assert await relay.flush()
    return {row["name"] for row in relay.local_exporter.store.recent(1000)}


async def assert_still_serves(relay) -> None:
    """A valid request after the bad one is accepted and reaches the local store."""
    status, _, _ = await post_otlp(relay, "traces", FIXTURE.read_bytes())
    assert status == 200
    assert FIXTURE_TRACE_ID in await stored_trace_ids(relay)


def gzip_bomb(inflated: int) -> bytes:
    """A gzip stream of ``inflated`` zero bytes, built without ever holding them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [compressor.compress(block) for _ in range(inflated >> 20)]
    return b"".join(parts) + compressor.flush()


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    tag, length = (number << 3) | 2, len(payload)
    out = bytearray([tag])
    while True:
        byte, length = length & 0x7F, length >> 7
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out) + payload


def deep_protobuf_kvlist(levels: int) -> bytes:
    """An ExportTraceServiceRequest whose one span attribute is ``levels`` nested kvlistValues, hand-encoded
    (the protobuf library refuses to build messages that deep)."""
    value = field(1, b"leaf")  # AnyValue.string_value
    for _ in range(levels):
        key_value = field(1, b"k") + field(2, value)  # KeyValue{key, value}
        value = field(6, field(1, key_value))  # AnyValue.kvlist_value = KeyValueList{values: [kv]}
    attribute = field(1, b"deep") + field(2, value)
    span = field(1, bytes(range(1, 17))) + field(2, bytes(range(1, 9))) + field(5, b"deep") + field(9, attribute)
    return field(1, field(2, field(2, span)))  # request.resource_spans[0].scope_spans[0].spans[0]


def deep_json_kvlist(levels: int) -> bytes:
    """OTLP/JSON with one attribute of ``levels`` nested kvlistValues (written as text: too deep for orjson)."""
    value = '{"stringValue": "leaf"}'
    for _ in range(levels):
        value = '{"kvlistValue": {"values": [{"key": "k", "value": ' + value + "}]}}"
    span = (
        '{"traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "0102030405060708", "name": "deep", '
        '"attributes": [{"key": "deep", "value": ' + value + "}]}"
    )
    return ('{"resourceSpans": [{"scopeSpans": [{"spans": [' + span + "]}]}]}").encode()


def protobuf_with_bad_utf8() -> bytes:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes(range(1, 17)), bytes(range(1, 9)), "MARKMARK"
    return request.SerializeToString().replace(b"MARKMARK", b"\xff\xfe\xc3\x28\xed\xa0\x80!")  # same length


async def pieces(body: bytes, size: int):
    for start in range(0, len(body), size):
        yield body[start : start + size]


# --- refusals -----------------------------------------------------------------------------------------------------


@dataclass
class Bad:
    body: Any
    content_type: str | None = PB
    encoding: str | None = None
    status: int = 400
    reason: str = "bad_request"
    says: tuple[str, ...] = ()
    reply: str = PB  # the encoding of the Status body


CASES = [
    pytest.param(
        Bad(b"\xff\xfe\x00 not protobuf \x01\x02", says=("not a valid protobuf ExportTraceServiceRequest",)),
        id="garbage-protobuf",
    ),
    pytest.param(Bad(b"{not json", JSON, says=("not valid JSON",), reply=JSON), id="bad-json"),
    pytest.param(Bad(b"[1, 2]", JSON, says=("must be an object", "list"), reply=JSON), id="json-list"),
    pytest.param(Bad(b'{"resourceSpans": "nope"}', JSON, says=("resourceSpans",), reply=JSON), id="json-wrong-shape"),
    pytest.param(
        Bad(
            orjson.dumps(
                {
                    "resourceSpans": [
                        {
                            "scopeSpans": [
                                {"spans": [{"traceId": "not-hex-at-all", "spanId": "0102030405060708", "name": "x"}]}
                            ]
                        }
                    ]
                }
            ),
            JSON,
            says=("traceId", "not hex"),
            reply=JSON,
        ),
        id="json-non-hex-trace-id",
    ),
    pytest.param(Bad(deep_json_kvlist(200), JSON, says=("nesting",), reply=JSON), id="json-200-nested-kvlists"),
    pytest.param(
        Bad(
            FIXTURE_JSON.read_bytes().replace(b'"openai.chat"', b'"openai.\xff\xfechat"'),
            JSON,
            says=("UTF-8",),
            reply=JSON,
        ),
        id="json-invalid-utf8",
    ),
    pytest.param(Bad(deep_protobuf_kvlist(200), says=("not a valid protobuf",)), id="protobuf-200-nested-kvlists"),
    # upb checks UTF-8 in proto3 string fields: the parse fails, so the request is refused (not half-stored).
    pytest.param(Bad(protobuf_with_bad_utf8(), says=("UTF-8",)), id="protobuf-invalid-utf8"),
    pytest.param(
        Bad(
            FIXTURE.read_bytes(),
            "text/plain",
            status=415,
            reason="unsupported_media_type",
            says=("text/plain", PB, JSON),
            reply=JSON,
        ),
        id="text-plain",
    ),
    pytest.param(Bad(bytes(2 * LIMIT), status=413, reason="too_large", says=(f"{LIMIT} bytes",)), id="over-limit"),
    pytest.param(
        Bad(
            gzip_bomb(64 << 20),
            encoding="gzip",
            status=413,
            reason="too_large",
            says=(f"{LIMIT} bytes", "decompression"),
        ),
        id="gzip-bomb",
    ),
    pytest.param(
        Bad(b"this is not gzip at all", encoding="gzip", reason="bad_encoding", says=("decompress",)), id="bad-gzip"
    ),
    pytest.param(
        Bad(gzip.compress(FIXTURE.read_bytes())[:-12], encoding="gzip", reason="bad_encoding", says=("truncated",)),
        id="truncated-gzip",
    ),
    pytest.param(
        Bad(
            gzip.compress(FIXTURE.read_bytes()) + b"trailing junk",
            encoding="gzip",
            reason="bad_encoding",
            says=("decompress",),
        ),
        id="gzip-trailing-junk",
    ),
    pytest.param(Bad(FIXTURE.read_bytes(), encoding="br", reason="bad_encoding", says=("'br'", "gzip")), id="brotli"),
]


@pytest.mark.parametrize("bad", CASES)
async def test_refusal_is_clear_counted_and_harmless(relay, bad: Bad):
    status, body, content_type = await send(relay, bad.body, content_type=bad.content_type, encoding=bad.encoding)

    assert status == bad.status, body[:300]
    assert content_type == bad.reply
    message = rpc_status(body, content_type).message
    for words in bad.says:
        assert words in message, message
    assert await refused(relay, bad.reason) == 1
    await assert_still_serves(relay)


async def test_missing_content_type_is_415(relay):
    status, headers, body = await raw_post(relay.http_port, [], [FIXTURE.read_bytes()])

    assert status == 415
    assert PB in rpc_status(body, headers["content-type"].split(";")[0]).message
    assert await refused(relay, "unsupported_media_type") == 1
    await assert_still_serves(relay)


async def test_over_limit_chunked_body_is_413(relay):
    """No Content-Length to check up front: the limit is enforced while reading."""
    status, headers, body = await raw_post(relay.http_port, [f"Content-Type: {PB}"], [bytes(8192)] * 16, chunked=True)

    assert status == 413
    assert f"{LIMIT} bytes" in rpc_status(body, headers["content-type"].split(";")[0]).message
    assert await refused(relay, "too_large") == 1
    await assert_still_serves(relay)


async def test_gzip_bomb_is_refused_without_inflating_it(relay):
    bomb = gzip_bomb(256 << 20)  # ~260 KB on the wire, 256 MiB inflated
    tracemalloc.start()
    try:
        status, _, _ = await send(relay, bomb, encoding="gzip")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert status == 413
    assert peak < 16 << 20, f"the relay allocated {peak >> 20} MiB for a {LIMIT >> 10} KiB limit"


# --- accepted shapes ------------------------------------------------------------------------------------------------


async def test_protobuf_request_gets_protobuf_response(relay):
    status, body, content_type = await send(relay, FIXTURE.read_bytes())

    assert (status, content_type) == (200, PB)
    response = ExportTraceServiceResponse.FromString(body)
    assert not response.HasField("partial_success")
    assert FIXTURE_TRACE_ID in await stored_trace_ids(relay)


@pytest.mark.parametrize("content_type", [JSON, "application/json; charset=utf-8"])
async def test_json_request_gets_json_response(relay, content_type):
    status, body, reply_type = await send(relay, FIXTURE_JSON.read_bytes(), content_type=content_type)

    assert (status, reply_type) == (200, JSON)
    response = json_format.Parse(body, ExportTraceServiceResponse())  # a JSON ExportTraceServiceResponse
    assert not response.HasField("partial_success")
    assert FIXTURE_TRACE_ID in await stored_trace_ids(relay)


async def test_chunked_protobuf_body_is_accepted(relay):
    chunks = [FIXTURE.read_bytes()[i : i + 97] for i in range(0, len(FIXTURE.read_bytes()), 97)]  # odd boundaries
    status, headers, body = await raw_post(relay.http_port, [f"Content-Type: {PB}"], chunks, chunked=True)

    assert status == 200
    assert headers["content-type"].startswith(PB)
    assert FIXTURE_TRACE_ID in await stored_trace_ids(relay)


async def test_streamed_body_from_an_async_iterator_is_accepted(relay):
    status, _, _ = await send(relay, pieces(FIXTURE.read_bytes(), 100))

    assert status == 200
    assert FIXTURE_TRACE_ID in await stored_trace_ids(relay)


async def test_gzip_body_is_accepted(relay):
    status, body, _ = await post_otlp(relay, "traces", FIXTURE.read_bytes(), gzip_body=True)

    assert status == 200, body
    assert FIXTURE_TRACE_ID in await stored_trace_ids(relay)


async def test_multi_member_gzip_body_is_accepted(relay):
    """RFC 1952 allows several members in one stream (Go's gzip reader, used by the OTel Collector, reads them all)."""
    body = FIXTURE.read_bytes()
    status, reply, _ = await send(relay, gzip.compress(body[:700]) + gzip.compress(body[700:]), encoding="gzip")

    assert status == 200, reply
    assert FIXTURE_TRACE_ID in await stored_trace_ids(relay)


async def test_moderate_json_nesting_is_accepted(relay):
    """The nesting guard is for hostile input, not for ordinary structured attributes."""
    status, body, _ = await send(relay, deep_json_kvlist(8), content_type=JSON)

    assert status == 200, body


@pytest.mark.parametrize(
    ("signal", "response_type"), [("logs", ExportLogsServiceResponse), ("metrics", ExportMetricsServiceResponse)]
)
async def test_logs_and_metrics_accept_empty_requests(relay, signal, response_type):
    status, body, content_type = await send(relay, b"", signal=signal)  # an empty Export*ServiceRequest
    assert (status, content_type) == (200, PB)
    response_type.FromString(body)

    status, body, content_type = await send(relay, b"{}", content_type=JSON, signal=signal)
    assert (status, content_type) == (200, JSON)
    json_format.Parse(body, response_type())


async def test_a_ten_megabyte_prompt_is_accepted_and_its_io_dropped_as_ddtrace_does(make_relay):
    relay = await make_relay()  # default 32 MiB body limit
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes(range(1, 17)), bytes(range(1, 9)), "huge"
    span.start_time_unix_nano, span.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_001_000_000_000
    for key, text in {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": "a" * 10_000_000,
        "gen_ai.completion.0.content": "ok",
    }.items():
        attribute = span.attributes.add()
        attribute.key, attribute.value.string_value = key, text

    status, body, _ = await post_otlp(relay, "traces", request.SerializeToString())

    assert status == 200, body
    assert await relay.flush()
    [row] = [r for r in relay.local_exporter.store.recent(10) if r["name"] == "huge"]
    assert row["event"]["collection_errors"] == ["dropped_io"]


# --- hostile span contents: the body decodes, but a span in it is unusable or hard to render ----------------------


def chat_span(request: ExportTraceServiceRequest, span_id: bytes, name: str, **attributes: Any):
    """Append an LLM span with input and output content (so the pipeline releases it at once)."""
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes(range(1, 17)), span_id, name
    span.start_time_unix_nano, span.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_001_000_000_000
    for key, text in {
        "gen_ai.operation.name": "chat",
        "gen_ai.prompt.0.content": "hi",
        "gen_ai.completion.0.content": "hello",
        **attributes,
    }.items():
        attribute = span.attributes.add()
        attribute.key = key
        if isinstance(text, dict):
            for k, v in text.items():
                kv = attribute.value.kvlist_value.values.add()
                kv.key, kv.value.string_value = k, v
        else:
            attribute.value.string_value = text
    return span


def structured_span_kind() -> bytes:
    request = ExportTraceServiceRequest()
    span = chat_span(request, bytes(range(1, 9)), "odd-kind", **{"traceloop.span.kind": {"a": "b"}})
    del span.attributes[0]  # no gen_ai.operation.name: the kind comes from traceloop.span.kind
    return request.SerializeToString()


def deeply_nested_json_content() -> bytes:
    request = ExportTraceServiceRequest()
    chat_span(request, bytes(range(1, 9)), "deep-content", **{"gen_ai.input.messages": "[" * 1000 + "]" * 1000})
    return request.SerializeToString()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(structured_span_kind(), id="kvlist-traceloop-span-kind"),  # was a TypeError (unhashable) -> 500
        pytest.param(deeply_nested_json_content(), id="1000-deep-json-in-content"),  # was a RecursionError -> 500
    ],
)
async def test_hostile_span_contents_never_answer_500(relay, body):
    status, reply, _ = await send(relay, body)

    assert status in (200, 400), reply[:300]
    await assert_still_serves(relay)


@pytest.mark.parametrize(("span_id", "says"), [(b"", "span id"), (b"\x01\x02\x03", "span id"), (bytes(8), "span id")])
async def test_a_span_with_an_invalid_id_is_rejected_by_partial_success(relay, span_id, says):
    request = ExportTraceServiceRequest()
    chat_span(request, bytes(range(1, 9)), "good")
    chat_span(request, span_id, "bad-id")

    status, body, _ = await send(relay, request.SerializeToString())

    assert status == 200, body[:300]
    partial = ExportTraceServiceResponse.FromString(body).partial_success
    assert partial.rejected_spans == 1
    assert says in partial.error_message
    assert "good" in await stored_names(relay)
    labels = frozenset({("reason", "invalid_span")})
    assert (await scrape(relay)).get(("glassbox_receiver_rejected_spans_total", labels)) == 1


async def test_a_span_too_deep_to_render_does_not_take_its_batch_mates_down(relay):
    """orjson refuses > 254 levels; a span released by the join ticker must not sink the others with it."""
    poison = ExportTraceServiceRequest()
    span = chat_span(
        poison, bytes(range(1, 9)), "poison", **{"_dd.ml_obs.metadata": '{"m":' + "[" * 400 + "]" * 400 + "}"}
    )
    del span.attributes[2]  # no output: the span waits for log content and leaves with the join ticker
    assert (await send(relay, poison.SerializeToString()))[0] == 200
    assert (await send(relay, FIXTURE.read_bytes()))[0] == 200  # an innocent span waiting for its parent

    deadline = asyncio.get_running_loop().time() + 5
    while (await scrape(relay)).get(
        ("glassbox_pipeline_pending_spans", frozenset()), 1
    ) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)

    assert FIXTURE_TRACE_ID in await stored_trace_ids(relay)
    metrics = await scrape(relay)
    poison_kept = "poison" in await stored_names(relay)
    poison_counted = any(
        name in ("glassbox_exporter_dropped_items_total", "glassbox_exporter_stripped_spans_total")
        for name, _ in metrics
    )
    assert poison_kept or poison_counted, "the unrenderable span vanished without a trace"


async def test_an_out_of_range_timestamp_does_not_cost_other_spans(relay):
    request = ExportTraceServiceRequest()
    chat_span(request, bytes(range(1, 9)), "good")
    chat_span(request, bytes(range(2, 10)), "far-future").end_time_unix_nano = 2**64 - 1

    status, _, _ = await send(relay, request.SerializeToString())

    assert status == 200
    assert "good" in await stored_names(relay)
