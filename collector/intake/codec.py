"""OTLP request bodies: decode them (protobuf or OTLP/JSON) and encode the responses.

OTLP/JSON differs from the proto3 JSON mapping (hex ids instead of base64, int64 as string or number), so
ids are rewritten before ``json_format`` parses the rest; everything else is the protobuf library's job.
Turning the decoded request into the span model is ``normalize``'s job (attribute values: ``processors.wire``).
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from glassbox.collector.errors import BadRequest

SIGNALS = {
    "traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
    "logs": (ExportLogsServiceRequest, ExportLogsServiceResponse),
    "metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
}
_ID_FIELDS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})
MAX_JSON_DEPTH = 64  # OTLP needs ~12 levels for the deepest AnyValue we care about; deeper is hostile input.


def decode(signal: str, body: bytes, *, json: bool) -> Any:
    """Parse one Export<Signal>ServiceRequest body."""
    request_type = SIGNALS[signal][0]
    if json:
        return _decode_json(request_type, body)
    message = request_type()
    try:
        message.ParseFromString(body)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise BadRequest(f"body is not a valid protobuf {request_type.__name__}: {exc or 'parse error'}") from None
    return message


def _decode_json(request_type: type, body: bytes) -> Any:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"OTLP/JSON body must be an object, got {type(data).__name__}")
    try:
        _hex_ids_to_base64(data, 0)
        return json_format.ParseDict(data, request_type(), ignore_unknown_fields=True)
    except BadRequest:
        raise
    except (json_format.ParseError, RecursionError, ValueError, TypeError) as exc:
        raise BadRequest(f"body is not a valid OTLP/JSON {request_type.__name__}: {exc}") from None


def _hex_ids_to_base64(node: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise BadRequest(f"OTLP/JSON nesting deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                node[key] = _hex_to_base64(key, value)
            elif isinstance(value, (dict, list)):
                _hex_ids_to_base64(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                _hex_ids_to_base64(item, depth + 1)


def _hex_to_base64(key: str, value: str) -> str:
    if not value:
        return ""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise BadRequest(f"{key} {value[:40]!r} is not hex (OTLP/JSON ids are hex strings)") from None
    return base64.b64encode(raw).decode()


def encode_response(signal: str, *, json: bool, rejected: int = 0, message: str = "") -> bytes:
    """Serialize an Export<Signal>ServiceResponse, with partial success when something was rejected."""
    response = SIGNALS[signal][1]()
    if rejected or message:
        partial = response.partial_success
        field = {"traces": "rejected_spans", "logs": "rejected_log_records", "metrics": "rejected_data_points"}[signal]
        setattr(partial, field, rejected)
        partial.error_message = message
    if json:
        return json_format.MessageToJson(response, indent=None).encode()
    return response.SerializeToString()
