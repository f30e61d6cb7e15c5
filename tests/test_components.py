"""The contract every registered component keeps, checked over the registry (``collector.components``): a new
receiver, processor or exporter is tested here the moment it gets its registry line.

create → start → one batch → shutdown, twice; shutdown without start; shutdown twice. Config models are named
``…Config``, reject unknown keys, and build with their defaults (or the sample below, for types with required
keys). Real parts: each component's own code, a capture server as the destination, real sockets on 127.0.0.1.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from pydantic import ValidationError

from glassbox.collector import components
from glassbox.collector.delivery.config import SendingConfig
from glassbox.collector.intake import normalize
from glassbox.collector.telemetry import Telemetry
from glassbox.processors import model as M
from glassbox.processors.base import Context
from glassbox.processors.wire import read_logs
from tests.processors.conftest import chat_span, log_request, trace_request
from tests.support.capture_server import CaptureServer

# Config for types that have required keys or need a destination; "{url}" is the capture server's.
SAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("exporters", "otlp"): {"endpoint": "{url}"},
    ("exporters", "datadog"): {
        "transport": "agentless",
        "api_key": "test-key",
        "override_origin": "{url}",
        "agent_url": "{url}",
        "site": "datadoghq.com",
    },
    ("exporters", "local"): {"path": "spans.db"},
    ("processors", "redaction"): {"workers": 0},  # the worker pool has its own tests; this is the contract
    ("receivers", "otlp"): {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"endpoint": "127.0.0.1:0"}},
}
ALL = [
    (section, name, factory)
    for section, table in (
        ("receivers", components.RECEIVERS),
        ("processors", components.PROCESSORS),
        ("exporters", components.EXPORTERS),
    )
    for name, factory in table.items()
]


def config_of(section: str, name: str, factory: Any, url: str = "http://127.0.0.1:9") -> Any:
    sample = SAMPLES.get((section, name), {})

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value.replace("{url}", url) if isinstance(value, str) else value

    return factory.config.model_validate(fill(sample))


def one_batch() -> M.Batch:
    spans = normalize.spans(trace_request([chat_span(1, "hello", "hi there")]))
    logs = read_logs(log_request([{"span_id": 1, "event_name": "gen_ai.user.message", "body": {"content": "x"}}]))
    return M.Batch(spans=spans, logs=logs)


@pytest.mark.parametrize("section, name, factory", ALL, ids=[f"{s}.{n}" for s, n, _ in ALL])
def test_registration_is_consistent(section, name, factory):
    assert factory.name == name
    assert factory.config.__name__.endswith("Config"), "config models are named …Config"
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        factory.config.model_validate({**SAMPLES.get((section, name), {}), "no_such_key": 1})
    config_of(section, name, factory)  # builds from defaults or the sample
    if section == "exporters":
        assert issubclass(factory.config, SendingConfig), "exporters share the sending settings"
    if factory.check is not None:
        assert factory.check(config_of(section, name, factory), Context()) == []


@pytest.mark.parametrize("name, factory", components.PROCESSORS.items())
async def test_processor_lifecycle(name, factory):
    for _ in range(2):
        processor = factory.create(config_of("processors", name, factory), Context())
        processor.shutdown()  # without start: safe
        processor = factory.create(config_of("processors", name, factory), Context())
        processor.start()
        result = processor.process(one_batch())
        batch = await result if inspect.isawaitable(result) else result
        assert isinstance(batch, M.Batch) and len(batch.spans) == 1
        processor.shutdown()
        processor.shutdown()  # twice: safe


@pytest.mark.parametrize("name, factory", components.EXPORTERS.items())
async def test_exporter_lifecycle(name, factory, tmp_path: Path):
    with CaptureServer() as destination:
        for _ in range(2):
            config = config_of("exporters", name, factory, destination.url)
            exporter = factory.create(config, Context(base_dir=tmp_path))
            await exporter.shutdown()  # without start: safe
            exporter = factory.create(config, Context(base_dir=tmp_path))
            await exporter.start()
            items = exporter.render(one_batch())
            assert items and all(isinstance(kind, str) and isinstance(body, bytes) for kind, body in items)
            await exporter.send(items)  # the stand-in accepts everything: no error
            await exporter.shutdown()
            await exporter.shutdown()


class Recorder:
    """The receiver's consumer in this test: keeps what it was given."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []

    async def consume(self, signal: str, request: Any, size: int, rejected: list[str]) -> int:
        self.requests.append((signal, request))
        return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


@pytest.mark.parametrize("name, factory", components.RECEIVERS.items())
async def test_receiver_lifecycle(name, factory):
    body = trace_request([chat_span(1, "hello", "hi")]).SerializeToString()
    for _ in range(2):
        consumer = Recorder()
        receiver = factory.create(config_of("receivers", name, factory), Context(), consumer, Telemetry())
        await receiver.shutdown()  # without start: safe
        receiver = factory.create(config_of("receivers", name, factory), Context(), consumer, Telemetry())
        await receiver.start()
        try:
            if "http" in receiver.ports:
                async with aiohttp.ClientSession() as session:
                    async with session.post(
                        f"http://127.0.0.1:{receiver.ports['http']}/v1/traces",
                        data=body,
                        headers={"Content-Type": "application/x-protobuf"},
                    ) as resp:
                        assert resp.status == 200
            if "grpc" in receiver.ports:
                async with grpc.aio.insecure_channel(
                    f"127.0.0.1:{receiver.ports['grpc']}", options=[("grpc.enable_http_proxy", 0)]
                ) as channel:
                    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
                    await stub.Export(trace_service_pb2.ExportTraceServiceRequest.FromString(body), timeout=10)
        finally:
            await receiver.shutdown()
            await receiver.shutdown()
        assert [signal for signal, _ in consumer.requests] == ["traces"] * len(receiver.ports)
