#!/usr/bin/env python3
"""Record what OpenLIT really sends over OTLP/HTTP, as test fixtures.

Everything runs on 127.0.0.1 in one process: a deterministic fake
OpenAI-compatible server, an OTLP/HTTP sink that stores every request body
exactly as received, and a real ``openai`` client instrumented by an
unmodified ``openlit``. Each scenario runs under a parent span named
``scenario <name>``. The tracer and logger providers are flushed after each
scenario, so every stored request holds whole scenarios.

The sink writes ``NNNN_traces.pb`` / ``NNNN_logs.pb`` (the body after gunzip
when ``Content-Encoding: gzip``) plus ``NNNN_<signal>.json``, a readable
decoding in the style of the other captures in ``tests/testdata/otlp``
(``MessageToDict``, camelCase fields, trace and span ids as lowercase hex,
``indent=1``, no trailing newline).

Reproduce (the venv must NOT live in the repo)::

    python3 -m venv /tmp/litvenv
    /tmp/litvenv/bin/pip install openlit==1.45.0 openai==2.54.0 aiohttp \\
        opentelemetry-api==1.39.1 opentelemetry-sdk==1.39.1 \\
        opentelemetry-exporter-otlp==1.39.1 opentelemetry-instrumentation==0.60b1 \\
        opentelemetry-semantic-conventions==0.60b1
    /tmp/litvenv/bin/python tests/testdata/capture/capture_openlit.py

(The OTel pins are needed only because pip cannot resolve openlit 1.45.0 with
the newest instrumentation packages; 1.39.1/0.60b1 is what it resolves to.)

This writes ``tests/testdata/otlp/openlit_<version>/`` (content captured) and
``tests/testdata/otlp/openlit_<version>_nocontent/``
(``capture_message_content=False``), replacing earlier ``NNNN_*`` files there.
Each mode runs in its own child process, because ``openlit.init`` configures
process-wide providers only once.

Nothing may leave the machine: openlit is given a local ``pricing_json`` (it
otherwise downloads one from GitHub at init), GPU/system metrics are off,
metrics are disabled, and the child processes refuse any DNS lookup or
connection that is not to loopback (an attempt is reported and fails the run).
For belt and braces, run it in a namespace without a network::

    unshare -n sh -c 'ip link set lo up && /tmp/litvenv/bin/python \\
        tests/testdata/capture/capture_openlit.py'
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_OUT_ROOT = REPO_ROOT / "tests" / "testdata" / "otlp"

SCENARIOS = ("chat", "tools", "toolresult", "stream", "streamtools", "embed", "responses")

# Prices in USD per 1K tokens, in the layout of openlit's assets/pricing.json.
PRICING = {
    "chat": {"gpt-4o-mini": {"promptPrice": 0.00015, "completionPrice": 0.0006}},
    "embeddings": {"text-embedding-3-small": 0.00002},
}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}
TOOL_CALL = {
    "id": "call_abc123",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
}
ANSWER = "The weather in Paris is rainy."
CREATED = 1700000000


# --------------------------------------------------------------------------
# Network guard: loopback only.

_BLOCKED: list[str] = []
_LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "", None}


def _is_loopback(host) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    return isinstance(host, str) and host.startswith("127.")


def install_network_guard() -> None:
    """Make any non-loopback DNS lookup or connect fail loudly."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        if not _is_loopback(host):
            _BLOCKED.append(f"getaddrinfo({host!r})")
            raise socket.gaierror(f"capture harness: lookup of {host!r} refused")
        return real_getaddrinfo(host, *args, **kwargs)

    def _check(address):
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            _BLOCKED.append(f"connect({address!r})")
            raise OSError(f"capture harness: connection to {address!r} refused")

    def connect(self, address):
        _check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        _check(address)
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex


# --------------------------------------------------------------------------
# Fake OpenAI-compatible server.

CHAT_USAGE = {
    "prompt_tokens": 21,
    "completion_tokens": 9,
    "total_tokens": 30,
    "prompt_tokens_details": {"cached_tokens": 5, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 3,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


def _wants_tool_call(req: dict) -> bool:
    messages = req.get("messages") or []
    return bool(req.get("tools")) and bool(messages) and messages[-1].get("role") == "user"


def _chat_response(req: dict) -> dict:
    if _wants_tool_call(req):
        message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [TOOL_CALL]}
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": ANSWER, "refusal": None}
        finish = "stop"
    return {
        "id": "chatcmpl-fake1",
        "object": "chat.completion",
        "created": CREATED,
        "model": "gpt-4o-mini-2024-08-06",
        "system_fingerprint": "fp_fake",
        "service_tier": "default",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": CHAT_USAGE,
    }


def _chat_chunks(req: dict) -> list[dict]:
    base = {
        "id": "chatcmpl-fake2",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": "gpt-4o-mini-2024-08-06",
        "system_fingerprint": "fp_fake",
        "service_tier": "default",
    }

    def chunk(delta, finish=None):
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    if _wants_tool_call(req):
        args = TOOL_CALL["function"]["arguments"]
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": TOOL_CALL["id"],
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": ""},
                        }
                    ]
                }
            )
        )
        for piece in (args[:10], args[10:]):
            chunks.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
        chunks.append(chunk({}, "tool_calls"))
    else:
        for piece in ("The weather", " in Paris", " is rainy."):
            chunks.append(chunk({"content": piece}))
        chunks.append(chunk({}, "stop"))
    if (req.get("stream_options") or {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": CHAT_USAGE})
    return chunks


def _embeddings_response(req: dict) -> dict:
    inputs = req.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    data = []
    for i, _ in enumerate(inputs):
        vec = [0.1 * (i + 1), 0.2, -0.3]
        if req.get("encoding_format") == "base64":
            emb = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
        else:
            emb = vec
        data.append({"object": "embedding", "index": i, "embedding": emb})
    return {
        "object": "list",
        "data": data,
        "model": "text-embedding-3-small-v1",
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }


def _responses_response(req: dict) -> dict:
    return {
        "id": "resp_fake1",
        "object": "response",
        "created_at": CREATED,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": req.get("instructions"),
        "max_output_tokens": req.get("max_output_tokens"),
        "model": "gpt-4.1-mini-2025",
        "output": [
            {
                "type": "message",
                "id": "msg_fake1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hello from responses", "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": True,
        "temperature": req.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": req.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": 12,
            "input_tokens_details": {"cached_tokens": 2},
            "output_tokens": 4,
            "output_tokens_details": {"reasoning_tokens": 1},
            "total_tokens": 16,
        },
        "user": None,
        "metadata": {},
    }


def make_openai_app():
    from aiohttp import web

    async def chat(request):
        req = await request.json()
        if not req.get("stream"):
            return web.json_response(_chat_response(req))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for c in _chat_chunks(req):
            await resp.write(f"data: {json.dumps(c)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def embeddings(request):
        return web.json_response(_embeddings_response(await request.json()))

    async def responses(request):
        return web.json_response(_responses_response(await request.json()))

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_post("/v1/responses", responses)
    return app


# --------------------------------------------------------------------------
# OTLP/HTTP sink.


def _hex_ids(obj):
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                obj[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(obj, list):
        for item in obj:
            _hex_ids(item)
    return obj


def decode_to_json(signal: str, body: bytes) -> str:
    from google.protobuf.json_format import MessageToDict

    if signal == "traces":
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest as Req
    else:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest as Req
    msg = Req()
    msg.ParseFromString(body)
    return json.dumps(_hex_ids(MessageToDict(msg, preserving_proto_field_name=False)), indent=1)


class Sink:
    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.count = 0
        self.unexpected: list[str] = []

    def make_app(self):
        from aiohttp import web

        async def handle(request):
            signal = request.match_info["signal"]
            body = await request.read()
            if request.headers.get("Content-Encoding", "").lower() == "gzip":
                body = gzip.decompress(body)
            ctype = request.headers.get("Content-Type", "")
            if signal not in ("traces", "logs") or "protobuf" not in ctype:
                self.unexpected.append(f"{signal} {ctype} {len(body)} bytes")
                return web.Response(status=200, content_type="application/x-protobuf")
            self.count += 1
            stem = self.out_dir / f"{self.count:04d}_{signal}"
            stem.with_suffix(".pb").write_bytes(body)
            stem.with_suffix(".json").write_text(decode_to_json(signal, body))
            # An empty Export*ServiceResponse is a zero-length protobuf message.
            return web.Response(status=200, body=b"", content_type="application/x-protobuf")

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/{signal}", handle)
        return app


# --------------------------------------------------------------------------
# Servers in a background event loop.


class Servers:
    def __init__(self, sink: Sink):
        self.sink = sink
        self.loop = asyncio.new_event_loop()
        self.runners = []
        self.openai_port = self.sink_port = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _start(self, app) -> int:
        from aiohttp import web

        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.runners.append(runner)
        return runner.addresses[0][1]

    def start(self):
        self.thread.start()
        self.openai_port = asyncio.run_coroutine_threadsafe(self._start(make_openai_app()), self.loop).result(10)
        self.sink_port = asyncio.run_coroutine_threadsafe(self._start(self.sink.make_app()), self.loop).result(10)

    def stop(self):
        async def _cleanup():
            for runner in self.runners:
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(_cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


# --------------------------------------------------------------------------
# Driver (runs in a child process, one per mode).


def run_scenarios(client, tracer, flush):
    def scenario(name):
        return tracer.start_as_current_span(f"scenario {name}")

    user_q = {"role": "user", "content": "Weather in Paris?"}

    with scenario("chat"):
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": "You are terse."}, user_q],
            temperature=0.2,
            max_tokens=50,
            top_p=0.9,
            seed=7,
            user="user-42",
        )
    flush()

    with scenario("tools"):
        client.chat.completions.create(model="gpt-4o-mini", messages=[user_q], tools=[WEATHER_TOOL])
    flush()

    with scenario("toolresult"):
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                user_q,
                {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
                {"role": "tool", "tool_call_id": "call_abc123", "content": "rainy, 57F"},
            ],
            tools=[WEATHER_TOOL],
        )
    flush()

    with scenario("stream"):
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[user_q], stream=True, stream_options={"include_usage": True}
        )
        for _ in stream:
            pass
    flush()

    with scenario("streamtools"):
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[user_q],
            tools=[WEATHER_TOOL],
            stream=True,
            stream_options={"include_usage": True},
        )
        for _ in stream:
            pass
    flush()

    with scenario("embed"):
        client.embeddings.create(model="text-embedding-3-small", input=["hello", "world"])
    flush()

    with scenario("responses"):
        client.responses.create(model="gpt-4.1-mini", instructions="Be brief.", input="Say hello")
    flush()


def child(mode: str, out_dir: Path) -> int:
    install_network_guard()
    # Exports happen only when we flush, so request boundaries are deterministic.
    os.environ["OTEL_BSP_SCHEDULE_DELAY"] = "600000"
    os.environ["OTEL_BLRP_SCHEDULE_DELAY"] = "600000"
    for var in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_TRACES_EXPORTER",
        "OTEL_LOGS_EXPORTER",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_SERVICE_NAME",
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "OPENLIT_URL",
        "OPENLIT_API_KEY",
    ):
        os.environ.pop(var, None)

    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("[0-9][0-9][0-9][0-9]_*"):
        old.unlink()

    sink = Sink(out_dir)
    servers = Servers(sink)
    servers.start()

    import openai
    import openlit
    from opentelemetry import _logs, trace

    with tempfile.TemporaryDirectory() as tmp:
        pricing = Path(tmp) / "pricing.json"
        pricing.write_text(json.dumps(PRICING))
        openlit.init(
            otlp_endpoint=f"http://127.0.0.1:{servers.sink_port}",
            application_name="probe-app",
            environment="probe-env",
            pricing_json=str(pricing),
            capture_message_content=(mode == "content"),
            disable_metrics=True,
            collect_gpu_stats=False,
            collect_system_metrics=False,
        )

    tracer_provider = trace.get_tracer_provider()
    logger_provider = _logs.get_logger_provider()

    def flush():
        if not tracer_provider.force_flush(30_000):
            raise RuntimeError("tracer provider flush failed")
        if not logger_provider.force_flush(30_000):
            raise RuntimeError("logger provider flush failed")

    client = openai.OpenAI(base_url=f"http://127.0.0.1:{servers.openai_port}/v1", api_key="sk-fake", max_retries=0)
    run_scenarios(client, trace.get_tracer("probe"), flush)
    flush()
    client.close()
    servers.stop()

    print(f"{mode}: {sink.count} requests -> {out_dir}", file=sys.stderr)
    ok = True
    if sink.unexpected:
        print(f"unexpected OTLP requests: {sink.unexpected}", file=sys.stderr)
        ok = False
    if _BLOCKED:
        print(f"BLOCKED non-loopback network attempts: {_BLOCKED}", file=sys.stderr)
        ok = False
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out-root", type=Path, default=DEFAULT_OUT_ROOT, help="directory that receives openlit_<version>[_nocontent]/"
    )
    parser.add_argument("--mode", choices=("content", "nocontent", "all"), default="all")
    parser.add_argument("--child", choices=("content", "nocontent"), help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        return child(args.child, args.child_out)

    from importlib.metadata import version

    lit_version = version("openlit")
    modes = ("content", "nocontent") if args.mode == "all" else (args.mode,)
    rc = 0
    for mode in modes:
        suffix = "" if mode == "content" else "_nocontent"
        out = args.out_root / f"openlit_{lit_version}{suffix}"
        rc |= subprocess.call([sys.executable, __file__, "--child", mode, "--child-out", str(out)])
    return rc


if __name__ == "__main__":
    sys.exit(main())
