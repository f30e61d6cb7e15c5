"""The built-in evaluators: cheap, deterministic checks on one span each.

* ``failure_to_answer`` (categorical: answered, refusal, no_information, redirection, content_filter): fails
  when the answer's opening (greetings and apologies skipped) is a refusal, an "I don't know" or a redirection
  (``patterns.py``, six languages), or the provider filtered it (finish reason content_filter, safety...).
* ``empty_answer`` (boolean): output messages carry neither text nor a tool call.
* ``truncated`` (boolean): a finish reason says the token limit was hit (length, max_tokens...).
* ``invalid_json`` (boolean): JSON was asked for (response format / output type / structured-output schema in
  the metadata, or tool definitions with parameter schemas) and the answer or a tool call's arguments are not
  valid JSON, or not valid against the schema (``schema.py``).
* ``pii_in_output`` (boolean): redaction found PII in an ``output.*`` location (``span.redaction``; never
  re-scanned; not evaluated when redaction did not run).
* ``prompt_injection`` (categorical: none, instruction_override, prompt_leak, jailbreak, template_injection):
  a user or tool message matches the curated pattern set (``patterns.py``).
* ``tool_error`` (boolean; LLM and tool spans): a tool span has error status or an error result; an LLM span
  was given an error tool result this turn (after the last assistant message).
* ``language_mismatch`` (boolean): the question and the answer are long enough to identify and py3langid
  finds different languages.

Booleans say whether the problem named by the label was found (assessment ``fail`` when true). An evaluator
returns None when it does not apply (no JSON asked for, no finish reason, texts too short...): no metric then.
Reasoning is short and carries no content: finish reasons, entity types, rule ids, JSON paths, languages.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from glassbox.processors import model as M
from glassbox.processors.evals import config as C
from glassbox.processors.evals import patterns as P
from glassbox.processors.evals.language import QUICK_SAMPLE, Detector, clean, letters, quick, same_language
from glassbox.processors.evals.schema import validate

TAGS = {"glassbox.evaluator": "builtin"}
_TAGS_ITEMS = tuple(TAGS.items())
_SENTENCE = re.compile(r"[.!?。！？]\s+|\n+")  # a sentence keeps its final mark (no look-behind: 3x faster)
OPENING_CHARS = 600  # the opening a refusal must be in (failure_to_answer reads no further)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_FINISH = re.compile(r"^[A-Za-z_]{1,40}$")
# A tool result that starts like an error report ("Error: ...", "ValueError: ...", "Failed to ...", a traceback).
_ERROR_TEXT = re.compile(
    r"^\s*(?:error\s*[:!\-]|error\s+\d{3}\b|exception\s*:|traceback \(most recent call last\)|fatal\s*:|"
    r"failed to\b|failed\s*:|failure\s*:|(?-i:[A-Za-z_][\w.]*(?:Error|Exception))\s*:)",
    re.IGNORECASE,
)
_ERROR_STATUS = frozenset({"error", "failed", "failure", "fail"})


@dataclass(frozen=True)
class Builtin:
    label: str
    kinds: frozenset[str]
    content: bool  # reads message text: skipped when redaction failed closed on the span
    read: Callable[[Reading], M.Evaluation | None]
    # Work done for a whole batch before any span is read (``read`` must not depend on it having run).
    prepare: Callable[[list[Reading]], None] | None = None

    def evaluate(self, span: M.Span) -> M.Evaluation | None:
        """This built-in alone on a span (the processor shares one ``Reading`` between all of them)."""
        return self.read(Reading(span))


def _result(
    label: str, metric_type: str, value: Any, failed: bool, reasoning: str, tags: dict[str, str] | None = None
) -> M.Evaluation:
    """A built-in's result: shared between the spans that get the same one (``model.shared_evaluation``)."""
    merged = tuple({**TAGS, **tags}.items()) if tags else _TAGS_ITEMS
    return M.shared_evaluation(label, metric_type, value, "fail" if failed else "pass", reasoning, merged)


# --- shared readers ----------------------------------------------------------------------------------------------

_UNREAD: Any = object()


class Reading:
    """A span as the built-ins read it. The answer, the finish reasons and where this turn starts are each
    needed by two or three built-ins: worked out once per span, on first use, instead of once per built-in."""

    __slots__ = ("span", "_answer", "_reasons", "_turn", "injection", "refusal_words")

    def __init__(self, span: M.Span):
        self.span = span
        # prompt_injection's texts (as read, lowered, their gate words), when its batch ``prepare`` ran
        self.injection: list[tuple[str, str | None, set[str]]] | None = None
        # whether failure_to_answer's gate words are in the answer's opening, when its batch ``prepare`` ran
        self.refusal_words: bool | None = None
        self._answer: Any = _UNREAD
        self._reasons: list[str] | None = None
        self._turn = -1

    @property
    def answer(self) -> str | None:
        if self._answer is _UNREAD:
            self._answer = answer_text(self.span)
        return self._answer

    @property
    def finish_reasons(self) -> list[str]:
        if self._reasons is None:
            self._reasons = finish_reasons(self.span)
        return self._reasons

    @property
    def turn_start(self) -> int:
        if self._turn < 0:
            self._turn = turn_start(self.span.input.messages)
        return self._turn


def answer_text(span: M.Span) -> str | None:
    """The model's visible answer, or None when the span carries no output content at all."""
    if span.output.messages:
        return "\n".join(m.content for m in span.output.messages if m.content)
    return span.output.value if isinstance(span.output.value, str) else None


def finish_reasons(span: M.Span) -> list[str]:
    raw = span.metadata.get("finish_reasons", span.metadata.get("finish_reason"))
    if isinstance(raw, str):
        stripped = raw.strip()
        if stripped.startswith("["):
            try:
                raw = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                raw = [stripped]
        else:
            raw = [stripped]
    if not isinstance(raw, (list, tuple)):
        return []
    return [str(r).strip().lower() for r in raw if isinstance(r, str) and r.strip()]


def _reason_name(reason: str) -> str:
    return reason if _FINISH.match(reason) else "other"


def turn_start(messages: list[M.Message]) -> int:
    """Index of this turn's first input message: the one after the model's last answer (0 on a first turn).
    Read from the end, since the conversation so far comes first."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "assistant":
            return i + 1
    return 0


def last_user_text(span: M.Span) -> str | None:
    for message in reversed(span.input.messages):
        if message.role == "user" and message.content and not message.content.isspace():  # no copy, as strip()
            return message.content
    return None


def content_lost(span: M.Span) -> bool:
    """Redaction failed closed on the span: its text is the failure marker, not what was said (content-reading
    evaluators skip it)."""
    return span.redaction is not None and span.redaction.failed_closed > 0


# --- failure_to_answer -------------------------------------------------------------------------------------------


def failure_to_answer(settings: C.FailureToAnswer) -> Builtin:
    """Refusals, "no information" and redirections in the answer's opening sentences (after greetings and
    apologies). ``prepare`` looks for the rules' gate words in a batch's openings in one search: most answers hold
    none, and are answered without running the regexes (8 us per chat span)."""
    categories = (("refusal", P.REFUSAL), ("no_information", P.NO_INFORMATION), ("redirection", P.REDIRECTION))

    answered = _result("failure_to_answer", "categorical", "answered", False, NO_REFUSAL)  # most answers

    def opening(reading: Reading) -> str | None:
        """The part of the answer a refusal must be in, or None when the answer is not read for one."""
        text = reading.answer
        if not text or text.isspace() or (settings.max_chars and len(text) > settings.max_chars):
            return None
        return _opening(text)

    def prepare(readings: list[Reading]) -> None:
        read = [(reading, text) for reading in readings if (text := opening(reading)) is not None]
        lowered = [_opening_utf8(text) for _, text in read]
        for (reading, _), found in zip(read, P.FAILURE_GATE_WORDS.present_in_each_encoded(lowered)):
            reading.refusal_words = bool(found)

    def evaluate(reading: Reading) -> M.Evaluation | None:
        label = "failure_to_answer"
        for reason in reading.finish_reasons:
            if reason in P.FILTERED_FINISH_REASONS:
                return _result(label, "categorical", "content_filter", True, f"finish reason {reason}")
        text = reading.answer
        if not text or text.isspace():
            return None  # no content captured, or an empty answer (empty_answer says so) or only tool calls
        if settings.max_chars and len(text) > settings.max_chars:
            return _result(label, "categorical", "answered", False, f"answer longer than {settings.max_chars} chars")
        if reading.refusal_words is False:  # no rule's word in the opening: no rule can match
            return answered
        examined = 0
        for raw in _sentences(_opening(text)):  # only the first sentences matter
            sentence = _plain_apostrophes(raw.strip().lower())
            if not sentence:
                continue
            for category, pattern in categories:
                if pattern.search(sentence):
                    reasoning = f"{category.replace('_', ' ')} in the opening (patterns v{P.REFUSAL_PATTERNS_VERSION})"
                    return _result(label, "categorical", category, True, reasoning)
            if not P.PLEASANTRY.search(sentence):
                break  # a substantive sentence: the model answered
            examined += 1
            if examined >= settings.lead_sentences:
                break
        return answered

    return Builtin("failure_to_answer", LLM_ONLY, True, evaluate, prepare)


NO_REFUSAL = "no refusal in the opening"


def _opening(text: str) -> str:
    """The start of an answer a refusal must be in (no copy of a long answer to strip it, in the common case)."""
    return text.lstrip()[:OPENING_CHARS] if text[0].isspace() else text[:OPENING_CHARS]


def _opening_utf8(text: str) -> bytes:
    """An opening as the rules read it (lowered, apostrophes made '), UTF-8 encoded for the gate search; ASCII
    text is lowered as bytes (a table lookup)."""
    if text.isascii():
        lowered = text.encode("ascii").lower()
        return lowered.replace(b"`", b"'") if b"`" in lowered else lowered
    return _plain_apostrophes(text.lower()).encode("utf-8", "surrogatepass")


def _plain_apostrophes(lowered: str) -> str:
    """Typographic apostrophes made ', as the rules are written (a dict lookup per character: only when needed)."""
    if "\u2019" in lowered or "\u2018" in lowered or "\u02bc" in lowered or "`" in lowered:
        return lowered.translate(_APOSTROPHES)
    return lowered


def _sentences(text: str) -> Iterator[str]:
    """Sentences one by one, so reading stops at the first substantive one."""
    start = 0
    for boundary in _SENTENCE.finditer(text):
        end = boundary.start()
        yield text[start : end if text[end] == "\n" else end + 1]
        start = boundary.end()
    yield text[start:]


# --- empty_answer ------------------------------------------------------------------------------------------------


def empty_answer(reading: Reading) -> M.Evaluation | None:
    messages = reading.span.output.messages
    if not messages:
        return None  # content was not captured: nothing to tell
    if any(m.tool_calls for m in messages):
        return _TOOL_CALL_ANSWER
    if any(m.content and not m.content.isspace() for m in messages):
        return _TEXT_ANSWER
    return _EMPTY_ANSWER


_TOOL_CALL_ANSWER = _result("empty_answer", "boolean", False, False, "the answer is a tool call")
_TEXT_ANSWER = _result("empty_answer", "boolean", False, False, "the answer has text")
_EMPTY_ANSWER = _result("empty_answer", "boolean", True, True, "no text and no tool call in the output")


# --- truncated ---------------------------------------------------------------------------------------------------


def truncated(settings: C.Truncated) -> Callable[[Reading], M.Evaluation | None]:
    limits = frozenset(r.lower() for r in settings.reasons)

    def evaluate(reading: Reading) -> M.Evaluation | None:
        reasons = reading.finish_reasons
        if not reasons:
            return None
        hit = next((r for r in reasons if r in limits), None)
        return _truncated(hit, True) if hit is not None else _truncated(reasons[0], False)

    return evaluate


@functools.lru_cache(maxsize=256)  # by finish reason: the app's strings, so bounded whatever they are
def _truncated(reason: str, failed: bool) -> M.Evaluation:
    return _result("truncated", "boolean", failed, failed, f"finish reason {_reason_name(reason)}")


# --- invalid_json ------------------------------------------------------------------------------------------------

_JSON_FORMATS = frozenset({"json", "json_object", "json_schema"})


def expected_json(span: M.Span) -> tuple[bool, Any]:
    """(JSON was asked for, the schema when one was given) from the request's response format."""
    metadata = span.metadata
    schema: Any = None
    wanted = False
    if str(metadata.get("output_type", "")).lower() == "json":
        wanted = True
    for key in ("structured_output_schema", "response_format", "response_schema", "json_schema"):
        raw = metadata.get(key)
        if raw is None:
            continue
        if isinstance(raw, str):
            stripped = raw.strip()
            if stripped.lower() in _JSON_FORMATS:
                wanted = True
                continue
            try:
                raw = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                continue
        if not isinstance(raw, dict):
            continue
        kind = raw.get("type")
        if kind == "json_object" or kind == "json":  # {"type": "json_object"}: any JSON object
            wanted = True
            schema = schema or {"type": "object"}
        elif kind == "json_schema":  # OpenAI's response_format {"type": "json_schema", "json_schema": {...}}
            wanted = True
            inner = raw.get("json_schema")
            if isinstance(inner, dict) and isinstance(inner.get("schema"), dict):
                schema = inner["schema"]
        elif key != "response_format" or "properties" in raw or "$defs" in raw:
            wanted = True  # a JSON Schema itself
            schema = raw
    return wanted, schema


def _pii_in(span: M.Span, prefix: str) -> bool:
    found = span.redaction.found if span.redaction is not None else {}
    return any(where.startswith(prefix) and types for where, types in found.items())


def _strip_fence(text: str) -> tuple[str, bool]:
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and len(stripped) > 6:
        body = stripped[3:-3]
        first_line, _, rest = body.partition("\n")
        return (rest if first_line.strip().isalpha() or not first_line.strip() else body), True
    return stripped, False


def invalid_json(settings: C.InvalidJson) -> Callable[[Reading], M.Evaluation | None]:
    def evaluate(reading: Reading) -> M.Evaluation | None:
        label = "invalid_json"
        span = reading.span
        lenient = _pii_in(span, "output.")
        wanted, schema = expected_json(span)
        checked = False
        text = reading.answer
        calls = [c for m in span.output.messages for c in m.tool_calls]
        if wanted and (text is not None and (text.strip() or not calls)):
            checked = True
            body, fenced = _strip_fence(text)
            if fenced:
                return _result(label, "boolean", True, True, "JSON inside a markdown code fence")
            try:
                value = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                where = f" (line {exc.lineno}, column {exc.colno})" if body else " (empty answer)"
                return _result(label, "boolean", True, True, f"not valid JSON{where}")
            if schema is not None:
                errors = validate(value, schema, lenient=lenient)
                if errors:
                    return _result(label, "boolean", True, True, f"schema: {errors[0]}")
        if settings.check_tool_calls and calls and span.tool_definitions:
            checked = True
            definitions = {d.get("name"): d for d in span.tool_definitions if isinstance(d, dict)}
            for call in calls:
                problem = _tool_call_problem(call, definitions, lenient)
                if problem:
                    return _result(label, "boolean", True, True, problem)
        if not checked:
            return None
        return _result(label, "boolean", False, False, "valid JSON" + (" (schema checked)" if schema else ""))

    return evaluate


def _tool_call_problem(call: M.ToolCall, definitions: dict[Any, dict[str, Any]], lenient: bool) -> str | None:
    name = _safe_name(call.name)
    definition = definitions.get(call.name)
    if definition is None:
        return f"tool call {name}: not one of the request's tools"
    schema = definition.get("schema")
    if not isinstance(schema, dict):
        return None
    arguments: Any = call.arguments if call.arguments is not None else {}
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        properties = {}
    if set(arguments) == {"value"} and "value" not in properties:  # intake wraps non-object arguments this way
        raw = arguments["value"]
        if isinstance(raw, str):
            try:
                orjson.loads(raw)
            except orjson.JSONDecodeError:
                return f"tool call {name}: arguments are not valid JSON"
        return f"tool call {name}: arguments are not a JSON object"
    errors = validate(arguments, schema, lenient=lenient)
    return f"tool call {name}: {errors[0]}" if errors else None


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)[:64] or "(unnamed)"


# --- pii_in_output -----------------------------------------------------------------------------------------------


def pii_in_output(reading: Reading) -> M.Evaluation | None:
    redaction = reading.span.redaction
    if redaction is None:
        return None  # redaction did not run: we never re-scan
    if not redaction.found:
        return _NO_PII
    types = sorted({t for where, found in redaction.found.items() if where.startswith("output.") for t in found})
    if types:
        return _result("pii_in_output", "boolean", True, True, "found in the output: " + ", ".join(types))
    return _NO_PII


_NO_PII = _result("pii_in_output", "boolean", False, False, "no PII found in the output")


# --- prompt_injection --------------------------------------------------------------------------------------------


def injection_rule(text: str) -> tuple[str, str] | None:
    """(category, rule) of the first injection rule that matches ``text``, or None. A rule's regex runs only when
    one of its gate words is in the text (``patterns.GATES``)."""
    text, lowered = _readable(text)
    return _first_rule(text, lowered, P.GATE_WORDS.present(lowered))


def _readable(text: str) -> tuple[str, str]:
    """The text as the rules read it, and lowered: zero-width characters removed (they hide words)."""
    text = _visible(text)
    return text, text.lower()


def _visible(text: str) -> str:
    if not text.isascii() and any(char in text for char in P.INVISIBLE_CHARS):
        return text.translate(P.INVISIBLE)
    return text


def _lowered_utf8(text: str) -> bytes:
    """``text.lower()`` as UTF-8, for the gate search; ASCII text is lowered as bytes (a table lookup)."""
    if text.isascii():
        return text.encode("ascii").lower()
    return text.lower().encode("utf-8", "surrogatepass")


def _first_rule(text: str, lowered: str | None, present: set[str]) -> tuple[str, str] | None:
    """``injection_rule`` once the gate words of the lowered text are known (``present``, not changed); the
    lowered text is made here when a prepared batch did not keep it (most texts have no gate word)."""
    cased = {word for word in P.CASED_GATE_WORDS if word in text}
    if not present and not cased:
        return None
    if lowered is None:
        lowered = text.lower()
    present = present | cased if cased else present
    for rules, scanned in ((P.INJECTION, lowered), (P.CASED, text)):
        for category, rule, pattern, gate in rules:
            if not present.isdisjoint(gate) and pattern.search(scanned):
                return category, rule
    return None


def injection_texts(reading: Reading, roles: frozenset[str], max_chars: int) -> list[str]:
    """This turn's texts the rules read (user and, with role tool, tool results), cut so that together they stay
    within ``max_chars``."""
    tools = "tool" in roles
    texts: list[str] = []
    for message in reading.span.input.messages[reading.turn_start :]:
        if message.role in roles and message.content:
            texts.append(message.content)
        if tools:
            texts.extend(result.result for result in message.tool_results if result.result)
    cut: list[str] = []
    budget = max_chars
    for text in texts:
        if budget <= 0:
            break
        cut.append(text[:budget])
        budget -= len(text)
    return cut


def prompt_injection(settings: C.PromptInjection) -> Builtin:
    """This turn's input is scanned: the messages after the model's last answer (all of them on a first turn).
    Earlier turns were this call's history, judged on the calls they were new in, so an attempt is reported on
    the call it was made in, not on every call after it.

    ``prepare`` finds the gate words of every span of a batch in one search (``Words.present_in_each``: one call
    to the faster engine, 2.0 instead of 6.8 µs per chat span); a span it did not prepare is searched alone."""
    roles = frozenset(settings.roles)
    nothing = f"no rule matched (pattern set v{P.INJECTION_PATTERNS_VERSION})"
    clean = _result("prompt_injection", "categorical", "none", False, nothing)

    def prepare(readings: list[Reading]) -> None:
        texts = [[_visible(text) for text in injection_texts(r, roles, settings.max_chars)] for r in readings]
        found = iter(P.GATE_WORDS_TOGETHER.present_in_each_encoded([_lowered_utf8(t) for each in texts for t in each]))
        for reading, each in zip(readings, texts):
            reading.injection = [(text, None, next(found)) for text in each]

    def evaluate(reading: Reading) -> M.Evaluation | None:
        scanned = reading.injection
        if scanned is None:
            scanned = [
                (text, lowered, P.GATE_WORDS.present(lowered))
                for text, lowered in map(_readable, injection_texts(reading, roles, settings.max_chars))
            ]
        if not scanned:
            return None
        for text, lowered, present in scanned:
            found = _first_rule(text, lowered, present)
            if found is not None:
                category, rule = found
                reasoning = f"rule {rule} (pattern set v{P.INJECTION_PATTERNS_VERSION})"
                return _result("prompt_injection", "categorical", category, True, reasoning)
        return clean

    return Builtin("prompt_injection", LLM_ONLY, True, evaluate, prepare)


# --- tool_error --------------------------------------------------------------------------------------------------


def error_result(text: str) -> bool:
    """Whether a tool's result reads as an error: a JSON object saying so, or text that starts like one."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            if data.get("error") or data.get("errors") or data.get("is_error") is True or data.get("isError") is True:
                return True
            if str(data.get("status", "")).lower() in _ERROR_STATUS:
                return True
            return data.get("success") is False or data.get("ok") is False
    return bool(_ERROR_TEXT.match(stripped))


def tool_error(reading: Reading) -> M.Evaluation | None:
    label = "tool_error"
    span = reading.span
    if span.kind == M.TOOL:
        if span.status == "error":
            kind = span.error.type if span.error and span.error.type else None
            reasoning = "tool span status error" + (f" ({_safe_name(kind)})" if kind else "")
            return _result(label, "boolean", True, True, reasoning)
        if isinstance(span.output.value, str) and error_result(span.output.value):
            return _result(label, "boolean", True, True, "the tool's result is an error")
        return _result(label, "boolean", False, False, "tool span ok")
    # An LLM span: the tool results it was given this turn (after the last assistant message).
    messages = span.input.messages
    start = reading.turn_start
    results = [r for m in messages[start:] for r in m.tool_results]
    if not results:
        return None
    calls = {c.tool_id: c.name for m in messages[:start] for c in m.tool_calls if c.tool_id}
    failed = [r for r in results if error_result(r.result)]
    if failed:
        names = sorted({_safe_name(r.name or calls.get(r.tool_id or "", "") or "") for r in failed})
        reasoning = f"{len(failed)} of {len(results)} tool results are errors ({', '.join(names)})"
        return _result(label, "boolean", True, True, reasoning)
    return _result(label, "boolean", False, False, f"{len(results)} tool result(s), none is an error")


# --- language_mismatch -------------------------------------------------------------------------------------------


def language_mismatch(settings: C.LanguageMismatch, detector: Detector) -> Callable[[Reading], M.Evaluation | None]:
    def evaluate(reading: Reading) -> M.Evaluation | None:
        question, answer = last_user_text(reading.span), reading.answer
        if not question or not answer:
            return None
        asked = _language(question, detector, settings.min_letters)
        said = _language(answer, detector, settings.min_letters) if asked is not None else None
        if asked is None or said is None or min(asked[1], said[1]) < settings.min_confidence:
            return None
        return _mismatch(asked[0], said[0])

    return evaluate


@functools.lru_cache(maxsize=1024)  # by (question, answer) language
def _mismatch(asked: str, said: str) -> M.Evaluation:
    tags = {"question_language": asked, "answer_language": said}
    if same_language(asked, said):
        return _result("language_mismatch", "boolean", False, False, f"both {asked}", tags)
    return _result("language_mismatch", "boolean", True, True, f"question {asked}, answer {said}", tags)


def _language(text: str, detector: Detector, min_letters: int) -> tuple[str, float] | None:
    """(language, confidence) of a text, or None when too few letters are left to judge. A text whose opening
    function words plainly say its language needs no model (``quick``, on the cleaned opening only); the model
    reads the cleaned sample otherwise."""
    head = clean(text[:QUICK_SAMPLE])
    plain = quick(head)
    if plain is not None and letters(head, min_letters) >= min_letters:
        return plain, 1.0
    sample = clean(text)
    if letters(sample, min_letters) < min_letters:
        return None
    return detector.detect(sample)


# --- the set -----------------------------------------------------------------------------------------------------

LLM_ONLY = frozenset({M.LLM})


def build(settings: C.Builtins, detector: Detector | None = None) -> list[Builtin]:
    """The enabled built-ins, in a fixed order (cheapest first)."""
    factories: dict[str, Callable[[], Builtin]] = {
        "truncated": lambda: Builtin("truncated", LLM_ONLY, False, truncated(settings.truncated)),
        "empty_answer": lambda: Builtin("empty_answer", LLM_ONLY, True, empty_answer),
        "pii_in_output": lambda: Builtin("pii_in_output", LLM_ONLY, False, pii_in_output),
        "tool_error": lambda: Builtin("tool_error", frozenset({M.LLM, M.TOOL}), False, tool_error),
        "failure_to_answer": lambda: failure_to_answer(settings.failure_to_answer),
        "invalid_json": lambda: Builtin("invalid_json", LLM_ONLY, True, invalid_json(settings.invalid_json)),
        "prompt_injection": lambda: prompt_injection(settings.prompt_injection),
        "language_mismatch": lambda: Builtin(
            "language_mismatch",
            LLM_ONLY,
            True,
            language_mismatch(settings.language_mismatch, detector or Detector(settings.language_mismatch.languages)),
        ),
    }
    enabled = set(settings.enabled())
    return [make() for name, make in factories.items() if name in enabled]
