"""OTLP wire formats: decode request bodies (protobuf or OTLP/JSON) and read AnyValues as Python values.

OTLP/JSON differs from the proto3 JSON mapping (hex ids instead of base64, int64 as string or number), so
ids are rewritten before ``json_format`` parses the rest; everything else is the protobuf library's job.
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

SIGNALS = {
    "traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
    "logs": (ExportLogsServiceRequest, ExportLogsServiceResponse),
    "metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
}
_ID_FIELDS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})
MAX_JSON_DEPTH = 64  # OTLP needs ~12 levels for the deepest AnyValue we care about; deeper is hostile input.


class BadRequest(ValueError):
    """The body is not a valid OTLP request; the message is safe to return to the client."""


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


def value(any_value: Any) -> Any:
    """An OTLP AnyValue as a plain Python value (None when empty)."""
    which = any_value.WhichOneof("value")
    if which is None:
        return None
    if which == "string_value":
        return any_value.string_value
    if which == "int_value":
        return any_value.int_value
    if which == "double_value":
        return any_value.double_value
    if which == "bool_value":
        return any_value.bool_value
    if which == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: value(kv.value) for kv in any_value.kvlist_value.values}
    return base64.b64encode(any_value.bytes_value).decode()


def attributes(key_values: Any) -> dict[str, Any]:
    """Repeated KeyValue as a dict; later duplicates win, as in the SDKs."""
    return {kv.key: value(kv.value) for kv in key_values}


def set_value(any_value: Any, python_value: Any) -> None:
    """Write a Python value into an AnyValue (used when a processor rewrites an attribute)."""
    if python_value is None:
        any_value.Clear()
    elif isinstance(python_value, bool):
        any_value.bool_value = python_value
    elif isinstance(python_value, int):
        any_value.int_value = python_value
    elif isinstance(python_value, float):
        any_value.double_value = python_value
    elif isinstance(python_value, str):
        any_value.string_value = python_value
    elif isinstance(python_value, bytes):
        any_value.bytes_value = python_value
    elif isinstance(python_value, (list, tuple)):
        any_value.array_value.SetInParent()
        for item in python_value:
            set_value(any_value.array_value.values.add(), item)
    elif isinstance(python_value, dict):
        any_value.kvlist_value.SetInParent()
        for key, item in python_value.items():
            kv = any_value.kvlist_value.values.add()
            kv.key = str(key)
            set_value(kv.value, item)
    else:
        any_value.string_value = str(python_value)


def traces_request(spans: list[Any]) -> ExportTraceServiceRequest:
    """Model spans back as one request, grouped under the resource and scope they arrived with."""
    request = ExportTraceServiceRequest()
    resources: dict[int, Any] = {}
    scopes: dict[tuple[int, int], Any] = {}
    for span in spans:
        origin = span.origin
        if origin is None:
            continue
        rkey = id(origin.resource)
        resource_spans = resources.get(rkey)
        if resource_spans is None:
            resource_spans = resources[rkey] = request.resource_spans.add()
            resource_spans.resource.CopyFrom(origin.resource)
            resource_spans.schema_url = origin.resource_schema_url
        skey = (rkey, id(origin.scope))
        scope_spans = scopes.get(skey)
        if scope_spans is None:
            scope_spans = scopes[skey] = resource_spans.scope_spans.add()
            scope_spans.scope.CopyFrom(origin.scope)
            scope_spans.schema_url = origin.scope_schema_url
        scope_spans.spans.append(origin.span)
    return request
