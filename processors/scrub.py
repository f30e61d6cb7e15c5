"""The one fail-closed policy: what a span, a log record and a late evaluation keep when their content could not
be processed safely (a processor raised, redaction failed for a whole batch).

Kept, because they are structure and not content, and Datadog needs them to place the span: trace, span and
parent ids, name, kind, timing, status, the error *type*, model name and provider, metrics (token counts and
costs), service / env / version / ml_app, prompt id, name, version, label and RAG variable names, evaluation
labels with numeric or boolean values. Everything else is replaced by the marker or removed: input, output,
metadata, tool definitions, error message and stack, prompt template, chat template, variables and tags,
evaluation reasoning and text values,
every tag but the routing ones, session and user ids, and on the OTLP copy every span, event and link
attribute, the status message, log bodies and attributes, and resource and scope attributes outside
``ROUTING_RESOURCE_KEYS``. The span is tagged with the reason, so it can be found.
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


def scrub_batch(batch: M.Batch, reason: str, marker: str = MARKER) -> int:
    """Scrub every span, log record and detached evaluation of a batch in place. An item that cannot even be
    scrubbed (a shape nothing here expects) is removed from the batch; returns how many were removed."""
    before = len(batch.spans) + len(batch.logs) + len(batch.evaluations)
    batch.spans = [span for span in batch.spans if _safely(scrub_span, span, reason, marker)]
    batch.logs = [record for record in batch.logs if _safely(scrub_log, record, marker)]
    batch.evaluations = [d for d in batch.evaluations if _safely(_evaluation, d.evaluation, marker)]
    return before - len(batch.spans) - len(batch.logs) - len(batch.evaluations)


def _safely(scrub: Any, item: Any, *args: Any) -> bool:
    try:
        scrub(item, *args)
        return True
    except Exception:  # noqa: BLE001 — it cannot be made safe, so it does not leave
        return False


def scrub_span(span: M.Span, reason: str, marker: str = MARKER) -> None:
    span.input = M.IO(value=marker)
    span.output = M.IO(value=marker)
    span.metadata = {}
    span.tool_definitions = []
    if span.error is not None:
        error_type = span.error.type if isinstance(span.error.type, str) else None
        span.error = M.ErrorInfo(type=error_type, message=marker)
    if span.prompt is not None:
        prompt = span.prompt
        span.prompt = M.Prompt(
            id=prompt.id,
            name=prompt.name,
            version=prompt.version,
            label=prompt.label,
            template=marker if prompt.template or prompt.chat_template else None,
            context_variable_keys=list(prompt.context_variable_keys),
            query_variable_keys=list(prompt.query_variable_keys),
            source=prompt.source,
        )
    for evaluation in span.evaluations:
        _evaluation(evaluation, marker)
    span.session_id = marker if span.session_id else None
    span.user_id = marker if span.user_id else None
    for key in [k for k in span.tags if k not in ROUTING_TAGS]:
        span.drop_tag(key)
    span.set_tag(REASON_TAG, reason)
    span.redaction = M.RedactionSummary(found={}, failed_closed=1)
    wire = span.wire
    if wire is not None:
        wire.attributes.clear()
        for event in wire.events:
            event.attributes.clear()
        for link in wire.links:
            link.attributes.clear()
        wire.status_message = marker if wire.status_message else ""
        _resource(wire.resource)
        _resource(wire.scope)


def scrub_log(record: M.LogRecord, marker: str = MARKER) -> None:
    record.body = marker if record.body is not None else None
    record.attributes.clear()
    _resource(record.resource)
    _resource(record.scope)


def _resource(part: M.WireResource) -> None:
    for key in [k for k in part.attributes if not _ROUTING.match(k) or not isinstance(part.attributes[k], str)]:
        del part.attributes[key]


def _evaluation(evaluation: M.Evaluation, marker: str) -> None:
    evaluation.reasoning = None
    if not isinstance(evaluation.value, (int, float)):  # categorical text and JSON results can carry content
        evaluation.value = marker if evaluation.metric_type == "categorical" else {"scrubbed": marker}
    evaluation.tags = {}
