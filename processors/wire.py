"""The one module that reads and writes the OTLP copy of spans and log records.

Intake calls ``read_*`` once per request: every span and log record becomes plain values on the model (``Wire``,
``LogRecord``, ``WireResource``) that processors edit like any other field. Exporters that forward OTLP call
``traces_request`` / ``logs_request``, which render those values back onto the protobufs they were read from,
plus what processors added through the span's enrichment API (metrics, tags, prompt, evaluations), under the
attribute names in ``semconv``. No processor ever touches a protobuf.

Why this is safe by construction: the copy that leaves is written from the model's values. The only shortcut
is for attributes that are unchanged, which is proven cheaply: the same immutable objects that were read
(``is``), from a source without duplicate keys (a duplicate the model cannot hold is never forwarded).
Everything here duck-types the protobuf classes except the request types it builds.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from glassbox.processors import model as M
from glassbox.processors import semconv as S

_IMMUTABLE = (str, int, float, bool, bytes, type(None), M.Opaque)
_MISSING = object()


# --- AnyValue ↔ Python --------------------------------------------------------------------------------------


def value(any_value: Any) -> Any:
    """An OTLP AnyValue as a plain Python value: None when empty, bytes as bytes, lists and dicts for arrays
    and key-value lists (later duplicate keys win), and ``Opaque`` for a kind this version cannot read."""
    which = any_value.WhichOneof("value")
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
    if which == "bytes_value":
        return any_value.bytes_value
    if which is None and not any_value.ByteSize():
        return None
    return M.Opaque(any_value.SerializeToString())  # a newer kind, or fields this library does not know


def attributes(key_values: Any) -> dict[str, Any]:
    """Repeated KeyValue as a dict; later duplicates win, as in the SDKs."""
    return {kv.key: value(kv.value) for kv in key_values}


def set_value(any_value: Any, python_value: Any) -> None:
    """Write a plain value into an AnyValue (the inverse of ``value``)."""
    any_value.Clear()
    if python_value is None:
        return
    if isinstance(python_value, bool):
        any_value.bool_value = python_value
    elif isinstance(python_value, int):
        if -(2**63) <= python_value < 2**63:
            any_value.int_value = python_value
        else:
            any_value.string_value = str(python_value)
    elif isinstance(python_value, float):
        any_value.double_value = python_value
    elif isinstance(python_value, str):
        any_value.string_value = python_value
    elif isinstance(python_value, (bytes, bytearray)):
        any_value.bytes_value = bytes(python_value)
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
    elif isinstance(python_value, M.Opaque):
        any_value.ParseFromString(python_value.raw)
    else:
        any_value.string_value = str(python_value)


def text(raw: Any) -> str:
    """A bytes value as text for readers of the model (UTF-8 when it is, else base64)."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(raw).decode()
    return raw if isinstance(raw, str) else str(raw)


# --- reading ------------------------------------------------------------------------------------------------


def _snapshot(values: dict[str, Any], source_count: int) -> dict[str, Any] | None:
    """What was read, for the unchanged test; None when the source had duplicate keys (always rewrite)."""
    return dict(values) if len(values) == source_count else None


def read_resource(message: Any, schema_url: str = "", *, with_attributes: bool = True) -> M.WireResource:
    """A resource or instrumentation scope (both have ``attributes``; a scope has a name and a version, a
    resource may have entity references). ``with_attributes=False``: attributes unreadable, none are forwarded."""
    attrs = attributes(message.attributes) if with_attributes else {}
    part = M.WireResource(
        attrs, schema_url, message, _snapshot(attrs, len(message.attributes)) if with_attributes else None
    )
    if hasattr(message, "version"):  # InstrumentationScope
        part.name, part.version = message.name, message.version
    for ref in getattr(message, "entity_refs", ()):
        part.entity_refs.append(
            {
                "type": ref.type,
                "id_keys": list(ref.id_keys),
                "description_keys": list(ref.description_keys),
                "schema_url": ref.schema_url,
            }
        )
    return part


def read_span(
    span: Any, resource: M.WireResource, scope: M.WireResource, attrs: dict[str, Any] | None = None
) -> M.Wire:
    """A protobuf span's attributes, events, links and status message as plain values (``attrs``: already read)."""
    attrs = attributes(span.attributes) if attrs is None else attrs
    events = []
    for i, event in enumerate(span.events):
        values = attributes(event.attributes)
        events.append(
            M.WireEvent(event.name, values, event.time_unix_nano, i, _snapshot(values, len(event.attributes)))
        )
    links = []
    for i, link in enumerate(span.links):
        values = attributes(link.attributes)
        links.append(
            M.WireLink(
                values,
                link.trace_id,
                link.span_id,
                link.trace_state,
                link.flags,
                i,
                _snapshot(values, len(link.attributes)),
            )
        )
    return M.Wire(
        attrs,
        events,
        links,
        span.status.message,
        resource,
        scope,
        span,
        _snapshot(attrs, len(span.attributes)),
        span.name,
        span.trace_state,
    )


def read_logs(request: Any) -> list[M.LogRecord]:
    """Every log record of an ExportLogsServiceRequest, with its resource and scope."""
    records = []
    for resource_logs in request.resource_logs:
        resource = read_resource(resource_logs.resource, resource_logs.schema_url)
        for scope_logs in resource_logs.scope_logs:
            scope = read_resource(scope_logs.scope, scope_logs.schema_url)
            for record in scope_logs.log_records:
                attrs = attributes(record.attributes)
                body = value(record.body) if record.HasField("body") else None
                records.append(
                    M.LogRecord(
                        trace_id=record.trace_id.hex(),
                        span_id=record.span_id.hex(),
                        event_name=record.event_name,
                        time_unix_nano=record.time_unix_nano or record.observed_time_unix_nano,
                        body=body,
                        attributes=attrs,
                        resource=resource,
                        scope=scope,
                        source=record,
                        read=(_snapshot(attrs, len(record.attributes)), body),
                        severity_text=record.severity_text,
                    )
                )
    return records


# --- writing ------------------------------------------------------------------------------------------------


def _unchanged(values: dict[str, Any], read: dict[str, Any] | None) -> bool:
    if read is None or len(values) != len(read):
        return False
    for key, val in values.items():
        if read.get(key, _MISSING) is not val or not isinstance(val, _IMMUTABLE):
            return False
    return True


def _write_attributes(target: Any, values: dict[str, Any], read: dict[str, Any] | None) -> None:
    if _unchanged(values, read):
        return
    del target[:]
    for key, val in values.items():
        kv = target.add()
        kv.key = key
        set_value(kv.value, val)


def _enrich(span: M.Span, wire: M.Wire) -> None:
    """What processors added through the span's API, under the attribute names chosen in ``semconv``."""
    attrs = wire.attributes
    for name in span.enriched_metrics:
        if name in span.metrics:
            attrs[S.METRIC_ATTRIBUTES.get(name, S.METRIC_ATTRIBUTE_PREFIX + name)] = span.metrics[name]
    for key in span.enriched_tags:
        if key in span.tags:
            attrs[key] = span.tags[key]
        else:
            attrs.pop(key, None)
    if span.enriched_prompt:
        prompt = span.prompt
        for key, val in (
            (S.PROMPT_NAME[0], prompt.name if prompt else None),
            (S.PROMPT_VERSION[0], prompt.version if prompt else None),
            (S.PROMPT_ID, prompt.id if prompt else None),
        ):
            if val:
                attrs[key] = val
            else:
                attrs.pop(key, None)
    if span.added_evaluations or any(event.index < 0 for event in wire.events):
        wire.events = [event for event in wire.events if event.index >= 0]  # a second render replaces them
        end = wire.source.end_time_unix_nano if wire.source is not None else 0
        wire.events.extend(
            M.WireEvent(
                S.EVENT_EVALUATION, _evaluation_attributes(ev), ev.timestamp_ms * 1_000_000 if ev.timestamp_ms else end
            )
            for ev in span.added_evaluations
        )


def _evaluation_attributes(evaluation: M.Evaluation) -> dict[str, Any]:
    attrs: dict[str, Any] = {S.EVALUATION_NAME: evaluation.label}
    if evaluation.metric_type == "score" and isinstance(evaluation.value, (int, float)):
        attrs[S.EVALUATION_SCORE] = float(evaluation.value)
    label = evaluation.assessment or (evaluation.value if isinstance(evaluation.value, str) else None)
    if label:
        attrs[S.EVALUATION_LABEL] = label
    if evaluation.reasoning:
        attrs[S.EVALUATION_EXPLANATION] = evaluation.reasoning
    return attrs


def _write_span(span: M.Span) -> Any:
    """The span's protobuf, rewritten in place from the model (idempotent: rendering twice changes nothing)."""
    wire = span.wire
    assert wire is not None
    _enrich(span, wire)
    source = wire.source
    _write_attributes(source.attributes, wire.attributes, wire.read)
    events, links = wire.events, wire.links
    if [e.index for e in events] == list(range(len(source.events))):
        for event, target in zip(events, source.events):
            if target.name != event.name:
                target.name = event.name
            _write_attributes(target.attributes, event.attributes, event.read)
    else:  # events were removed, reordered or added: rebuild them all from the model
        del source.events[:]
        for event in events:
            target = source.events.add()
            target.name, target.time_unix_nano = event.name, event.time_unix_nano
            _write_attributes(target.attributes, event.attributes, None)
    if [link.index for link in links] == list(range(len(source.links))):
        for link, target in zip(links, source.links):
            if target.trace_state != link.trace_state:
                target.trace_state = link.trace_state
            _write_attributes(target.attributes, link.attributes, link.read)
    else:
        del source.links[:]
        for link in links:
            target = source.links.add()
            target.trace_id, target.span_id, target.trace_state, target.flags = (
                link.trace_id,
                link.span_id,
                link.trace_state,
                link.flags,
            )
            _write_attributes(target.attributes, link.attributes, None)
    if source.status.message != wire.status_message:
        source.status.message = wire.status_message
    if source.name != wire.name:
        source.name = wire.name
    if source.trace_state != wire.trace_state:
        source.trace_state = wire.trace_state
    return source


def _write_resource(part: M.WireResource) -> Any:
    source = part.source
    _write_attributes(source.attributes, part.attributes, part.read)
    if hasattr(source, "version"):
        if source.name != part.name:
            source.name = part.name
        if source.version != part.version:
            source.version = part.version
    if hasattr(source, "entity_refs"):
        del source.entity_refs[:]
        for ref in part.entity_refs:
            target = source.entity_refs.add()
            target.type, target.schema_url = str(ref.get("type") or ""), str(ref.get("schema_url") or "")
            target.id_keys.extend(str(k) for k in ref.get("id_keys") or () if k is not None)
            target.description_keys.extend(str(k) for k in ref.get("description_keys") or () if k is not None)
    return source


class _Groups:
    """The resource and scope containers of one request, made on first use, in arrival order: a span or record
    goes back under the resource and scope it arrived with (the same objects, so ``id`` is the key)."""

    def __init__(self, resource_list: Any, scope_field: str):
        self.resource_list, self.scope_field = resource_list, scope_field
        self.resources: dict[int, Any] = {}
        self.scopes: dict[tuple[int, int], Any] = {}

    def scope(self, resource: M.WireResource, scope: M.WireResource) -> Any:
        rkey = id(resource)
        container = self.resources.get(rkey)
        if container is None:
            container = self.resources[rkey] = self.resource_list.add()
            container.resource.CopyFrom(_write_resource(resource))
            container.schema_url = resource.schema_url
        skey = (rkey, id(scope))
        group = self.scopes.get(skey)
        if group is None:
            group = self.scopes[skey] = getattr(container, self.scope_field).add()
            group.scope.CopyFrom(_write_resource(scope))
            group.schema_url = scope.schema_url
        return group


def traces_request(spans: Iterable[M.Span]) -> ExportTraceServiceRequest:
    """The OTLP copy of model spans as one request, grouped under the resource and scope they arrived with."""
    request = ExportTraceServiceRequest()
    groups = _Groups(request.resource_spans, "scope_spans")
    for span in spans:
        if span.wire is not None:
            groups.scope(span.wire.resource, span.wire.scope).spans.append(_write_span(span))
    request.DiscardUnknownFields()  # fields newer than this library: content nothing here could inspect
    return request


def logs_request(records: Iterable[M.LogRecord]) -> ExportLogsServiceRequest:
    """The OTLP copy of log records as one request, grouped under their resource and scope."""
    request = ExportLogsServiceRequest()
    groups = _Groups(request.resource_logs, "scope_logs")
    for record in records:
        groups.scope(record.resource, record.scope).log_records.append(_write_record(record))
    request.DiscardUnknownFields()
    return request


def evaluation_logs(detached: Iterable[M.DetachedEvaluation]) -> ExportLogsServiceRequest:
    """Evaluations made after their span left (an LLM judge's), as semconv ``gen_ai.evaluation.result`` log
    records joined to the span by trace and span id: how OTLP copies get them."""
    request = ExportLogsServiceRequest()
    by_service: dict[str | None, Any] = {}
    for item in detached:
        scope_logs = by_service.get(item.service)
        if scope_logs is None:
            resource_logs = request.resource_logs.add()
            if item.service:
                kv = resource_logs.resource.attributes.add()
                kv.key = S.SERVICE_NAME
                set_value(kv.value, item.service)
            scope_logs = by_service[item.service] = resource_logs.scope_logs.add()
            scope_logs.scope.name = "glassbox"
        record = scope_logs.log_records.add()
        record.event_name = S.EVENT_EVALUATION
        record.trace_id = bytes.fromhex(item.trace_id)
        record.span_id = bytes.fromhex(item.span_id)
        record.time_unix_nano = (item.evaluation.timestamp_ms or 0) * 1_000_000
        for key, val in _evaluation_attributes(item.evaluation).items():
            kv = record.attributes.add()
            kv.key = key
            set_value(kv.value, val)
    return request


def _write_record(record: M.LogRecord) -> Any:
    source = record.source
    read_attrs, read_body = record.read if record.read is not None else (None, _MISSING)
    _write_attributes(source.attributes, record.attributes, read_attrs)
    if source.event_name != record.event_name:
        source.event_name = record.event_name
    if source.severity_text != record.severity_text:
        source.severity_text = record.severity_text
    body = record.body
    if not (body is read_body and isinstance(body, _IMMUTABLE)):
        if body is None:
            source.ClearField("body")
        else:
            set_value(source.body, body)
    return source


# --- metric requests ----------------------------------------------------------------------------------------

Cell = tuple[Any, Callable[[Any], None]]  # a value and how to replace it


def metric_values(request: Any) -> list[Cell]:
    """Every value of a metrics request that could carry content, with a setter: every string field (metric
    names, descriptions, units, attribute keys, scope and schema fields), and every attribute value of data
    points, exemplars, resources and scopes (strings, bytes, numbers as read by ``value``). Found by walking
    the set fields of the protobuf, so a field added to the schema is covered without a change here; ids (the
    only bytes fields outside AnyValue) are left alone."""
    out: list[Cell] = []
    _message_values(request, out)
    return out


def _message_values(message: Any, out: list[Cell]) -> None:
    if message.DESCRIPTOR.full_name == "opentelemetry.proto.common.v1.AnyValue":
        out.append((value(message), functools.partial(set_value, message)))
        return
    for descriptor, field_value in message.ListFields():
        name = descriptor.name
        if descriptor.type == descriptor.TYPE_STRING:
            if _is_repeated(descriptor):
                for i in range(len(field_value)):
                    out.append((field_value[i], functools.partial(_set_item, field_value, i)))
            else:
                out.append((field_value, functools.partial(_set_field, message, name)))
        elif descriptor.type == descriptor.TYPE_MESSAGE:
            for item in field_value if _is_repeated(descriptor) else (field_value,):
                _message_values(item, out)


def _set_item(sequence: Any, index: int, new: Any) -> None:
    sequence[index] = str(new)


def _set_field(message: Any, name: str, new: Any) -> None:
    setattr(message, name, str(new))


def _is_repeated(descriptor: Any) -> bool:
    repeated = getattr(descriptor, "is_repeated", None)  # protobuf >= 5.28; ``label`` before
    return bool(repeated) if repeated is not None else descriptor.label == descriptor.LABEL_REPEATED


def metrics_request(request: Any) -> Any:
    """A metrics request as OTLP exporters forward it: fields newer than this library removed."""
    request.DiscardUnknownFields()
    return request
