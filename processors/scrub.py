"""The one fail-closed policy: what a span, a log record and a late evaluation keep when their content could not
be processed safely (a processor raised, redaction failed for a whole batch).

Kept, because they are structure and not content, and Datadog needs them to place the span: trace, span and
parent ids, kind, timing, status, metrics (token counts and costs), RAG variable names, evaluation labels with
numeric or boolean values — and these names, each only while its value has a shape no PII pattern can take
(``structural``: a short identifier, few digits, no ``@``, no address): the span name, model name and provider,
the error *type*, service / env / version / ml_app, prompt id, name, version and label, event names, scope
name and version, schema URLs, log event names and severity texts, routing resource attributes. A value of
another shape is replaced by the marker: the scrub path runs before redaction looked at anything, so nothing
here may trust that a "name" is only a name.

Everything else is replaced by the marker or removed: input, output, metadata, tool definitions, error message
and stack, prompt template, chat template, variables and tags, evaluation reasoning and text values, every tag
but the routing ones, session and user ids, and on the OTLP copy every span, event and link attribute, trace
states, entity references, the status message, log bodies and attributes, and resource and scope attributes
outside ``ROUTING_RESOURCE_KEYS``. The span is tagged with the reason, so it can be found.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from glassbox.processors import model as M

MARKER = "[glassbox: content removed because a processor failed]"  # redaction passes its own marker
REASON_TAG = "glassbox.scrubbed"
# Tags that route and identify, never carry user content (they are also set from resource attributes).
ROUTING_TAGS = frozenset({"env", "service", "version", "ml_app", "source", "language"})
# Resource and scope attributes that identify the sender, never carry user content.
ROUTING_RESOURCE_KEYS = (
    "service.name",
    "service.version",
    "service.namespace",
    "deployment.environment*",
    "telemetry.sdk.*",
    "telemetry.distro.*",
)
_ROUTING = re.compile("|".join(fnmatch.translate(p) for p in ROUTING_RESOURCE_KEYS))
# An identifier or a version (ASCII letters, digits, ``_ . : / -`` and spaces), at most 128 characters.
_IDENTIFIER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/ -]{0,127}")
_ADDRESS = re.compile(r"\d\.\d+\.\d+\.\d|::")  # an IPv4 or IPv6 address


def structural(value: Any) -> bool:
    """Whether a kept name cannot hold a pattern PII value: an ASCII identifier with at most 4 digits (a card,
    phone, SSN, IBAN or account needs more), no ``@`` and no IP address. ``gpt-4o-mini`` passes;
    ``gpt-4o-2024-08-06`` does not (a date is digits too) and is replaced on this path."""
    return (
        isinstance(value, str)
        and _IDENTIFIER.fullmatch(value) is not None
        and sum(c.isdigit() for c in value) <= 4
        and _ADDRESS.search(value) is None
    )


def _kept(value: Any, marker: str) -> Any:
    return value if value is None or value == "" or structural(value) else marker


def scrub_batch(batch: M.Batch, reason: str, marker: str = MARKER) -> int:
    """Scrub every span, log record and detached evaluation of a batch in place. An item that cannot even be
    scrubbed (a shape nothing here expects) is removed from the batch; returns how many were removed."""
    before = len(batch.spans) + len(batch.logs) + len(batch.evaluations)
    batch.spans = [span for span in batch.spans if _safely(scrub_span, span, reason, marker)]
    batch.logs = [record for record in batch.logs if _safely(scrub_log, record, marker)]
    batch.evaluations = [d for d in batch.evaluations if _safely(_detached, d, marker)]
    return before - len(batch.spans) - len(batch.logs) - len(batch.evaluations)


def _safely(scrub: Any, item: Any, *args: Any) -> bool:
    try:
        scrub(item, *args)
        return True
    except Exception:  # noqa: BLE001 — it cannot be made safe, so it does not leave
        return False


def scrub_span(span: M.Span, reason: str, marker: str = MARKER) -> None:
    for name in ("name", "model_name", "model_provider", "ml_app", "service", "env", "version"):
        setattr(span, name, _kept(getattr(span, name), marker))
    span.metrics = {k: v for k, v in span.metrics.items() if structural(k) and isinstance(v, (int, float))}
    span.input = M.IO(value=marker)
    span.output = M.IO(value=marker)
    span.metadata = {}
    span.tool_definitions = []
    if span.error is not None:
        span.error = M.ErrorInfo(type=_kept(span.error.type, marker), message=marker)
    if span.prompt is not None:
        prompt = span.prompt
        span.prompt = M.Prompt(
            id=_kept(prompt.id, marker),
            name=_kept(prompt.name, marker),
            version=_kept(prompt.version, marker),
            label=_kept(prompt.label, marker),
            template=marker if prompt.template or prompt.chat_template else None,
            context_variable_keys=[k for k in prompt.context_variable_keys if structural(k)],
            query_variable_keys=[k for k in prompt.query_variable_keys if structural(k)],
            source=_kept(prompt.source, marker),
        )
    span.own_evaluations()  # shared results are never changed in place
    for evaluation in span.evaluations:
        _evaluation(evaluation, marker)
    span.session_id = marker if span.session_id else None
    span.user_id = marker if span.user_id else None
    for key in list(span.tags):
        value = span.tags[key]
        if key not in ROUTING_TAGS:
            span.drop_tag(key)
        elif not (structural(value) or (isinstance(value, list) and all(structural(v) for v in value))):
            span.set_tag(key, marker)
    span.set_tag(REASON_TAG, reason)
    span.redaction = M.RedactionSummary(found={}, failed_closed=1)
    wire = span.wire
    if wire is not None:
        wire.attributes.clear()
        wire.name = _kept(wire.name, marker)
        wire.trace_state = ""
        for event in wire.events:
            event.attributes.clear()
            event.name = _kept(event.name, marker)
        for link in wire.links:
            link.attributes.clear()
            link.trace_state = ""
        wire.status_message = marker if wire.status_message else ""
        _resource(wire.resource, marker)
        _resource(wire.scope, marker)


def scrub_log(record: M.LogRecord, marker: str = MARKER) -> None:
    record.body = marker if record.body is not None else None
    record.attributes.clear()
    record.event_name = _kept(record.event_name, marker)
    record.severity_text = _kept(record.severity_text, marker)
    _resource(record.resource, marker)
    _resource(record.scope, marker)


def _resource(part: M.WireResource, marker: str) -> None:
    for key in list(part.attributes):
        if not (_ROUTING.match(key) and structural(part.attributes[key])):
            del part.attributes[key]
    part.name, part.version = _kept(part.name, marker), _kept(part.version, marker)
    part.schema_url = part.schema_url if structural(part.schema_url) else ""
    part.entity_refs = []


def _detached(detached: M.DetachedEvaluation, marker: str) -> None:
    detached.service = _kept(detached.service, marker)
    detached.evaluation = M.owned(detached.evaluation)
    _evaluation(detached.evaluation, marker)


def _evaluation(evaluation: M.Evaluation, marker: str) -> None:
    evaluation.label = _kept(evaluation.label, marker)
    evaluation.assessment = evaluation.assessment if evaluation.assessment in ("pass", "fail") else None
    evaluation.reasoning = None
    if not isinstance(evaluation.value, (int, float)):  # categorical text and JSON results can carry content
        evaluation.value = marker if evaluation.metric_type == "categorical" else {"scrubbed": marker}
    evaluation.tags = {}
