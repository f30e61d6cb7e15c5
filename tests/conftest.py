"""Shared test fixtures: a real relay in-process on free 127.0.0.1 ports, fixture files, helpers to send OTLP."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import aiohttp
import pytest

from glassbox.collector.config import RelayConfig, parse
from glassbox.collector.service import Relay
from tests.support.schemas import fixtures_dir

SHARED_OTLP = fixtures_dir() / "otlp"
OWN_OTLP = Path(__file__).parent / "fixtures" / "otlp"

for _var in [k for k in os.environ if k.startswith(("DD_", "OTEL_", "TRACELOOP_"))]:
    os.environ.pop(_var)  # tests must not pick up a developer's Datadog or OTel settings


def relay_config(exporters: dict[str, Any] | None = None, *, pipeline: dict[str, Any] | None = None,
                 tmp: Path, **sections: Any) -> RelayConfig:
    """A config with every port on 127.0.0.1:0 and the given exporters (default: local)."""
    exporters = exporters or {"local": {"path": str(tmp / "spans.db")}}
    data = {
        "receivers": {"otlp": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"endpoint": "127.0.0.1:0"}}},
        "exporters": exporters,
        "pipeline": {"exporters": list(exporters), "join_timeout": 0.5, **(pipeline or {})},
        "storage": {"directory": str(tmp / "storage")},
        "admin": {"endpoint": "127.0.0.1:0"},
    }
    data.update(sections)
    return parse(data, environ={})


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


async def post_otlp(relay: Relay, signal: str, body: bytes, *, content_type: str = "application/x-protobuf",
                    gzip_body: bool = False, headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    """POST one body to the relay's OTLP/HTTP receiver; returns (status, body, content type)."""
    headers = {"Content-Type": content_type, **(headers or {})}
    if gzip_body:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{relay.http_port}/v1/{signal}", data=body,
                                headers=headers) as resp:
            return resp.status, await resp.read(), resp.content_type


def fixture_files(source: str, base: Path = SHARED_OTLP) -> list[Path]:
    """Capture bodies of one source in capture order (the order the instrumentation sent them)."""
    return sorted((base / source).glob("*.pb"))


def signal_of(path: Path) -> str:
    return "logs" if path.stem.endswith("_logs") else "traces"
