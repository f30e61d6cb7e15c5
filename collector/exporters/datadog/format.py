"""Render model spans as Datadog LLM Observability span events and evaluation metrics, as ddtrace does.

Shapes follow what ddtrace 4.16 sends (`tests/testdata/datadog/ddtrace_4.16.0_agentless_capture.json`): one span per
envelope, kind under ``meta.span.kind``, ``ml_app`` as a tag, decimal span ids, 32-hex trace ids.
"""

from __future__ import annotations

import functools
import re
import time
import zlib
from typing import Any

import orjson

from glassbox.collector.version import VERSION as GLASSBOX_VERSION
from glassbox.processors import model as M
from glassbox.processors import semconv as A

ROOT_PARENT_ID = "undefined"
ML_APP_DEFAULT = "unnamed-ml-app"
EVENT_SIZE_LIMIT = 5_000_000  # bytes per span event; above it ddtrace drops input/output
PAYLOAD_SIZE_LIMIT = 5 << 20  # bytes per POST
DROPPED_VALUE_TEXT = "[This value has been dropped because this span's size exceeds the 5MB size limit.]"
DROPPED_IO = "dropped_io"
MAX_TAG_LENGTH = 200
_ML_APP_INVALID = re.compile(r"[^a-z0-9_\-:./]")
_UNDERSCORES = re.compile(r"_{2,}")
_LABEL_INVALID = re.compile(r"[^A-Za-z0-9_]")
# ddtrace's defaults for a prompt's RAG variable keys (rag_context_variables / rag_query_variables).
RAG_CONTEXT_KEYS_DEFAULT = ("context",)
RAG_QUERY_KEYS_DEFAULT = ("question",)
# Tag ddtrace puts on an LLM span with a prompt: "annotated" when the app named it, "auto" when it was detected
# (here: matched by the prompts processor's registry).
PROMPT_METHOD_TAG = "prompt_tracking_instrumentation_method"
EVENT_KIND = "evaluation"  # every evaluation metric says so, as ddtrace's do (feedback would be "feedback")


def normalize_ml_app(raw: str | None) -> str:
    """Datadog's ml_app rules: lowercase, [a-z0-9_-:./], <= 193 chars, no repeated or trailing underscores."""
    text = _ML_APP_INVALID.sub("_", (raw or "").strip().lower())
    text = _UNDERSCORES.sub("_", text)[:193].rstrip("_")
    return text or ML_APP_DEFAULT


@functools.lru_cache(maxsize=256)  # a handful of providers, once per LLM span
def model_provider(provider: str | None) -> str:
    """Datadog's name for a provider as OpenTelemetry reports it (``azure.ai.openai`` → ``azure_openai``), as
    ddtrace sends it; ``unknown`` when there is none. The span keeps the OpenTelemetry name (cost reads it)."""
    if not provider:
        return "unknown"
    name = provider.strip().lower()
    return A.DATADOG_PROVIDERS.get(name, name)


def decimal_id(hex_id: str) -> str:
    return str(int(hex_id, 16))


def span_event(span: M.Span, *, ml_app: str, extra_tags: dict[str, str] | None = None) -> dict[str, Any]:
    """One span event (the inside of an envelope's ``spans`` list)."""
    span_id = decimal_id(span.span_id)
    meta: dict[str, Any] = {"span": {"kind": span.kind}}
    if span.kind in (M.LLM, M.EMBEDDING):
        meta["model_name"] = span.model_name or "unknown"
        meta["model_provider"] = model_provider(span.model_provider)
    tool_names = _tool_names(span) if span.kind == M.LLM else {}
    io_in = _io(span.input, tool_names)
    if span.prompt is not None and span.kind == M.LLM:
        io_in["prompt"] = _prompt(span.prompt, ml_app)
    if io_in:
        meta["input"] = io_in
    io_out = _io(span.output, tool_names)
    if io_out:
        meta["output"] = io_out
    meta["metadata"] = _metadata(span)
    if span.tool_definitions and span.kind == M.LLM:
        meta["tool_definitions"] = span.tool_definitions
    if span.error is not None:
        meta["error"] = {
            k: v
            for k, v in (("message", span.error.message), ("type", span.error.type), ("stack", span.error.stack))
            if v
        }
    event: dict[str, Any] = {
        "trace_id": span.trace_id,
        "span_id": span_id,
        "parent_id": decimal_id(span.llm_parent_id) if span.llm_parent_id else ROOT_PARENT_ID,
        "name": span.name or span.kind,
        "start_ns": span.start_ns,
        "duration": span.duration_ns,
        "status": span.status,
        "meta": meta,
        "metrics": _metrics(span),
        "tags": tags(span, ml_app, extra_tags),
        "_dd": {"span_id": span_id, "trace_id": span.trace_id, "apm_trace_id": span.trace_id},
    }
    if span.status == "error" and span.error and span.error.message:
        event["status_message"] = span.error.message
    if span.session_id:
        event["session_id"] = span.session_id
    return event


def tags(span: M.Span, ml_app: str, extra: dict[str, str] | None = None) -> list[str]:
    values: dict[str, Any] = {}
    values.update(extra or {})
    values.update(span.tags)
    values["ml_app"] = ml_app
    values["source"] = "integration"  # as ddtrace tags every span; Datadog's facets filter on it
    language = _language(span)
    if language:
        values.setdefault("language", language)
    if span.kind in (M.LLM, M.EMBEDDING):
        integration = _integration(span.wire.scope.name if span.wire else "", model_provider(span.model_provider))
        if integration:
            values.setdefault("integration", integration)
    values["glassbox.version"] = GLASSBOX_VERSION
    values["error"] = "1" if span.status == "error" else "0"
    for key, val in (
        ("service", span.service),
        ("env", span.env),
        ("version", span.version),
        ("session_id", span.session_id),
        ("user_id", span.user_id),
    ):
        if val:
            values.setdefault(key, val)
    if span.error and span.error.type:
        values["error_type"] = span.error.type
    if span.prompt and span.prompt.version:
        values.setdefault("prompt_version", span.prompt.version)
    if span.prompt and span.kind == M.LLM:  # the prompt is rendered on LLM spans only
        values[PROMPT_METHOD_TAG] = "auto" if span.prompt.source == "registry" else "annotated"
    return sorted(_tag(k, item) for k, v in values.items() for item in (v if isinstance(v, list) else [v]))


def _language(span: M.Span) -> str | None:
    raw = span.wire.resource.attributes.get(A.TELEMETRY_SDK_LANGUAGE) if span.wire else None
    if not isinstance(raw, str) or not raw:
        return None
    return A.DATADOG_LANGUAGES.get(raw.lower(), raw.lower())


_SCOPE_LIBRARY = re.compile(r"instrumentation[._]([a-z0-9_]+)")
_VERSION_SUFFIX = re.compile(r"_v\d+$")


@functools.lru_cache(maxsize=256)  # a few scopes and providers
def _integration(scope: str, provider: str) -> str | None:
    """The library an LLM span's instrumentation wraps, as ddtrace's ``integration:`` tag names it: from the
    scope (``opentelemetry.instrumentation.openai.v1``, ``openlit.instrumentation.openai``,
    ``opentelemetry.instrumentation.openai_v2`` → ``openai``), else from the provider."""
    found = _SCOPE_LIBRARY.search(scope.lower())
    if found:
        return _VERSION_SUFFIX.sub("", found.group(1))
    return A.DATADOG_INTEGRATIONS.get(provider)


def _tag(key: str, val: Any) -> str:
    text = f"{key}:{val}".replace("\n", " ")
    return text[:MAX_TAG_LENGTH]


def _metrics(span: M.Span) -> dict[str, float]:
    """Numeric metrics, with ddtrace's zeros on embeddings: ``output_tokens: 0`` (an embedding has no output
    tokens; ddtrace's openai integration sends the 0), and no zero cache or reasoning counts (OpenLLMetry reports
    ``cache_read_input_tokens: 0`` on embeddings, which ddtrace never sends)."""
    metrics = {k: v for k, v in span.metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if span.kind == M.EMBEDDING:
        for name in _EMBEDDING_ZERO_DROPPED:
            if metrics.get(name) == 0:
                del metrics[name]
        if M.INPUT_TOKENS in metrics:
            metrics.setdefault(M.OUTPUT_TOKENS, 0)
    return metrics


_EMBEDDING_ZERO_DROPPED = (M.CACHE_READ_TOKENS, M.CACHE_WRITE_TOKENS, M.REASONING_TOKENS)


def _io(io: M.IO, tool_names: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if io.messages:
        out["messages"] = [_message(m, tool_names or {}) for m in io.messages]
    if io.documents:
        out["documents"] = [
            {k: v for k, v in (("text", d.text), ("name", d.name), ("id", d.id), ("score", d.score)) if v is not None}
            for d in io.documents
        ]
    if io.value is not None:
        out["value"] = io.value
    return out


def _tool_names(span: M.Span) -> dict[str, str]:
    """Tool call id → tool name, from the calls in the span's messages (a tool result names the call it answers)."""
    return {
        call.tool_id: call.name
        for message in (*span.input.messages, *span.output.messages)
        for call in message.tool_calls
        if call.tool_id and call.name
    }


def _message(message: M.Message, tool_names: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                k: v
                for k, v in (("name", c.name), ("arguments", c.arguments), ("tool_id", c.tool_id), ("type", c.type))
                if v is not None
            }
            for c in message.tool_calls
        ]
    if message.tool_results:
        out["tool_results"] = [_tool_result(r, tool_names) for r in message.tool_results]
    return out


def _tool_result(result: M.ToolResult, tool_names: dict[str, str]) -> dict[str, Any]:
    """A tool result as ddtrace sends it: always a ``name`` (the tool whose call it answers, or "" as ddtrace
    sends for an unnamed one) and ``type: "tool_result"`` unless the instrumentation gave another."""
    out: dict[str, Any] = {"name": result.name or tool_names.get(result.tool_id or "", ""), "result": result.result}
    if result.tool_id is not None:
        out["tool_id"] = result.tool_id
    out["type"] = result.type if result.type and result.type != "function" else "tool_result"
    return out


def _prompt(prompt: M.Prompt, ml_app: str) -> dict[str, Any]:
    """``meta.input.prompt`` as ddtrace 4.16 sends it: the RAG variable keys under their ``_dd_`` names, which
    Datadog's hallucination evaluation reads, with ddtrace's defaults when the app named none; a chat template
    replaces the string template."""
    out: dict[str, Any] = {"id": prompt.id or prompt.name or f"{ml_app}_unnamed-prompt", "ml_app": ml_app}
    for key in ("name", "version", "label"):
        val = getattr(prompt, key)
        if val:
            out[key] = val
    if prompt.chat_template:
        out["chat_template"] = [dict(message) for message in prompt.chat_template]
    elif prompt.template:
        out["template"] = prompt.template
    if prompt.variables:
        out["variables"] = dict(prompt.variables)
    if prompt.tags:
        out["tags"] = dict(prompt.tags)
    out["_dd_context_variable_keys"] = list(prompt.context_variable_keys or RAG_CONTEXT_KEYS_DEFAULT)
    out["_dd_query_variable_keys"] = list(prompt.query_variable_keys or RAG_QUERY_KEYS_DEFAULT)
    return out


def _metadata(span: M.Span) -> dict[str, Any]:
    """``meta.metadata`` under ddtrace's keys where both name the same thing: one ``finish_reason`` string (several
    distinct reasons stay a ``finish_reasons`` list: ddtrace has no name for them), ``encoding_format`` as one
    string, and no ``stream`` on embeddings. Only what is sent changes: processors read the span's own keys."""
    metadata = {str(k): v for k, v in span.metadata.items() if v is not None}
    reasons = metadata.get("finish_reasons")
    if isinstance(reasons, str) or (isinstance(reasons, list) and len(set(map(str, reasons))) == 1):
        metadata.pop("finish_reasons")
        metadata.setdefault("finish_reason", reasons if isinstance(reasons, str) else str(reasons[0]))
    if span.kind == M.EMBEDDING:
        metadata.pop("stream", None)  # an embeddings call does not stream; OpenLLMetry and OpenLIT say False
        formats = metadata.get("encoding_formats")
        if isinstance(formats, list) and len(formats) == 1:
            metadata.pop("encoding_formats")
            metadata.setdefault("encoding_format", formats[0])
    return metadata


def encode_event(event: dict[str, Any]) -> bytes:
    """The envelope for one span event, JSON-encoded; oversized events lose input/output as ddtrace does."""
    envelope = {
        "_dd.stage": "raw",
        "_dd.tracer_version": f"glassbox-{GLASSBOX_VERSION}",
        "event_type": "span",
        "spans": [event],
    }
    encoded = orjson.dumps(envelope)
    if len(encoded) < EVENT_SIZE_LIMIT:
        return encoded
    meta = event["meta"]
    meta["input"] = {"value": DROPPED_VALUE_TEXT}
    meta["output"] = {"value": DROPPED_VALUE_TEXT}
    event["collection_errors"] = [DROPPED_IO]
    encoded = orjson.dumps(envelope)
    if len(encoded) >= EVENT_SIZE_LIMIT:  # metadata alone is huge: keep ids and metrics, say why
        meta["metadata"] = {"_dropped": DROPPED_VALUE_TEXT}
        meta.pop("tool_definitions", None)
        encoded = orjson.dumps(envelope)
    return encoded


def consecutive_groups(
    sizes: list[int], max_bytes: int, *, overhead: int = 0, counts: list[int] | None = None, max_count: int = 0
) -> list[list[int]]:
    """Positions grouped in order so that each group, joined with one-byte separators around ``overhead`` bytes,
    stays within ``max_bytes`` and (with ``counts``) its counts add up to at most ``max_count``. An element over a
    limit goes alone: it is never split, nor dropped."""
    groups: list[list[int]] = []
    current: list[int] = []
    size, count = overhead, 0
    for i, length in enumerate(sizes):
        n = counts[i] if counts is not None else 0
        if current and (size + length + 1 > max_bytes or (counts is not None and count + n > max_count)):
            groups.append(current)
            current, size, count = [], overhead, 0
        current.append(i)
        size += length + 1
        count += n
    if current:
        groups.append(current)
    return groups


def join_payloads(encoded: list[bytes], limit: int = PAYLOAD_SIZE_LIMIT) -> list[tuple[bytes, list[int]]]:
    """Pack encoded envelopes into JSON arrays of at most ``limit`` bytes each, with the positions (in
    ``encoded``) each array carries, so a failed POST can say exactly which envelopes it held."""
    groups = consecutive_groups([len(item) for item in encoded], limit, overhead=2)
    return [(b"[" + b",".join(encoded[j] for j in group) + b"]", group) for group in groups]


@functools.lru_cache(maxsize=4096)  # labels are few (the evaluators'), and this runs once per metric
def eval_label(raw: str) -> str:
    """Datadog evaluation labels: a letter first, then ASCII letters, digits and underscores, <= 200 chars."""
    label = _LABEL_INVALID.sub("_", raw)
    if not label[:1].isalpha():
        label = "eval_" + label
    return label[:200]


def eval_metrics(span: M.Span, *, ml_app: str) -> list[dict[str, Any]]:
    if not span.evaluations:
        return []
    join_on = {"span": {"span_id": decimal_id(span.span_id), "trace_id": span.trace_id}}  # shared: read-only
    now = int(time.time() * 1000)
    return [_eval_metric(join_on, ev, ml_app, now) for ev in span.evaluations]


def eval_metric(trace_id: str, span_id: str, evaluation: M.Evaluation, *, ml_app: str) -> dict[str, Any]:
    """One evaluation metric joined to its span by decimal span id and 32-hex trace id."""
    join_on = {"span": {"span_id": decimal_id(span_id), "trace_id": trace_id}}
    return _eval_metric(join_on, evaluation, ml_app, int(time.time() * 1000))


def _eval_metric(join_on: dict[str, Any], evaluation: M.Evaluation, ml_app: str, now_ms: int) -> dict[str, Any]:
    return {
        "event_kind": EVENT_KIND,
        "join_on": join_on,
        "eval_scope": "span",
        "ml_app": ml_app,
        "timestamp_ms": evaluation.timestamp_ms or now_ms,
        **_result(ml_app, evaluation),
    }


def _result(ml_app: str, evaluation: M.Evaluation) -> dict[str, Any]:
    """A metric's members after its join keys and timestamp: what the evaluation says."""
    members: dict[str, Any] = {
        "metric_type": evaluation.metric_type,
        "label": eval_label(evaluation.label),
        f"{evaluation.metric_type}_value": evaluation.value,
        "tags": _tags_of(ml_app, evaluation.tags),
    }
    if evaluation.assessment in ("pass", "fail"):
        members["assessment"] = evaluation.assessment
    if evaluation.reasoning:
        members["reasoning"] = evaluation.reasoning
    return members


def _tags_of(ml_app: str, tags: dict[str, Any]) -> tuple[str, ...]:
    try:
        return _eval_tags(ml_app, tuple(tags.items()))
    except TypeError:  # an unhashable value (a custom evaluator's list): not cacheable, same result
        return _eval_tags.__wrapped__(ml_app, tuple(tags.items()))


@functools.lru_cache(maxsize=4096)  # the same few tag sets over and over (evaluator kind, languages)
def _eval_tags(ml_app: str, tags: tuple[tuple[str, Any], ...]) -> tuple[str, ...]:
    return tuple(sorted({f"ml_app:{ml_app}", *(_tag(k, v) for k, v in tags)}))  # a tuple: shared, so immutable


_HEAD = (  # what eval_metric puts before the result, in its order, for bytes %-formatting
    b'{"event_kind":"' + EVENT_KIND.encode() + b'","join_on":{"span":{"span_id":%s,"trace_id":%s}},'
    b'"eval_scope":"span","ml_app":%s,"timestamp_ms":'
)


def encoded_eval_metrics(span: M.Span, *, ml_app: str) -> list[bytes]:
    """``eval_metrics`` JSON-encoded, byte for byte what ``orjson.dumps`` makes of each; a queue item holds several,
    comma-joined (an array without its brackets: ``eval_payload_raw`` wraps them). The built-ins give every
    span the same few results ("finish reason stop", "no PII found in the output"), so the part after the join
    keys and timestamp is encoded once per distinct result (cached) instead of built and dumped per metric."""
    if not span.evaluations:
        return []
    head = _HEAD % (
        orjson.dumps(decimal_id(span.span_id)),
        orjson.dumps(span.trace_id),
        orjson.dumps(ml_app),
    )
    now = b"%s%d," % (head, int(time.time() * 1000))  # the head and send time most metrics (the built-ins') share
    return [
        now + _encoded_result(ml_app, ev)
        if not ev.timestamp_ms
        else b"%s%d,%s" % (head, ev.timestamp_ms, _encoded_result(ml_app, ev))
        for ev in span.evaluations
    ]


def _encoded_result(ml_app: str, evaluation: M.Evaluation) -> bytes:
    """The metric's members after ``timestamp_ms``, encoded (without the opening brace)."""
    if type(evaluation) is M.SharedEvaluation:  # one object per result: looked up by identity, no key to build
        shared_key = (id(evaluation), ml_app)
        encoded = _SHARED_RESULTS.get(shared_key)
        if encoded is None:
            if len(_SHARED_RESULTS) >= _RESULTS_MAX:
                _SHARED_RESULTS.clear()
            encoded = _SHARED_RESULTS[shared_key] = (evaluation, _result_members(ml_app, evaluation))
        return encoded[1]
    value = evaluation.value
    try:
        key = (
            ml_app,
            evaluation.label,
            evaluation.metric_type,
            type(value),  # True == 1 == 1.0 as keys, but they encode differently
            value,
            evaluation.assessment,
            evaluation.reasoning,
            tuple(evaluation.tags.items()),
        )
        return _cached_result(key, evaluation)
    except TypeError:  # an unhashable value or tag (a JSON metric, a custom evaluator's list): not cacheable
        return _result_members(ml_app, evaluation)


_RESULTS: dict[tuple[Any, ...], bytes] = {}
# Shared results by identity; the entry keeps its evaluation alive, so no other object can have its id meanwhile.
_SHARED_RESULTS: dict[tuple[int, str], tuple[M.Evaluation, bytes]] = {}
_RESULTS_MAX = 4096  # distinct results kept; the built-ins make a few dozen, free-text reasoning is cleared out


def _cached_result(key: tuple[Any, ...], evaluation: M.Evaluation) -> bytes:
    encoded = _RESULTS.get(key)
    if encoded is None:
        if len(_RESULTS) >= _RESULTS_MAX:
            _RESULTS.clear()
        encoded = _RESULTS[key] = _result_members(key[0], evaluation)
    return encoded


def _result_members(ml_app: str, evaluation: M.Evaluation) -> bytes:
    return orjson.dumps(_result(ml_app, evaluation))[1:]


def count_metrics(item: bytes) -> int:
    """How many metrics a queue item of comma-joined metrics holds (the key is never escaped inside JSON strings)."""
    return item.count(b'"join_on":')


EVAL_KIND = "eval"  # queue item: metrics comma-joined (written by the local exporter, and by older versions)
EVAL_ZLIB_KIND = "eval.zlib"  # the same, zlib-compressed (what the datadog exporter writes)
EVAL_KINDS = frozenset({EVAL_KIND, EVAL_ZLIB_KIND})
# The most an eval item may decompress to: a few times the largest POST, so a damaged or hostile row (a dead
# letter replayed from another file) cannot exhaust memory. The exporter's own rows stay under EVAL_BYTES, except
# a single metric over that, which Datadog refuses anyway.
EVAL_ITEM_MAX_BYTES = 4 * PAYLOAD_SIZE_LIMIT


def eval_item_metrics(kind: str, payload: bytes) -> bytes:
    """An eval queue item's metrics, comma-joined; ValueError when a compressed one does not decompress within
    ``EVAL_ITEM_MAX_BYTES``."""
    if kind != EVAL_ZLIB_KIND:
        return payload
    inflater = zlib.decompressobj()
    try:
        metrics = inflater.decompress(payload, EVAL_ITEM_MAX_BYTES)
    except zlib.error as exc:
        raise ValueError(f"not zlib data: {exc}") from None
    if inflater.unconsumed_tail or inflater.unused_data or not inflater.eof:
        raise ValueError("truncated, followed by other bytes, or larger than the limit once decompressed")
    return metrics


def eval_payload_raw(encoded_metrics: list[bytes]) -> bytes:
    """The eval-metric body around metrics that are already JSON-encoded (as they sit in the queue)."""
    return b'{"data":{"type":"evaluation_metric","attributes":{"metrics":[' + b",".join(encoded_metrics) + b"]}}}"
