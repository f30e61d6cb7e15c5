"""Fixtures for processor tests: real Presidio (in-process unless a test needs worker processes), real OTLP
protobufs built the way SDKs send them, normalized by the relay's own ``normalize``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from glassbox.processors import model as M
from glassbox.processors.redaction.analyzer import Redactor
from glassbox.processors.redaction.config import RedactionConfig
from glassbox.processors.redaction.processor import RedactionProcessor
from glassbox.processors.wire import read_logs, set_value, traces_request

TRACE_ID = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")


@pytest.fixture(scope="session")
def redactor() -> Redactor:
    """The default configuration, in this process (Presidio loads once per test session)."""
    return Redactor(RedactionConfig(workers=0))


@pytest.fixture(scope="module")
def processor() -> Iterator[RedactionProcessor]:
    """The redaction processor with the default configuration, in this process, one per test module (a module
    that needs another processor under this name defines its own)."""
    processor = RedactionProcessor(RedactionConfig(workers=0))
    processor.start()
    yield processor
    processor.shutdown()


def add_attributes(target: Any, attributes: dict[str, Any]) -> None:
    for key, value in attributes.items():
        kv = target.add()
        kv.key = key
        set_value(kv.value, value)


def trace_request(spans: list[dict[str, Any]], resource: dict[str, Any] | None = None) -> ExportTraceServiceRequest:
    """spans: {"span_id": int, "name", "attributes", "events": [(name, attrs)], "status": (code, message),
    "parent": int}"""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    add_attributes(resource_spans.resource.attributes, resource or {"service.name": "shop-bot"})
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "test"
    for spec in spans:
        span = scope_spans.spans.add()
        span.trace_id = TRACE_ID
        span.span_id = spec["span_id"].to_bytes(8, "big")
        if spec.get("parent"):
            span.parent_span_id = spec["parent"].to_bytes(8, "big")
        span.name = spec.get("name", "span")
        span.start_time_unix_nano = 1_700_000_000_000_000_000
        span.end_time_unix_nano = span.start_time_unix_nano + 1_000_000
        add_attributes(span.attributes, spec.get("attributes", {}))
        for name, attrs in spec.get("events", []):
            event = span.events.add()
            event.name = name
            add_attributes(event.attributes, attrs)
        if "status" in spec:
            span.status.code, span.status.message = spec["status"]
    return request


def log_request(records: list[dict[str, Any]]) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    add_attributes(resource_logs.resource.attributes, {"service.name": "shop-bot"})
    scope_logs = resource_logs.scope_logs.add()
    for spec in records:
        record = scope_logs.log_records.add()
        record.trace_id = TRACE_ID
        record.span_id = spec["span_id"].to_bytes(8, "big")
        record.event_name = spec.get("event_name", "")
        if "body" in spec:
            set_value(record.body, spec["body"])
        add_attributes(record.attributes, spec.get("attributes", {}))
    return request


def chat_span(span_id: int, user: str, reply: str, **extra: Any) -> dict[str, Any]:
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": user}]}]),
        "gen_ai.output.messages": json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": reply}], "finish_reason": "stop"}]
        ),
    }
    attributes.update(extra.pop("attributes", {}))
    return {"span_id": span_id, "name": "chat gpt-4o-mini", "attributes": attributes, **extra}


def otlp_copy(span: M.Span):  # noqa: ANN201 — the protobuf Span
    """The OTLP copy of one span exactly as the ``otlp`` exporter would forward it (resource: ``otlp_resource``)."""
    return traces_request([span]).resource_spans[0].scope_spans[0].spans[0]


def otlp_resource(span: M.Span):  # noqa: ANN201
    return traces_request([span]).resource_spans[0].resource


def log_records(records: list[dict[str, Any]]) -> list[M.LogRecord]:
    """Log records as the relay reads them from a request (what ``Batch.logs`` holds)."""
    return read_logs(log_request(records))
