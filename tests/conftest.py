"""Shared test fixtures: a real relay in-process on free 127.0.0.1 ports, fixture files, helpers to send OTLP."""

from __future__ import annotations

import gzip
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from glassbox.collector.config import RelayConfig, parse
from glassbox.collector.service import Relay

OTLP_CAPTURES = Path(__file__).parent / "testdata" / "otlp"  # real wire captures, one directory per source

for _var in [k for k in os.environ if k.startswith(("DD_", "OTEL_", "TRACELOOP_"))]:
    os.environ.pop(_var)  # tests must not pick up a developer's Datadog or OTel settings


def relay_config(
    exporters: dict[str, Any] | None = None, *, pipeline: dict[str, Any] | None = None, tmp: Path, **sections: Any
) -> RelayConfig:
    """A config with every port on 127.0.0.1:0 and the given exporters (default: local)."""
    exporters = exporters or {"local": {"path": str(tmp / "spans.db")}}
    data = {
        "receivers": {"otlp": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"endpoint": "127.0.0.1:0"}}},
        "exporters": exporters,
        # Delivery tests send raw captures on purpose; the refusal itself is tested in tests/collector/test_config.py.
        "pipeline": {"exporters": list(exporters), "join_timeout": 0.5, "send_unredacted": True, **(pipeline or {})},
        "storage": {"directory": str(tmp / "storage")},
        "admin": {"endpoint": "127.0.0.1:0"},
    }
    data.update(sections)
    return parse(data, environ={})


def agentless_at(url: str, **settings: Any) -> dict[str, Any]:
    """The ``exporters`` of a relay whose datadog exporter posts agentless to a stand-in intake at ``url``."""
    return {
        "datadog": {
            "transport": "agentless",
            "api_key": "k",
            "override_origin": url,
            "flush_interval": 0.05,
            **settings,
        }
    }


@pytest.fixture
async def make_relay(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Start relays with ``await make_relay(exporters=..., pipeline=...)``; all are stopped at teardown."""
    relays: list[Relay] = []

    async def start(exporters: dict[str, Any] | None = None, **kwargs: Any) -> Relay:
        relay = Relay(relay_config(exporters, tmp=tmp_path, **kwargs), base_dir=tmp_path)
        await relay.start()
        relays.append(relay)
        return relay

    yield start
    for relay in relays:
        await relay.stop()


async def post_otlp(
    relay: Relay,
    signal: str,
    body: bytes,
    *,
    content_type: str = "application/x-protobuf",
    gzip_body: bool = False,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, str]:
    """POST one body to the relay's OTLP/HTTP receiver; returns (status, body, content type)."""
    headers = {"Content-Type": content_type, **(headers or {})}
    if gzip_body:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{relay.http_port}/v1/{signal}", data=body, headers=headers) as resp:
            return resp.status, await resp.read(), resp.content_type


async def export_over_grpc(relay: Relay, paths: list[Path]) -> None:
    """Send capture bodies through the relay's gRPC receiver with the real OTLP stubs (logs and traces)."""
    options = [("grpc.enable_http_proxy", 0)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{relay.grpc_port}", options=options) as channel:
        traces = trace_service_pb2_grpc.TraceServiceStub(channel)
        logs = logs_service_pb2_grpc.LogsServiceStub(channel)
        for path in paths:
            if signal_of(path) == "logs":
                await logs.Export(logs_service_pb2.ExportLogsServiceRequest.FromString(path.read_bytes()), timeout=10)
            else:
                await traces.Export(
                    trace_service_pb2.ExportTraceServiceRequest.FromString(path.read_bytes()), timeout=10
                )


def fixture_files(source: str) -> list[Path]:
    """Capture bodies of one source in capture order (the order the instrumentation sent them)."""
    return sorted((OTLP_CAPTURES / source).glob("*.pb"))


def signal_of(path: Path) -> str:
    return "logs" if path.stem.endswith("_logs") else "traces"
