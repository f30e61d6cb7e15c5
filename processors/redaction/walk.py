"""Find every string in a batch that could carry PII, and remember how to write each one back.

Two passes, so one batch makes one round trip to the workers: ``collect`` walks the span model (messages, tool
calls and results, documents, values, metadata, errors, prompts, evaluations, tags, user/session ids) and the
OTLP copy exporters forward, as the model holds it (each span's attributes, events, links and status; resource
and scope attributes; log records' bodies and attributes), producing ``Slot``s; ``apply`` writes the outcomes
back.

* JSON is walked, not scanned as text: a string that parses as a JSON object/array (tool arguments,
  ``gen_ai.input.messages``, ``traceloop.entity.input``) has its values redacted and its keys and structure
  kept; it is re-serialized only if something changed. Chat history inside such a JSON string then hits the
  cache message by message.
* Integers of 6+ digits (a card or phone number sent as a JSON number) are scanned as text and become strings
  only if something was found.
* Bytes values are analysed as UTF-8 text and written back as bytes.
* Anything the walker does not know how to read — an AnyValue kind newer than our OTLP library
  (``model.Opaque``), bytes that are not UTF-8, an object where a string or JSON was expected, nesting deeper
  than ``MAX_DEPTH`` — is replaced by the failure marker at once: fail closed, counted as ``unknown_shape``.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from glassbox.processors import model as M
from glassbox.processors import semconv
from glassbox.processors.redaction.analyzer import Outcome
from glassbox.processors.redaction.config import RedactionConfig

MAX_DEPTH = (
    32  # JSON / AnyValue nesting; deeper content is replaced by the marker (protobuf itself stops near 100 messages)
)
MIN_INT = 100_000  # integers below this cannot be a card, phone, SSN, account...
OWN_TAGS = ("pii.detected", "pii.type", "pii.failed_closed")
# Tags that are routing/identity, not content (their values also appear in many spans).
SAFE_TAGS = ("env", "service", "version", "ml_app", "source", "language", "session_id", "user_id") + OWN_TAGS
Setter = Callable[[str], None]
Dropper = Callable[[], None]


def _globs(patterns: tuple[str, ...] | list[str]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(p) for p in patterns) or "(?!)")


def _orjson_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _json_text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from a "\ud800" escape): keep it escaped, as it came
        return json.dumps(value)
    return text


def _parse_json(text: str) -> tuple[Any, Callable[[Any], str]]:
    """A JSON document and the encoder to write it back with. orjson first (several times faster; this runs on
    every message list); what only the standard library reads (NaN, integers over 64 bits, nesting deeper than
    orjson's limit) is read and written back by it, so a value is never changed by the round trip."""
    try:
        return orjson.loads(text), _orjson_text
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text), _json_text
    except (ValueError, RecursionError):
        return None, _json_text


class KeyRules:
    """Which attribute keys are scanned and which tags are left alone: the globs compiled once per processor, and
    keys decided once (attribute keys are few and repeat in every batch; the cache is bounded all the same)."""

    def __init__(self, settings: RedactionConfig):
        attrs = settings.attributes
        self._include = _globs(list(attrs.include))
        self._exclude = _globs(list(attrs.exclude))
        self._content = _globs(semconv.CONTENT_ATTRIBUTES)  # scanned whatever include/exclude say
        self._keys: dict[str, bool] = {}

    def scanned(self, key: str) -> bool:
        hit = self._keys.get(key)
        if hit is None:
            hit = bool(self._content.match(key)) or (bool(self._include.match(key)) and not self._exclude.match(key))
            if len(self._keys) < 10_000:
                self._keys[key] = hit
        return hit

    def tag_skipped(self, key: str) -> bool:
        return key in SAFE_TAGS or bool(self._exclude.match(key))


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
    settings: RedactionConfig
    slots: list[Slot] = field(default_factory=list)
    finalizers: list[Callable[[], None]] = field(default_factory=list)
    summaries: dict[int, Summary] = field(default_factory=dict)  # id(span) -> summary
    orphan: Summary = field(default_factory=Summary)  # resource/scope attributes, logs without a span here
    rules: KeyRules | None = None  # the processor's (shared across batches); built here when not given

    def __post_init__(self) -> None:
        self.marker = self.settings.failure_marker
        self._rules = self.rules if self.rules is not None else KeyRules(self.settings)

    # --- entry ----------------------------------------------------------------------------------------------

    def collect(self, batch: M.Batch) -> None:
        by_id: dict[tuple[str, str], Summary] = {}
        seen: set[int] = set()
        for span in batch.spans:
            summary = self.summaries[id(span)] = Summary()
            by_id[(span.trace_id, span.span_id)] = summary
            self._span(span, summary)
            if span.wire is not None:
                self._wire(span.wire, summary)
                self._resources((span.wire.resource, span.wire.scope), seen)
        for record in batch.logs:
            summary = by_id.get((record.trace_id, record.span_id), self.orphan)
            if record.body is not None:
                self._value(_Attr(record), "body", "logs", summary, 0)
            self._attributes(record.attributes, "logs", summary)
            self._resources((record.resource, record.scope), seen)
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
            parsed, dump = _parse_json(value)
            if isinstance(parsed, (dict, list)):
                holder = [parsed]
                changed = [False]
                self._value(holder, 0, where, summary, depth + 1, changed)

                def finalize() -> None:
                    if changed[0]:
                        set_(dump(holder[0]))

                self.finalizers.append(finalize)
                return
        self.slots.append(Slot(value, where, summary, set_, drop))

    def _value(
        self, container: Any, key: Any, where: str, summary: Summary, depth: int, changed: list[bool] | None = None
    ) -> None:
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
        elif isinstance(value, bytes):
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                self._fail(put, summary, "unknown_shape")  # binary: cannot be analysed, cannot pass
                return
            self._string(text, where, summary, lambda new: put(new.encode("utf-8")), drop, depth)
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
            for message in span.prompt.chat_template or ():
                if "content" in message:
                    self._value(message, "content", "prompt", summary, 0)
            self._value({"t": span.prompt.tags}, "t", "prompt", summary, 0)
        for evaluation in span.evaluations:
            self._evaluation(evaluation, summary)
        for key in list(span.tags):
            if self._rules.tag_skipped(key):
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

    # --- the OTLP copy ------------------------------------------------------------------------------------------

    def _attributes(self, attrs: dict[str, Any], where: str, summary: Summary) -> None:
        for key in list(attrs):
            if self._rules.scanned(key):
                self._value(attrs, key, where, summary, 0)

    def _wire(self, wire: M.Wire, summary: Summary) -> None:
        self._attributes(wire.attributes, "span.attributes", summary)
        for event in wire.events:
            self._attributes(event.attributes, "span.events", summary)
        for link in wire.links:
            self._attributes(link.attributes, "span.links", summary)
        if wire.status_message:
            self._field(wire, "status_message", "span.status", summary, empty="")

    def _resources(self, parts: tuple[M.WireResource, M.WireResource], seen: set[int]) -> None:
        """Resource and scope attributes, once per request part (spans and records share them)."""
        for part, where in zip(parts, ("resource.attributes", "scope.attributes")):
            if id(part) not in seen:
                seen.add(id(part))
                self._attributes(part.attributes, where, self.orphan)


class _Attr:
    """``container[key]`` access to an object's attribute (evaluation values)."""

    def __init__(self, obj: Any):
        self.obj = obj

    def __getitem__(self, key: str) -> Any:
        return getattr(self.obj, key)

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self.obj, key, value)
