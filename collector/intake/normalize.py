"""OTLP spans and log records → the one GenAI span model.

``spans(request)`` turns every span of an ExportTraceServiceRequest into a model ``Span`` (GenAI or not), with
its OTLP copy as plain values (``processors.wire``); ``log_contents(records)`` extracts the GenAI content that
some instrumentations put in log records, keyed by (trace id, span id), so the pipeline can join it to its
span. Attribute names come from ``processors.semconv``.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from glassbox.collector.intake import content as C
from glassbox.processors import model as M
from glassbox.processors import semconv as A
from glassbox.processors import wire

STATUS_ERROR = 2


class Rejected(ValueError):
    """One span that cannot be used; the request is partially accepted (OTLP partial success)."""


def spans(request: Any, rejected: list[str] | None = None) -> list[M.Span]:
    """Every usable span of the request; unusable ones are described in ``rejected`` (never raise)."""
    out = []
    for resource_spans in request.resource_spans:
        resource = _read_part(resource_spans.resource, resource_spans.schema_url)
        for scope_spans in resource_spans.scope_spans:
            scope = _read_part(scope_spans.scope, scope_spans.schema_url)
            for otlp_span in scope_spans.spans:
                try:
                    out.append(normalize_span(otlp_span, resource, scope))
                except (Rejected, RecursionError, ValueError, TypeError) as exc:
                    if rejected is not None:
                        rejected.append(f"span {otlp_span.span_id.hex() or '(no id)'}: {_reason(exc)}")
    return out


def _read_part(message: Any, schema_url: str) -> M.WireResource:
    """A resource or scope; one nested too deeply to read loses its attributes rather than the request."""
    try:
        return wire.read_resource(message, schema_url)
    except RecursionError:
        return wire.read_resource(message, schema_url, with_attributes=False)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "attribute values nested too deeply"
    return str(exc) or type(exc).__name__


def normalize_span(otlp_span: Any, resource: M.WireResource, scope: M.WireResource) -> M.Span:
    if len(otlp_span.trace_id) != 16 or not any(otlp_span.trace_id):
        raise Rejected("trace id must be 16 non-zero bytes")
    if len(otlp_span.span_id) != 8 or not any(otlp_span.span_id):
        raise Rejected("span id must be 8 non-zero bytes")
    if otlp_span.parent_span_id and len(otlp_span.parent_span_id) != 8:
        raise Rejected("parent span id must be 8 bytes or empty")
    copy = wire.read_span(otlp_span, resource, scope)
    attrs, resource_attrs, events = copy.attributes, resource.attributes, copy.events
    start = otlp_span.start_time_unix_nano
    span = M.Span(
        trace_id=otlp_span.trace_id.hex(),
        span_id=otlp_span.span_id.hex(),
        parent_id=otlp_span.parent_span_id.hex() if any(otlp_span.parent_span_id) else None,  # all zero: a root
        name=otlp_span.name,
        kind=span_kind(attrs, resource_attrs),
        start_ns=start,
        duration_ns=max(0, otlp_span.end_time_unix_nano - start),
        wire=copy,
    )
    span.service = _str(resource_attrs.get(A.SERVICE_NAME)) or _str(attrs.get(A.SERVICE_NAME))
    span.env = _first_str(resource_attrs, A.DEPLOYMENT_ENV) or _first_str(attrs, A.DEPLOYMENT_ENV)
    span.version = _str(resource_attrs.get(A.SERVICE_VERSION))
    span.ml_app = _str(resource_attrs.get(A.ML_APP)) or _str(attrs.get(A.ML_APP))
    _error(
        span, otlp_span.status.code, copy.status_message, attrs, events, resource_attrs.get(A.TELEMETRY_SDK_LANGUAGE)
    )
    span.session_id = _first_str(attrs, A.SESSION_ID)  # also on plain spans: GenAI children inherit it
    span.user_id = _first_str(attrs, A.USER_ID)
    if span.kind is None:
        return span
    _model(span, attrs)
    _content(span, attrs, events)
    span.metadata = _metadata(attrs)
    if "finish_reasons" not in span.metadata:  # semconv 1.37 puts them on each output message instead
        reasons = _finish_reasons(attrs.get(A.OUTPUT_MESSAGES))
        if reasons:
            span.metadata["finish_reasons"] = reasons
    span.metrics = _metrics(attrs)
    span.tool_definitions = _tool_definitions(attrs)
    span.tags = _tags(attrs)
    span.prompt = _prompt(attrs)
    span.evaluations = [
        ev for ev in (_evaluation(e.attributes, e.time_unix_nano) for e in events if e.name == A.EVENT_EVALUATION) if ev
    ]
    if span.kind == M.TOOL:
        span.name = _str(attrs.get(A.TOOL_NAME)) or span.name
    return span


def span_kind(attrs: dict[str, Any], resource_attrs: dict[str, Any] | None = None) -> str | None:
    """The Datadog kind of a span, or None when it is not a GenAI span (it then only goes to OTLP exporters)."""
    if str(attrs.get(A.DD_LLMOBS_ENABLED, (resource_attrs or {}).get(A.DD_LLMOBS_ENABLED, ""))).lower() == "false":
        return None
    operation = _str(attrs.get(A.OPERATION_NAME))
    if operation:
        return A.OPERATION_KINDS.get(str(operation), M.WORKFLOW)
    traceloop = _str(attrs.get(A.TRACELOOP_SPAN_KIND))
    if traceloop in A.TRACELOOP_KINDS:
        return A.TRACELOOP_KINDS[traceloop]
    request_type = _str(attrs.get(A.LLM_REQUEST_TYPE))
    if request_type:
        return A.LLM_REQUEST_TYPE_KINDS.get(str(request_type), M.WORKFLOW)
    openinference = _str(attrs.get(A.OPENINFERENCE_SPAN_KIND))
    if openinference:
        return A.OPENINFERENCE_KINDS.get(str(openinference).upper(), M.WORKFLOW)
    if A.REQUEST_MODEL in attrs or any(key in attrs for key in A.PROVIDER):
        # OpenLLMetry <= 0.53 sets no operation on Responses API spans; a model call is still an LLM call.
        return M.LLM
    return None


def _model(span: M.Span, attrs: dict[str, Any]) -> None:
    span.model_name = _str(attrs.get(A.RESPONSE_MODEL)) or _str(attrs.get(A.REQUEST_MODEL))
    provider = _first_str(attrs, A.PROVIDER)
    if provider:
        provider = provider.lower()
        span.model_provider = A.PROVIDER_ALIASES.get(provider, provider)


def _content(span: M.Span, attrs: dict[str, Any], events: list[M.WireEvent]) -> None:
    if span.kind in (M.LLM, M.EMBEDDING):
        inputs = C.parts_messages(attrs[A.INPUT_MESSAGES]) if A.INPUT_MESSAGES in attrs else []
        outputs = C.parts_messages(attrs[A.OUTPUT_MESSAGES]) if A.OUTPUT_MESSAGES in attrs else []
        if A.SYSTEM_INSTRUCTIONS in attrs:
            inputs = merge_system_instructions(C.system_instruction_messages(attrs[A.SYSTEM_INSTRUCTIONS]), inputs)
        if not inputs:
            inputs = C.indexed_messages(attrs, A.PROMPT_PREFIX)
        if not outputs:
            outputs = C.indexed_messages(attrs, A.COMPLETION_PREFIX, "assistant")
        if not inputs and isinstance(attrs.get(A.FLAT_PROMPT), str):
            inputs = C.flat_messages(attrs[A.FLAT_PROMPT], "user")
        if not outputs and isinstance(attrs.get(A.FLAT_COMPLETION), str):
            outputs = C.flat_messages(attrs[A.FLAT_COMPLETION], "assistant")
        if not inputs or not outputs:
            inputs, outputs = _content_from_span_events(events, inputs, outputs)
        set_messages(span, inputs, outputs, attrs.get("gen_ai.embeddings.dimension.count"))
    else:
        span.input.value = _entity_value(attrs.get(A.TOOL_CALL_ARGUMENTS, attrs.get(A.TRACELOOP_ENTITY_INPUT)))
        span.output.value = _entity_value(attrs.get(A.TOOL_CALL_RESULT, attrs.get(A.TRACELOOP_ENTITY_OUTPUT)))


def _content_from_span_events(events: list[M.WireEvent], inputs: list, outputs: list) -> tuple[list, list]:
    """Content carried in span events: the 1.37 details event, or the <= 1.27 prompt/completion events."""
    for event in events:
        if event.name == A.EVENT_OPERATION_DETAILS:
            inputs = inputs or C.parts_messages(event.attributes.get(A.INPUT_MESSAGES))
            outputs = outputs or C.parts_messages(event.attributes.get(A.OUTPUT_MESSAGES))
        elif event.name == A.EVENT_CONTENT_PROMPT and not inputs:
            inputs = C.flat_messages(event.attributes.get(A.FLAT_PROMPT), "user")
        elif event.name == A.EVENT_CONTENT_COMPLETION and not outputs:
            outputs = C.flat_messages(event.attributes.get(A.FLAT_COMPLETION), "assistant")
    return inputs, outputs


def merge_system_instructions(system: list[M.Message], inputs: list[M.Message]) -> list[M.Message]:
    """Prepend system instructions unless the chat history already carries them (OpenLIT sends both)."""
    existing = {m.content for m in inputs if m.role == "system"}
    return [m for m in system if m.content not in existing] + inputs


def set_messages(span: M.Span, inputs: list[M.Message], outputs: list[M.Message], dimensions: Any = None) -> None:
    """Place messages where Datadog expects them for the span's kind."""
    if span.kind == M.EMBEDDING:
        if inputs:
            span.input.documents = [M.Document(text=m.content) for m in inputs]
        if span.output.value is None:
            count = len(inputs) if inputs else None
            size = f" with size {dimensions}" if dimensions else ""
            span.output.value = f"[{count if count is not None else 'N'} embedding(s) returned{size}]"
        return
    if inputs:
        span.input.messages = inputs
    if outputs:
        span.output.messages = outputs


def _entity_value(raw: Any) -> str | None:
    """Tool arguments/results and Traceloop entity input/output as text; ``{"args": ["x"], "kwargs": {}}`` and
    JSON string literals are unwrapped for readability, other JSON stays exactly as the app wrote it."""
    if raw is None:
        return None
    parsed = C.loads_maybe(raw)
    if isinstance(parsed, str) and parsed.startswith('"'):
        try:
            return C.to_text(orjson.loads(parsed))
        except orjson.JSONDecodeError:
            return parsed
    if isinstance(parsed, dict) and set(parsed) <= {"args", "kwargs"} and not parsed.get("kwargs"):
        args = parsed.get("args") or []
        if len(args) == 1:
            return C.to_text(args[0])
    return raw if isinstance(raw, str) else C.to_text(parsed)


def _metadata(attrs: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for key, val in attrs.items():
        if key.startswith(A.REQUEST_PREFIX) and key not in A.REQUEST_EXCLUDED:
            metadata[key[len(A.REQUEST_PREFIX) :]] = val
        elif key in A.METADATA_ALIASES:
            metadata.setdefault(A.METADATA_ALIASES[key], val)
    for key, name in A.TOOL_METADATA.items():
        if key in attrs:
            metadata[name] = attrs[key]
    extra = C.loads_maybe(attrs.get(A.DD_METADATA))
    if isinstance(extra, dict):
        metadata.update({k: v for k, v in extra.items() if k not in ("model_name", "model_provider")})
    return metadata


def _finish_reasons(raw: Any) -> list[str]:
    messages = C.loads_maybe(raw)
    if not isinstance(messages, list):
        return []
    return [str(m["finish_reason"]) for m in messages if isinstance(m, dict) and m.get("finish_reason")]


def _metrics(attrs: dict[str, Any]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for name, keys in (
        (M.INPUT_TOKENS, A.INPUT_TOKENS),
        (M.OUTPUT_TOKENS, A.OUTPUT_TOKENS),
        (M.TOTAL_TOKENS, A.TOTAL_TOKENS),
        (M.CACHE_READ_TOKENS, A.CACHE_READ_TOKENS),
        (M.CACHE_WRITE_TOKENS, A.CACHE_WRITE_TOKENS),
        (M.REASONING_TOKENS, A.REASONING_TOKENS),
        (M.TIME_TO_FIRST_TOKEN, A.TIME_TO_FIRST_TOKEN),
    ):
        number = _first_number(attrs, keys)
        if number is not None:
            metrics[name] = number
    if M.TOTAL_TOKENS not in metrics and (M.INPUT_TOKENS in metrics or M.OUTPUT_TOKENS in metrics):
        metrics[M.TOTAL_TOKENS] = metrics.get(M.INPUT_TOKENS, 0) + metrics.get(M.OUTPUT_TOKENS, 0)
    cost = _first_number(attrs, A.COST)
    if cost:  # OpenLIT reports int 0 when it could not price the model: that is "unknown", not "free"
        metrics[M.TOTAL_COST] = cost
    return metrics


def _tool_definitions(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    raw = C.loads_maybe(attrs.get(A.TOOL_DEFINITIONS))
    definitions = []
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict):
                fn = item["function"] if isinstance(item.get("function"), dict) else item
                definitions.append(_tool_definition(fn.get("name"), fn.get("description"), fn.get("parameters")))
        return [d for d in definitions if d]
    legacy: dict[int, dict[str, Any]] = {}
    for key, val in attrs.items():
        if key.startswith(A.LEGACY_FUNCTIONS_PREFIX):
            number, _, field_name = key[len(A.LEGACY_FUNCTIONS_PREFIX) :].partition(".")
            if number.isdigit():
                legacy.setdefault(int(number), {})[field_name] = val
    for index in sorted(legacy):
        fn = legacy[index]
        definitions.append(_tool_definition(fn.get("name"), fn.get("description"), fn.get("parameters")))
    return [d for d in definitions if d]


def _tool_definition(name: Any, description: Any, parameters: Any) -> dict[str, Any]:
    if not name:
        return {}
    definition: dict[str, Any] = {"name": str(name)}
    if description:
        definition["description"] = str(description)
    schema = C.loads_maybe(parameters)
    if isinstance(schema, dict):
        definition["schema"] = schema
    return definition


def _tags(attrs: dict[str, Any]) -> dict[str, str | list[str]]:
    tags: dict[str, str | list[str]] = {}
    for key, val in attrs.items():
        if key.startswith(A.ASSOCIATION_PREFIX):
            name = key[len(A.ASSOCIATION_PREFIX) :]
            if name not in ("session_id", "user_id") and val is not None:
                tags[name] = C.to_text(val)
    return tags


def _prompt(attrs: dict[str, Any]) -> M.Prompt | None:
    """The prompt the app says it used, from every convention in use (``semconv`` lists them); Datadog's prompt
    tracking JSON wins, and everything it carries goes through, as ddtrace sends it."""
    prompt = M.Prompt(source="app")
    tracked = C.loads_maybe(attrs.get(A.DD_PROMPT_TRACKING))
    if isinstance(tracked, dict):
        prompt.id = _str(tracked.get("id"))
        prompt.name = _str(tracked.get("name"))
        prompt.version = _str(tracked.get("version"))
        prompt.label = _str(tracked.get("label"))
        prompt.template = _str(tracked.get("template"))
        prompt.chat_template = _chat_template(tracked.get("chat_template"))
        prompt.variables = _text_map(tracked.get("variables"))
        prompt.tags = _text_map(tracked.get("tags"))
        prompt.context_variable_keys = _keys(
            tracked, "rag_context_variables", "context_variable_keys", "_dd_context_variable_keys"
        )
        prompt.query_variable_keys = _keys(
            tracked, "rag_query_variables", "query_variable_keys", "_dd_query_variable_keys"
        )
    prompt.id = prompt.id or _str(attrs.get(A.PROMPT_ID))
    prompt.name = prompt.name or _first_str(attrs, A.PROMPT_NAME)
    prompt.version = prompt.version or _first_str(attrs, A.PROMPT_VERSION)
    prompt.label = prompt.label or _first_str(attrs, A.PROMPT_LABEL)
    if not prompt.chat_template:
        prompt.template = prompt.template or _first_str(attrs, A.PROMPT_TEMPLATE)
    for prefix in A.PROMPT_VARIABLES_PREFIX:
        for key, val in attrs.items():
            if key.startswith(prefix):
                prompt.variables.setdefault(key[len(prefix) :], C.to_text(val))
    for key in A.PROMPT_VARIABLES_JSON:
        for name, val in _text_map(C.loads_maybe(attrs.get(key))).items():
            prompt.variables.setdefault(name, val)
    if not (prompt.name or prompt.version or prompt.template or prompt.chat_template or prompt.id):
        return None
    return prompt


def _text_map(raw: Any) -> dict[str, str]:
    return {str(k): C.to_text(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _keys(tracked: dict[str, Any], *names: str) -> list[str]:
    for name in names:
        value = tracked.get(name)
        if isinstance(value, list):
            return [str(v) for v in value]
        if isinstance(value, dict):  # rag_*_variables may be given as {key: value}
            return [str(k) for k in value]
    return []


def _chat_template(raw: Any) -> list[dict[str, str]] | None:
    if not isinstance(raw, list):
        return None
    messages = [
        {"role": str(m.get("role") or "user"), "content": C.to_text(m.get("content"))}
        for m in raw
        if isinstance(m, dict)
    ]
    return messages or None


def _error(
    span: M.Span,
    status_code: int,
    status_message: str,
    attrs: dict[str, Any],
    events: list[M.WireEvent],
    language: Any = None,
) -> None:
    if status_code != STATUS_ERROR:
        return
    span.status = "error"
    error = M.ErrorInfo(message=status_message or None)
    exception_type = None
    for event in events:
        if event.name == A.EXCEPTION_EVENT:
            exc = event.attributes
            exception_type = exception_type or _str(exc.get(A.EXCEPTION_TYPE))
            error.message = error.message or _str(exc.get(A.EXCEPTION_MESSAGE))
            error.stack = _str(exc.get(A.EXCEPTION_STACKTRACE))
    # The exception's class wins over error.type, which may be a bare class name (OpenLLMetry) or a code.
    error.type = error_type(exception_type or _str(attrs.get(A.ERROR_TYPE)), language)
    span.error = error


_CLASS_REPR = re.compile(r"<class '([^']+)'>")
_PYTHON_BUILTIN_ERRORS = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
)


def error_type(raw: str | None, language: Any = None) -> str | None:
    """An error type as ddtrace sends it: the dotted class name (``openai.InternalServerError``,
    ``builtins.ValueError``), never the repr of a class (``<class 'openai.InternalServerError'>``, which
    openai-v2 writes to error.type)."""
    if not raw:
        return None
    found = _CLASS_REPR.fullmatch(raw.strip())
    name = found.group(1) if found else raw.strip()
    if language == "python" and name in _PYTHON_BUILTIN_ERRORS:  # OTel's Python SDK leaves builtins unqualified
        return f"builtins.{name}"
    return name


def _evaluation(attrs: dict[str, Any], time_unix_nano: int) -> M.Evaluation | None:
    """A ``gen_ai.evaluation.result`` event (semconv 1.38+) as an evaluation."""
    label = _str(attrs.get(A.EVALUATION_NAME))
    if not label:
        return None
    score = attrs.get(A.EVALUATION_SCORE)
    category = _str(attrs.get(A.EVALUATION_LABEL))
    assessment = category if category in ("pass", "fail") else None
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        evaluation = M.Evaluation(label=label, metric_type="score", value=float(score), assessment=assessment)
    elif category:
        evaluation = M.Evaluation(label=label, metric_type="categorical", value=category, assessment=assessment)
    else:
        return None
    evaluation.reasoning = _str(attrs.get(A.EVALUATION_EXPLANATION))
    evaluation.timestamp_ms = time_unix_nano // 1_000_000 if time_unix_nano else None
    return evaluation


# --- content carried by log records -------------------------------------------------------------------------


@dataclass(slots=True)
class LogContent:
    """GenAI content for one span, gathered from the log records that reference it."""

    inputs: list[M.Message] = field(default_factory=list)
    outputs: list[M.Message] = field(default_factory=list)
    system: list[M.Message] = field(default_factory=list)
    tool_definitions: Any = None
    evaluations: list[M.Evaluation] = field(default_factory=list)
    service: str | None = None  # the sender's service.name, for evaluations whose span already left
    complete: bool = False  # an output (or the one-shot details event) arrived: the span need not wait longer

    def merge(self, other: LogContent) -> None:
        self.inputs.extend(other.inputs)
        self.outputs.extend(other.outputs)
        self.system.extend(other.system)
        self.tool_definitions = self.tool_definitions or other.tool_definitions
        self.evaluations.extend(other.evaluations)
        self.service = self.service or other.service
        self.complete = self.complete or other.complete


def log_contents(records: list[M.LogRecord]) -> tuple[dict[tuple[str, str], LogContent], int]:
    """GenAI content from log records, keyed by (trace id hex, span id hex).

    Returns the content and how many GenAI log records had no span context (they cannot be joined).
    """
    found: dict[tuple[str, str], list[tuple[int, int, str, Any, dict[str, Any]]]] = {}
    services: dict[tuple[str, str], str | None] = {}
    unjoinable = 0
    for order, record in enumerate(records):
        attrs = record.attributes
        name = record.event_name or _str(attrs.get(A.EVENT_NAME_ATTR)) or ""
        if name not in A.CONTENT_EVENTS:
            continue
        if not record.trace_id or not record.span_id:
            unjoinable += 1
            continue
        key = (record.trace_id, record.span_id)
        found.setdefault(key, []).append((record.time_unix_nano, order, name, record.body, attrs))
        services[key] = _str(record.resource.attributes.get(A.SERVICE_NAME))
    contents = {key: _content_of(items) for key, items in found.items()}
    for key, content in contents.items():
        content.service = services[key]
    return contents, unjoinable


def _content_of(records: list[tuple[int, int, str, Any, dict[str, Any]]]) -> LogContent:
    result = LogContent()
    for when, _, name, body, attrs in sorted(records, key=lambda r: (r[0], r[1])):
        if name == A.EVENT_OPERATION_DETAILS:
            result.inputs.extend(C.parts_messages(attrs.get(A.INPUT_MESSAGES)))
            result.outputs.extend(C.parts_messages(attrs.get(A.OUTPUT_MESSAGES)))
            if A.SYSTEM_INSTRUCTIONS in attrs:
                result.system.extend(C.system_instruction_messages(attrs[A.SYSTEM_INSTRUCTIONS]))
            result.tool_definitions = attrs.get(A.TOOL_DEFINITIONS)
            result.complete = True
        elif name == A.EVENT_CHOICE:
            result.outputs.append(C.choice_message(body))
            result.complete = True
        elif name == A.EVENT_EVALUATION:
            evaluation = _evaluation(attrs, when)
            if evaluation:
                result.evaluations.append(evaluation)
        else:
            result.inputs.append(C.event_message(name, body, A.MESSAGE_EVENTS[name]))
    return result


def apply_log_content(span: M.Span, found: LogContent) -> None:
    """Fill a span's missing content from its log records; content already on the span wins."""
    if span.kind in (M.LLM, M.EMBEDDING):
        has_input = bool(span.input.messages or span.input.documents)
        inputs = [] if has_input else merge_system_instructions(found.system, found.inputs)
        outputs = [] if span.output.messages else found.outputs
        if span.kind == M.EMBEDDING and inputs:
            span.output.value = None
        set_messages(span, inputs, outputs, span.metadata.get("embedding_dimensions"))
        if not span.tool_definitions and found.tool_definitions is not None:
            span.tool_definitions = _tool_definitions({A.TOOL_DEFINITIONS: found.tool_definitions})
    span.evaluations.extend(found.evaluations)


def expects_log_content(span: M.Span) -> bool:
    """Whether a span may still get content from log records (so the pipeline should hold it briefly).

    A call that used tools but carries no tool definitions waits too: OpenLIT puts them only in its log record.
    """
    if span.kind == M.LLM:
        if not span.input.messages or not span.output.messages:
            return True
        used_tools = any(m.tool_calls or m.tool_results for m in (*span.input.messages, *span.output.messages))
        return used_tools and not span.tool_definitions
    if span.kind == M.EMBEDDING:
        return not span.input.documents
    return False


def _str(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    return raw if isinstance(raw, str) else C.to_text(raw)


def _first_str(attrs: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        text = _str(attrs.get(key))
        if text:
            return text
    return None


def _first_number(attrs: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    for key in keys:
        raw = attrs.get(key)
        if isinstance(raw, bool) or raw is None:
            continue
        if isinstance(raw, (int, float)):
            return raw
        try:
            return float(raw)
        except (TypeError, ValueError):
            continue
    return None
