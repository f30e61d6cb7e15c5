"""Find every string in a batch that could carry PII, and remember how to write each one back.

Two passes, so one batch makes one round trip to the workers: ``collect`` walks the span model (messages, tool
calls and results, documents, values, metadata, errors, prompts, evaluations, tags, user/session ids) and the
OTLP protobufs exporters forward (each span's attributes, events, links and status; resource and scope
attributes; log records' bodies and attributes), producing ``Slot``s; ``apply`` writes the outcomes back.

* JSON is walked, not scanned as text: a string that parses as a JSON object/array (tool arguments,
  ``gen_ai.input.messages``, ``traceloop.entity.input``) has its values redacted and its keys and structure
  kept; it is re-serialized only if something changed. Chat history inside such a JSON string then hits the
  cache message by message.
* Integers of 6+ digits (a card or phone number sent as a JSON number) are scanned as text and become strings
  only if something was found.
* Anything the walker does not know how to read — an unknown AnyValue kind, undecodable bytes, an object where
  a string or JSON was expected, nesting deeper than ``MAX_DEPTH`` — is replaced by the failure marker at
  once: fail closed, counted as ``unknown_shape``.

Duck-typed on purpose: OTLP messages are only touched through their field names (``attributes``, ``events``,
``WhichOneof``), so any protobuf runtime works.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from glassbox.processors import model as M
from glassbox.processors.redaction.analyzer import Outcome
from glassbox.processors.redaction.config import RedactionSettings

MAX_DEPTH = 32  # JSON / AnyValue nesting; deeper content is replaced by the marker (protobuf itself stops near 100 messages)
MIN_INT = 100_000  # integers below this cannot be a card, phone, SSN, account...
OWN_TAGS = ("pii.detected", "pii.type", "pii.failed_closed")
# Tags that are routing/identity, not content (their values also appear in many spans).
SAFE_TAGS = ("env", "service", "version", "ml_app", "source", "language", "session_id", "user_id") + OWN_TAGS
# Attribute keys that carry GenAI or error content: scanned whatever ``attributes.include/exclude`` say.
CONTENT_KEYS = ("gen_ai.prompt*", "gen_ai.completion*", "gen_ai.input.messages", "gen_ai.output.messages",
                "gen_ai.system_instructions", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
                "gen_ai.tool.definitions", "gen_ai.evaluation.explanation", "gen_ai.content.*", "llm.prompts*",
                "llm.completions*", "traceloop.entity.input", "traceloop.entity.output", "input.value",
                "output.value", "exception.message", "exception.stacktrace", "db.statement", "db.query.text")
Setter = Callable[[str], None]
Dropper = Callable[[], None]


def _globs(patterns: tuple[str, ...] | list[str]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(p) for p in patterns) or "(?!)")


class Summary:
    """What one span's redaction found, by location; becomes ``span.redaction`` and tags."""

    __slots__ = ("found", "failed", "reasons")

    def __init__(self) -> None:
        self.found: dict[str, set[str]] = {}
        self.failed = 0
        self.reasons: dict[str, int] = {}

    def add(self, where: str, entities: set[str]) -> None:
        if entities:
            self.found.setdefault(where, set()).update(entities)

    def fail(self, reason: str) -> None:
        self.failed += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


@dataclass(slots=True)
class Slot:
    text: str
    where: str
    summary: Summary
    set: Setter
    drop: Dropper


@dataclass
class Collector:
    settings: RedactionSettings
    slots: list[Slot] = field(default_factory=list)
    finalizers: list[Callable[[], None]] = field(default_factory=list)
    summaries: dict[int, Summary] = field(default_factory=dict)  # id(span) -> summary
    orphan: Summary = field(default_factory=Summary)  # resource/scope attributes, logs without a span here

    def __post_init__(self) -> None:
        attrs = self.settings.attributes
        self.marker = self.settings.failure_marker
        self._include = _globs(list(attrs.include))
        self._exclude = _globs(list(attrs.exclude))
        self._content = _globs(CONTENT_KEYS)
        self._keys: dict[str, bool] = {}

    # --- entry ----------------------------------------------------------------------------------------------

    def collect(self, batch: M.Batch) -> None:
        by_id: dict[tuple[str, str], Summary] = {}
        seen: set[int] = set()
        for span in batch.spans:
            summary = self.summaries[id(span)] = Summary()
            by_id[(span.trace_id, span.span_id)] = summary
            self._span(span, summary)
            origin = span.origin
            if origin is not None:
                self._otlp_span(origin.span, summary)
                for part, where in ((origin.resource, "resource.attributes"), (origin.scope, "scope.attributes")):
                    if part is not None and id(part) not in seen:
                        seen.add(id(part))
                        self._kvs(part.attributes, where, self.orphan, 0)
        for request in batch.logs:
            self._logs(request, by_id)
        for detached in batch.evaluations:
            self._evaluation(detached.evaluation, by_id.get((detached.trace_id, detached.span_id), self.orphan))

    def texts(self) -> list[str]:
        return [slot.text for slot in self.slots]

    def apply(self, outcomes: dict[str, Outcome]) -> None:
        for slot in self.slots:
            outcome = outcomes[slot.text]
            if outcome.error is not None:
                slot.set(self.marker)
                slot.summary.fail(outcome.error)
                continue
            if outcome.findings:
                slot.summary.add(slot.where, {f.entity for f in outcome.findings})
            if outcome.drop:
                slot.drop()
            elif outcome.text is not None:
                slot.set(outcome.text)
        for finalize in reversed(self.finalizers):  # inner JSON documents before the ones containing them
            finalize()

    # --- strings, JSON, Python values -----------------------------------------------------------------------

    def _string(self, value: str, where: str, summary: Summary, set_: Setter, drop: Dropper, depth: int) -> None:
        stripped = value.lstrip()
        if stripped[:1] in ("{", "[") and len(stripped) > 1:
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, (dict, list)):
                holder = [parsed]
                changed = [False]
                self._value(holder, 0, where, summary, depth + 1, changed)

                def finalize() -> None:
                    if changed[0]:
                        set_(json.dumps(holder[0], ensure_ascii=False))

                self.finalizers.append(finalize)
                return
        self.slots.append(Slot(value, where, summary, set_, drop))

    def _value(self, container: Any, key: Any, where: str, summary: Summary, depth: int,
               changed: list[bool] | None = None) -> None:
        """Walk ``container[key]`` (a dict/list slot holding JSON-like Python values)."""
        value = container[key]

        def put(new: Any) -> None:
            container[key] = new
            if changed is not None:
                changed[0] = True

        def drop() -> None:
            if isinstance(container, dict):
                container.pop(key, None)
            else:
                container[key] = None
            if changed is not None:
                changed[0] = True

        if depth > MAX_DEPTH:
            self._fail(put, summary, "unknown_shape")
        elif isinstance(value, str):
            self._string(value, where, summary, put, drop, depth)
        elif isinstance(value, bool) or value is None or isinstance(value, float):
            return
        elif isinstance(value, int):
            if abs(value) >= MIN_INT:
                self.slots.append(Slot(str(value), where, summary, put, drop))
        elif isinstance(value, dict):
            for k in list(value):
                self._value(value, k, where, summary, depth + 1, changed)
        elif isinstance(value, (list, tuple)):
            if isinstance(value, tuple):
                value = list(value)
                put(value)
            for i in range(len(value)):
                self._value(value, i, where, summary, depth + 1, changed)
        else:
            self._fail(put, summary, "unknown_shape")

    def _fail(self, set_: Setter, summary: Summary, reason: str) -> None:
        set_(self.marker)
        summary.fail(reason)

    def _field(self, obj: Any, name: str, where: str, summary: Summary, *, empty: Any = None) -> None:
        """A string field of a model object (None allowed); anything else fails closed."""
        value = getattr(obj, name)
        if value is None:
            return

        def set_(new: str) -> None:
            setattr(obj, name, new)

        def drop() -> None:
            setattr(obj, name, empty)

        if isinstance(value, str):
            self._string(value, where, summary, set_, drop, 0)
        else:
            self._fail(set_, summary, "unknown_shape")

    # --- the span model ---------------------------------------------------------------------------------------

    def _span(self, span: M.Span, summary: Summary) -> None:
        for io, side in ((span.input, "input"), (span.output, "output")):
            self._io(io, side, summary)
        if span.metadata:
            self._value({"m": span.metadata}, "m", "metadata", summary, 0)
        if span.tool_definitions:
            self._value({"t": span.tool_definitions}, "t", "tool_definitions", summary, 0)
        if span.error is not None:
            self._field(span.error, "message", "error", summary)
            self._field(span.error, "stack", "error", summary)
        if span.prompt is not None:
            self._field(span.prompt, "template", "prompt", summary)
            self._value({"v": span.prompt.variables}, "v", "prompt", summary, 0)
        for evaluation in span.evaluations:
            self._evaluation(evaluation, summary)
        for key in list(span.tags):
            if key in SAFE_TAGS or self._exclude.match(key):
                continue
            self._value(span.tags, key, "tags", summary, 0)
        self._field(span, "user_id", "tags", summary)
        self._field(span, "session_id", "tags", summary)

    def _io(self, io: M.IO, side: str, summary: Summary) -> None:
        for message in io.messages:
            where = f"{side}.messages"
            self._field(message, "content", where, summary, empty="")
            for call in message.tool_calls:
                if isinstance(call.arguments, (dict, list)):
                    self._value({"a": call.arguments}, "a", where, summary, 0)
                elif call.arguments is not None:
                    self._field(call, "arguments", where, summary)
            for result in message.tool_results:
                self._field(result, "result", where, summary, empty="")
        for document in io.documents:
            self._field(document, "text", f"{side}.documents", summary, empty="")
            self._field(document, "name", f"{side}.documents", summary)
        self._field(io, "value", f"{side}.value", summary)

    def _evaluation(self, evaluation: M.Evaluation, summary: Summary) -> None:
        self._field(evaluation, "reasoning", "evaluations", summary)
        if isinstance(evaluation.value, (str, dict, list)):  # categorical labels, JSON results
            self._value(_Attr(evaluation), "value", "evaluations", summary, 0)

    # --- OTLP protobufs ---------------------------------------------------------------------------------------

    def scanned(self, key: str) -> bool:
        hit = self._keys.get(key)
        if hit is None:
            hit = bool(self._content.match(key)) or (bool(self._include.match(key)) and not self._exclude.match(key))
            if len(self._keys) < 10_000:
                self._keys[key] = hit
        return hit

    def _otlp_span(self, span: Any, summary: Summary) -> None:
        self._kvs(span.attributes, "span.attributes", summary, 0)
        for event in span.events:
            self._kvs(event.attributes, "span.events", summary, 0)
        for link in span.links:
            self._kvs(link.attributes, "span.links", summary, 0)
        status = span.status
        if status.message:
            def set_(new: str, status: Any = status) -> None:
                status.message = new

            self._string(status.message, "span.status", summary, set_, lambda: set_(""), 0)

    def _logs(self, request: Any, by_id: dict[tuple[str, str], Summary]) -> None:
        for resource_logs in request.resource_logs:
            self._kvs(resource_logs.resource.attributes, "resource.attributes", self.orphan, 0)
            for scope_logs in resource_logs.scope_logs:
                self._kvs(scope_logs.scope.attributes, "scope.attributes", self.orphan, 0)
                for record in scope_logs.log_records:
                    summary = by_id.get((record.trace_id.hex(), record.span_id.hex()), self.orphan)
                    if record.HasField("body"):
                        self._any(record.body, "logs", summary, 0, lambda record=record: record.ClearField("body"))
                    self._kvs(record.attributes, "logs", summary, 0)

    def _kvs(self, kvs: Any, where: str, summary: Summary, depth: int, filter_keys: bool = True) -> None:
        for kv in list(kvs):
            if filter_keys and not self.scanned(kv.key):
                continue
            self._any(kv.value, where, summary, depth, lambda kv=kv: kvs.remove(kv))

    def _any(self, value: Any, where: str, summary: Summary, depth: int, drop: Dropper) -> None:
        def set_string(new: str, value: Any = value) -> None:
            value.string_value = new  # setting one member of the oneof clears the others

        if depth > MAX_DEPTH:
            self._fail(set_string, summary, "unknown_shape")
            return
        kind = value.WhichOneof("value")
        if kind == "string_value":
            self._string(value.string_value, where, summary, set_string, drop, depth)
        elif kind in ("bool_value", "double_value"):
            return
        elif kind == "int_value":
            if abs(value.int_value) >= MIN_INT:
                self.slots.append(Slot(str(value.int_value), where, summary, set_string, drop))
        elif kind == "array_value":
            values = value.array_value.values
            for item in values:
                self._any(item, where, summary, depth + 1, lambda item=item: item.Clear())
        elif kind == "kvlist_value":
            self._kvs(value.kvlist_value.values, where, summary, depth + 1, filter_keys=False)
        elif kind == "bytes_value":
            try:
                text = value.bytes_value.decode("utf-8")
            except UnicodeDecodeError:
                self._fail(set_string, summary, "unknown_shape")  # binary: cannot be analysed, cannot pass
                return

            def set_bytes(new: str, value: Any = value) -> None:
                value.bytes_value = new.encode("utf-8")

            self._string(text, where, summary, set_bytes, drop, depth)
        elif kind is None:
            if value.ByteSize():  # fields this protobuf version does not know: unknown content
                value.Clear()
                self._fail(set_string, summary, "unknown_shape")
        else:  # a kind added to OTLP after this code (e.g. string_value_strindex): cannot be read here
            self._fail(set_string, summary, "unknown_shape")


class _Attr:
    """``container[key]`` access to an object's attribute (evaluation values)."""

    def __init__(self, obj: Any):
        self.obj = obj

    def __getitem__(self, key: str) -> Any:
        return getattr(self.obj, key)

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self.obj, key, value)
