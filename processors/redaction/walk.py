"""Find every string in a batch that could carry PII, and remember how to write each one back.

Two passes, so one batch makes one round trip to the workers: ``collect`` walks the span model (every text
field: names, roles, messages, tool calls and results with their names and ids, documents, values, metadata,
errors, prompts, evaluations, tags, user/session ids, model and service names) and the OTLP copy exporters
forward, as the model holds it (each span's name, trace state, attributes, events and links; resource and scope
attributes, names, versions, schema URLs and entity references; log records' bodies, attributes, event names and
severity texts; every string and attribute of forwarded metric requests), producing ``Slot``s; ``apply`` writes
the outcomes back. Every string that leaves is scanned — keys as well as values — except our own vocabulary
(``VOCABULARY``: attribute names and enum words this code wrote, which carry nothing of the user's) and keys the
config excludes explicitly.

* JSON is walked, not scanned as text: a string that parses as a JSON object/array (tool arguments,
  ``gen_ai.input.messages``, ``traceloop.entity.input``) has its keys and values redacted and its structure
  kept. It is always written back from what was walked (``dump``), so what leaves is exactly what was scanned —
  a duplicate key's shadowed value, which the parser never showed us, cannot ride along in the original text.
  Write-back is correct by construction: documents register their finalizer after everything inside them
  (post-order), and finalizers run in registration order, so a document nested three deep is serialized into
  its parent before the parent is serialized.
* Numbers of 6+ digits (a card or phone number sent as a JSON or attribute number, integer or double) are
  scanned as text and become strings only if something was found.
* Bytes values are analysed as UTF-8 text and written back as bytes.
* Anything the walker does not know how to read — an AnyValue kind newer than our OTLP library
  (``model.Opaque``), bytes that are not UTF-8, an object where a string or JSON was expected, nesting deeper
  than ``MAX_DEPTH`` — is replaced by the failure marker at once: fail closed, counted as ``unknown_shape``.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from glassbox.processors import model as M
from glassbox.processors import semconv, wire
from glassbox.processors.redaction.analyzer import Outcome
from glassbox.processors.redaction.config import RedactionConfig

MAX_DEPTH = (
    32  # JSON / AnyValue nesting; deeper content is replaced by the marker (protobuf itself stops near 100 messages)
)
MIN_INT = 100_000  # numbers below this cannot be a card, phone, SSN, account...
MAX_CONTEXT_VALUE = 40  # values up to this long, holding a digit, are analysed after their key ("ssn: ...")
MAX_CONTEXT_KEY = 64
_DIGITS = re.compile(r"\d{3}")  # three digits in a row: the least any number-shaped entity needs
MAX_CLEAN_KEYS = 20_000  # keys remembered as scanned and clean (attribute and JSON keys repeat in every batch)
Setter = Callable[[str], None]
Dropper = Callable[[], None]


def _vocabulary() -> frozenset[str]:
    """Strings this code base wrote (semconv attribute names, JSON keys and enum words of the formats we read):
    scanning them could only ever find nothing, and they are most of the keys of every span."""
    words = {v for v in vars(semconv).values() if isinstance(v, str)}
    words |= {w for v in vars(semconv).values() if isinstance(v, tuple) for w in v if isinstance(w, str)}
    words |= set(
        "role content parts type text name id arguments tool_calls tool_call_id function finish_reason response "
        "result args kwargs message messages value index user assistant system tool developer model stop length "
        "tool_call tool_call_response uri mime_type modality data image_url url detail input output description "
        "parameters properties required object string integer number boolean array items enum title default "
        "function_call refusal reasoning thinking blob file chat completion embeddings execute_tool "
        "invoke_agent create_agent generate_content text_completion exception llm embedding agent workflow task "
        "retrieval ok error score categorical json pass fail true false app registry strict".split()
    )
    return frozenset(words)


VOCABULARY = _vocabulary()


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
        self.clean: set[str] = set()  # keys already scanned with nothing found (same engine, same answer)

    def scanned(self, key: str) -> bool:
        hit = self._keys.get(key)
        if hit is None:
            hit = bool(self._content.match(key)) or (bool(self._include.match(key)) and not self._exclude.match(key))
            if len(self._keys) < 10_000:
                self._keys[key] = hit
        return hit

    def tag_skipped(self, key: str) -> bool:
        """Only what the user excluded explicitly: routing tags (service, env, user_id...) are scanned too."""
        return bool(self._exclude.match(key))

    def remember_clean(self, key: str) -> None:
        if len(self.clean) < MAX_CLEAN_KEYS:
            self.clean.add(key)


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
    key: bool = False  # a dict key: remembered as clean when nothing is found
    context: int = 0  # ``text`` starts with this many characters of context ("ssn: "), not part of the value


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
        for record in batch.logs:
            summary = by_id.get((record.trace_id, record.span_id), self.orphan)
            self._field(record, "event_name", "logs", summary, empty="")
            self._field(record, "severity_text", "logs", summary, empty="")
        for detached in batch.evaluations:
            summary = by_id.get((detached.trace_id, detached.span_id), self.orphan)
            detached.evaluation = M.owned(detached.evaluation)
            self._evaluation(detached.evaluation, summary)
            self._field(detached, "service", "evaluations", summary)
        for request in batch.metrics:
            for cell in wire.metric_values(request):
                self._cell(cell, "metrics", self.orphan)

    def texts(self) -> list[str]:
        return [slot.text for slot in self.slots]

    def apply(self, outcomes: dict[str, Outcome]) -> None:
        for slot in self.slots:
            outcome = outcomes[slot.text]
            if outcome.error is not None:
                slot.set(self.marker)
                slot.summary.fail(outcome.error)
                continue
            if slot.context:
                self._apply_in_context(slot, outcome)
                continue
            if outcome.findings:
                slot.summary.add(slot.where, {f.entity for f in outcome.findings})
            elif slot.key:
                self._rules.remember_clean(slot.text)
            if outcome.drop:
                slot.drop()
            elif outcome.text is not None:
                slot.set(outcome.text)
        for finalize in self.finalizers:  # post-order: a document's insides are final before it is serialized
            finalize()

    def _apply_in_context(self, slot: Slot, outcome: Outcome) -> None:
        """A value analysed after its key ("ssn: 536228741"): only findings in the value count; the value part
        of the redacted text is written back (the marker if the key part changed too, so offsets are unclear —
        the key's own slot redacts the key)."""
        found = {f.entity for f in outcome.findings if f.end > slot.context}
        if not found:
            return
        slot.summary.add(slot.where, found)
        if outcome.drop:
            slot.drop()
            return
        prefix = slot.text[: slot.context]
        redacted = outcome.text or slot.text
        slot.set(redacted[slot.context :] if redacted.startswith(prefix) else self.marker)

    def _in_context(self, text: str, context: Any, where: str, summary: Summary, set_: Setter, drop: Dropper) -> None:
        """A short value holding digits (a number, or a string like "536228741") is analysed with its key in
        front: recognizers whose patterns are weak alone (a bare 9-digit SSN, an account number) need the
        context word the key carries, as a reader of ``{"ssn": 536228741}`` would use it."""
        if isinstance(context, str) and 0 < len(context) <= MAX_CONTEXT_KEY:
            prefix = f"{context}: "
            self.slots.append(Slot(prefix + text, where, summary, set_, drop, context=len(prefix)))
        else:
            self.slots.append(Slot(text, where, summary, set_, drop))

    # --- strings, JSON, Python values -----------------------------------------------------------------------

    def _string(
        self, value: str, where: str, summary: Summary, set_: Setter, drop: Dropper, depth: int, context: Any = None
    ) -> None:
        if value in VOCABULARY:
            return
        if context is not None and len(value) <= MAX_CONTEXT_VALUE and _DIGITS.search(value):
            self._in_context(value, context, where, summary, set_, drop)
            return
        stripped = value.lstrip()
        if stripped[:1] in ("{", "[") and len(stripped) > 1:
            parsed, dump = _parse_json(value)
            if isinstance(parsed, (dict, list)):
                holder = [parsed]
                self._value(holder, 0, where, summary, depth + 1, [False])

                def finalize() -> None:  # always from what was walked (see the module docstring)
                    text = dump(holder[0])
                    if text != value:
                        set_(text)

                self.finalizers.append(finalize)
                return
        self.slots.append(Slot(value, where, summary, set_, drop))

    def _key(
        self, container: dict[Any, Any], key: str, where: str, summary: Summary, changed: list[bool] | None
    ) -> None:
        """A dict key (attribute, JSON object, metadata, tag): renamed when it carries PII, after its value was
        written back (a finalizer registered after the value's own), so no setter ever sees a stale key."""
        if key in VOCABULARY or key in self._rules.clean:
            return
        renamed: list[str | None] = [None]
        dropped = [False]

        def set_(new: str) -> None:
            renamed[0] = new

        def drop() -> None:
            dropped[0] = True

        self.slots.append(Slot(key, where, summary, set_, drop, key=True))

        def finalize() -> None:
            if key not in container or (renamed[0] is None and not dropped[0]):
                return
            item = container.pop(key)
            if changed is not None:
                changed[0] = True
            if dropped[0]:
                return
            new, n = renamed[0] or "", 2
            while new in container:  # two keys that redact alike keep both values
                new, n = f"{renamed[0]} ({n})", n + 1
            container[new] = item

        self.finalizers.append(finalize)

    def _value(
        self, container: Any, key: Any, where: str, summary: Summary, depth: int, changed: list[bool] | None = None
    ) -> None:
        """Walk ``container[key]`` (a dict/list slot holding JSON-like Python values). The most common values
        (containers, our vocabulary, None, small numbers) are decided before any setter is made: this runs for
        every node of every message list."""
        value = container[key]
        if depth > MAX_DEPTH:
            self._fail(_setters(container, key, changed)[0], summary, "unknown_shape")
        elif isinstance(value, str):
            if value not in VOCABULARY:
                put, drop = _setters(container, key, changed)
                self._string(value, where, summary, put, drop, depth, key if isinstance(container, dict) else None)
        elif isinstance(value, dict):
            self._dict(value, where, summary, depth + 1, changed)
        elif isinstance(value, list):
            for i in range(len(value)):
                self._value(value, i, where, summary, depth + 1, changed)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int):
            if abs(value) >= MIN_INT:
                put, drop = _setters(container, key, changed)
                self._in_context(str(value), key if isinstance(container, dict) else None, where, summary, put, drop)
        elif isinstance(value, float):
            if abs(value) >= MIN_INT and math.isfinite(value):  # 4111111111111111.0 is a card number too
                text = f"{value:.0f}" if value.is_integer() and abs(value) < 1e22 else repr(value)
                put, drop = _setters(container, key, changed)
                self._in_context(text, key if isinstance(container, dict) else None, where, summary, put, drop)
        elif isinstance(value, bytes):
            put, drop = _setters(container, key, changed)
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                self._fail(put, summary, "unknown_shape")  # binary: cannot be analysed, cannot pass
                return
            self._string(text, where, summary, lambda new: put(new.encode("utf-8")), drop, depth)
        elif isinstance(value, tuple):
            listed = list(value)
            _setters(container, key, changed)[0](listed)
            for i in range(len(listed)):
                self._value(listed, i, where, summary, depth + 1, changed)
        else:
            self._fail(_setters(container, key, changed)[0], summary, "unknown_shape")

    def _dict(
        self, value: dict[Any, Any], where: str, summary: Summary, depth: int, changed: list[bool] | None = None
    ) -> None:
        clean = self._rules.clean
        for k in list(value):
            v = value[k]
            if not (v.__class__ is str and v in VOCABULARY and depth <= MAX_DEPTH):  # "role": "user": nothing
                self._value(value, k, where, summary, depth, changed)
            if isinstance(k, str) and k not in VOCABULARY and k not in clean:
                self._key(value, k, where, summary, changed)

    def _cell(self, cell: tuple[Any, Callable[[Any], None]], where: str, summary: Summary) -> None:
        """A value with its own setter (a metric request's field): written back whole if anything inside changed."""
        holder = _Cell(cell)
        changed = [False]
        self._value(holder, 0, where, summary, 0, changed)
        if isinstance(holder.value, (dict, list)):
            self.finalizers.append(lambda: holder.write() if changed[0] else None)

    def _fail(self, set_: Setter, summary: Summary, reason: str) -> None:
        set_(self.marker)
        summary.fail(reason)

    def _field(self, obj: Any, name: str, where: str, summary: Summary, *, empty: Any = None) -> None:
        """A string field of a model object (None allowed); anything else fails closed."""
        value = getattr(obj, name)
        if value is None or (value.__class__ is str and value in VOCABULARY):
            return  # most fields: absent, or a role / type word (no setter made for them)

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
        for name in ("name", "model_name", "model_provider", "ml_app", "service", "env", "version"):
            self._field(span, name, "span", summary)
        for io, side in ((span.input, "input"), (span.output, "output")):
            self._io(io, side, summary)
        if span.metadata:
            self._dict(span.metadata, "metadata", summary, 0)
        if span.tool_definitions:
            self._value({"t": span.tool_definitions}, "t", "tool_definitions", summary, 0)
        if span.error is not None:
            for name in ("type", "message", "stack"):
                self._field(span.error, name, "error", summary)
        if span.prompt is not None:
            self._prompt(span.prompt, summary)
        if span.evaluations:
            span.own_evaluations()  # the setters change evaluations in place; shared results are never changed
        for evaluation in span.evaluations:
            self._evaluation(evaluation, summary)
        for key in list(span.tags):
            if self._rules.tag_skipped(key):
                continue
            self._value(span.tags, key, "tags", summary, 0)
            self._key(span.tags, key, "tags", summary, None)
        self._field(span, "user_id", "tags", summary)
        self._field(span, "session_id", "tags", summary)
        for name in list(span.metrics):  # a metric is a number; one that holds a card number is dropped
            value = span.metrics[name]
            if isinstance(value, (int, float)) and abs(value) >= MIN_INT:
                drop = functools.partial(_drop_metric, span.metrics, name)
                self.slots.append(Slot(f"{value:.0f}", "metrics", summary, drop, _noop))

    def _prompt(self, prompt: M.Prompt, summary: Summary) -> None:
        for name in ("id", "name", "version", "label", "template", "source"):
            self._field(prompt, name, "prompt", summary)
        for values in (prompt.variables, prompt.tags):
            self._dict(values, "prompt", summary, 0)
        for keys in (prompt.context_variable_keys, prompt.query_variable_keys):
            self._value({"k": keys}, "k", "prompt", summary, 0)
        for message in prompt.chat_template or ():
            self._dict(message, "prompt", summary, 0)

    def _io(self, io: M.IO, side: str, summary: Summary) -> None:
        for message in io.messages:
            where = f"{side}.messages"
            self._field(message, "role", where, summary, empty="")
            self._field(message, "content", where, summary, empty="")
            for call in message.tool_calls:
                for name in ("name", "tool_id", "type"):
                    self._field(call, name, where, summary, empty="")
                if isinstance(call.arguments, (dict, list)):
                    self._value({"a": call.arguments}, "a", where, summary, 0)
                elif call.arguments is not None:
                    self._field(call, "arguments", where, summary)
            for result in message.tool_results:
                for name in ("result", "tool_id", "name", "type"):
                    self._field(result, name, where, summary, empty="")
        for document in io.documents:
            for name in ("text", "name", "id"):
                self._field(document, name, f"{side}.documents", summary, empty="")
        self._field(io, "value", f"{side}.value", summary)

    def _evaluation(self, evaluation: M.Evaluation, summary: Summary) -> None:
        for name in ("label", "metric_type", "assessment", "reasoning"):
            self._field(evaluation, name, "evaluations", summary)
        if isinstance(evaluation.value, (str, dict, list, int, float)):  # labels, JSON results, numbers
            self._value(_EvaluationValue(evaluation), "value", "evaluations", summary, 0)
        self._dict(evaluation.tags, "evaluations", summary, 0)

    # --- the OTLP copy ------------------------------------------------------------------------------------------

    def _attributes(self, attrs: dict[str, Any], where: str, summary: Summary) -> None:
        for key in list(attrs):
            if self._rules.scanned(key):
                self._value(attrs, key, where, summary, 0)
                self._key(attrs, key, where, summary, None)

    def _wire(self, wire_copy: M.Wire, summary: Summary) -> None:
        self._field(wire_copy, "name", "span.name", summary, empty="")
        self._field(wire_copy, "trace_state", "span.name", summary, empty="")
        self._attributes(wire_copy.attributes, "span.attributes", summary)
        for event in wire_copy.events:
            self._field(event, "name", "span.events", summary, empty="")
            self._attributes(event.attributes, "span.events", summary)
        for link in wire_copy.links:
            self._field(link, "trace_state", "span.links", summary, empty="")
            self._attributes(link.attributes, "span.links", summary)
        if wire_copy.status_message:
            self._field(wire_copy, "status_message", "span.status", summary, empty="")

    def _resources(self, parts: tuple[M.WireResource, M.WireResource], seen: set[int]) -> None:
        """Resource and scope, once per request part (spans and records share them)."""
        for part, where in zip(parts, ("resource", "scope")):
            if id(part) not in seen:
                seen.add(id(part))
                self._attributes(part.attributes, f"{where}.attributes", self.orphan)
                for name in ("name", "version", "schema_url"):
                    self._field(part, name, where, self.orphan, empty="")
                if part.entity_refs:
                    self._value({"e": part.entity_refs}, "e", where, self.orphan, 0)


def _noop() -> None:
    return None


def _setters(container: Any, key: Any, changed: list[bool] | None) -> tuple[Callable[[Any], None], Dropper]:
    """How to replace and how to remove ``container[key]``; ``changed`` (its document's flag) is set by both."""

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

    return put, drop


def _drop_metric(metrics: dict[str, float], name: str, _redacted: str) -> None:
    metrics.pop(name, None)


class _Cell:
    """``holder[0]`` access to a value that has its own setter (a field of a forwarded metric request)."""

    def __init__(self, cell: tuple[Any, Callable[[Any], None]]):
        self.value, self._write = cell

    def __getitem__(self, key: int) -> Any:
        return self.value

    def __setitem__(self, key: int, value: Any) -> None:
        self.value = value
        self._write(value)

    def write(self) -> None:
        self._write(self.value)


class _Attr:
    """``container[key]`` access to an object's attribute (evaluation values)."""

    def __init__(self, obj: Any):
        self.obj = obj

    def __getitem__(self, key: str) -> Any:
        return getattr(self.obj, key)

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self.obj, key, value)


class _EvaluationValue(_Attr):
    """An evaluation's value: a score that turned out to hold PII (a card number as a float) becomes a
    categorical label with the redacted text, so the evaluation still has a type its value fits."""

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, str) and self.obj.metric_type in ("score", "boolean"):
            self.obj.metric_type = "categorical"
        setattr(self.obj, key, value)
