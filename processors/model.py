"""The one GenAI span model every processor and exporter shares.

Receivers normalize every instrumentation flavour into these dataclasses; processors change them; exporters
render them. Nothing here knows about OTLP attribute names or Datadog payloads, so a semconv rename or an
intake change never touches a processor.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# Span kinds, as Datadog LLM Observability names them. ``None`` on a span means "not a GenAI span".
LLM = "llm"
EMBEDDING = "embedding"
TOOL = "tool"
AGENT = "agent"
WORKFLOW = "workflow"
TASK = "task"
RETRIEVAL = "retrieval"

# Metric names (the Datadog keys, so exporters need no mapping table).
INPUT_TOKENS = "input_tokens"
OUTPUT_TOKENS = "output_tokens"
TOTAL_TOKENS = "total_tokens"
CACHE_READ_TOKENS = "cache_read_input_tokens"
CACHE_WRITE_TOKENS = "cache_write_input_tokens"
REASONING_TOKENS = "reasoning_output_tokens"
INPUT_COST = "input_cost"
OUTPUT_COST = "output_cost"
TOTAL_COST = "total_cost"
NON_CACHED_INPUT_COST = "non_cached_input_cost"
CACHE_READ_INPUT_COST = "cache_read_input_cost"
CACHE_WRITE_INPUT_COST = "cache_write_input_cost"
REASONING_OUTPUT_COST = "reasoning_output_cost"
COST_METRICS = (
    INPUT_COST,
    OUTPUT_COST,
    TOTAL_COST,
    NON_CACHED_INPUT_COST,
    CACHE_READ_INPUT_COST,
    CACHE_WRITE_INPUT_COST,
    REASONING_OUTPUT_COST,
)
TIME_TO_FIRST_TOKEN = "time_to_first_token"


@dataclass(slots=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] | None = None
    tool_id: str | None = None
    type: str = "function"


@dataclass(slots=True)
class ToolResult:
    result: str
    tool_id: str | None = None
    name: str | None = None
    type: str = "function"


@dataclass(slots=True)
class Message:
    role: str
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_results: list[ToolResult] = field(default_factory=list)


@dataclass(slots=True)
class Document:
    text: str = ""
    name: str | None = None
    id: str | None = None
    score: float | None = None


@dataclass(slots=True)
class IO:
    """Input or output of a span: chat messages, documents, or a plain value (tools, workflows)."""

    messages: list[Message] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    value: str | None = None


@dataclass(slots=True)
class Prompt:
    """A prompt's identity and template, as Datadog's prompt tracking knows it (``meta.input.prompt``)."""

    id: str | None = None
    name: str | None = None
    version: str | None = None
    template: str | None = None
    chat_template: list[dict[str, str]] | None = None  # [{"role", "content"}], instead of a template
    variables: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    label: str | None = None
    context_variable_keys: list[str] = field(default_factory=list)  # RAG: variables holding retrieved context
    query_variable_keys: list[str] = field(default_factory=list)  # RAG: variables holding the user's question
    source: str | None = None  # where the identity came from: "app" (span attributes) or "registry"


@dataclass(slots=True)
class Evaluation:
    """One evaluation result attached to a span; ``metric_type`` is score | categorical | boolean | json."""

    label: str
    metric_type: str
    value: Any
    assessment: str | None = None  # pass | fail
    reasoning: str | None = None
    timestamp_ms: int | None = None
    tags: dict[str, str] = field(default_factory=dict)


class SharedEvaluation(Evaluation):
    """A result many spans carry (a built-in's "finish reason stop"): one object made by ``shared_evaluation``, so
    that building it and rendering it for an exporter happen once, not once per span (4 us per chat span).

    It cannot be changed, its tags included: whoever rewrites a span's evaluations in place (the fail-closed
    scrub, the redaction walk) first gives the span copies of its own (``Span.own_evaluations``), and a custom
    evaluator that tries to change one fails like any other error of it. It equals a plain ``Evaluation`` with
    the same fields."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a shared evaluation cannot be changed (field {name}): use owned() for a copy")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a shared evaluation cannot be changed (field {name}): use owned() for a copy")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Evaluation):
            return _fields(self) == _fields(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as Evaluation: compared by fields

    def __copy__(self) -> SharedEvaluation:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedEvaluation:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (shared_evaluation, (self.label, self.metric_type, self.value, self.assessment, self.reasoning,
                                    tuple(self.tags.items())))  # fmt: skip


def _fields(evaluation: Evaluation) -> tuple[Any, ...]:
    e = evaluation
    return (e.label, e.metric_type, e.value, e.assessment, e.reasoning, e.timestamp_ms, dict(e.tags))


SHARED_EVALUATIONS = 4096  # distinct shared results kept (the built-ins make a few dozen), least recently used out


def shared_evaluation(
    label: str,
    metric_type: str,
    value: Any,
    assessment: str | None = None,
    reasoning: str | None = None,
    tags: tuple[tuple[str, str], ...] = (),
) -> Evaluation:
    """The one ``SharedEvaluation`` with these fields (no timestamp: it is the send time); a plain ``Evaluation``
    when the value cannot be a dictionary key (a JSON result)."""
    try:
        return _shared(label, metric_type, value, assessment, reasoning, tags)
    except TypeError:
        return Evaluation(label, metric_type, value, assessment, reasoning, None, dict(tags))


@functools.lru_cache(maxsize=SHARED_EVALUATIONS, typed=True)  # typed: True == 1, but they are different results
def _shared(
    label: str,
    metric_type: str,
    value: Any,
    assessment: str | None,
    reasoning: str | None,
    tags: tuple[tuple[str, str], ...],
) -> SharedEvaluation:
    """Spans that hold an object this cache let go keep it; it is only not reused."""
    found = object.__new__(SharedEvaluation)
    for name, field_value in zip(
        ("label", "metric_type", "value", "assessment", "reasoning", "timestamp_ms", "tags"),
        (label, metric_type, value, assessment, reasoning, None, MappingProxyType(dict(tags))),
    ):
        object.__setattr__(found, name, field_value)
    return found


def owned(evaluation: Evaluation) -> Evaluation:
    """``evaluation`` itself, or a plain copy of it when it is shared (to change it in place)."""
    if type(evaluation) is not SharedEvaluation:
        return evaluation
    e = evaluation
    return Evaluation(e.label, e.metric_type, e.value, e.assessment, e.reasoning, e.timestamp_ms, dict(e.tags))


@dataclass(slots=True)
class ErrorInfo:
    type: str | None = None
    message: str | None = None
    stack: str | None = None


@dataclass(slots=True)
class RedactionSummary:
    """What redaction found, by location (e.g. ``input.messages``) → entity types."""

    found: dict[str, set[str]] = field(default_factory=dict)
    failed_closed: int = 0


@dataclass(slots=True, eq=False)
class Opaque:
    """An attribute value this version cannot read (an AnyValue kind newer than our OTLP library), kept as its
    bytes. Redaction cannot analyse it, so it replaces it (fail closed); without redaction the OTLP copy carries
    it, minus the fields our library does not know (they are never forwarded)."""

    raw: bytes


@dataclass(slots=True, eq=False)
class WireResource:
    """The resource (or instrumentation scope) spans and log records arrived under, as plain values.

    One object per resource of a request, shared by every span and record under it, so it is edited once.
    ``source`` and ``read`` belong to ``processors.wire`` (the protobuf it came from; what was read from it)."""

    attributes: dict[str, Any]
    schema_url: str = ""
    source: Any = None
    read: Any = None
    name: str = ""  # a scope's name and version (a resource has none)
    version: str = ""
    entity_refs: list[dict[str, Any]] = field(default_factory=list)  # a resource's, as plain values


@dataclass(slots=True, eq=False)
class WireEvent:
    name: str
    attributes: dict[str, Any]
    time_unix_nano: int = 0
    index: int = -1  # position on the wire; -1 for an event glassbox added (an evaluation result)
    read: Any = None


@dataclass(slots=True, eq=False)
class WireLink:
    attributes: dict[str, Any]
    trace_id: bytes = b""
    span_id: bytes = b""
    trace_state: str = ""
    flags: int = 0
    index: int = -1
    read: Any = None


@dataclass(slots=True, eq=False)
class Wire:
    """The OTLP copy of a span, as plain values: what ``otlp`` exporters forward.

    Processors edit these values like any other field (redaction replaces a text, drops a key); they never see a
    protobuf. ``processors.wire`` renders the copy onto the protobuf the span arrived as, adding what processors
    set through the span's enrichment API (metrics, tags, prompt, evaluations)."""

    attributes: dict[str, Any]
    events: list[WireEvent]
    links: list[WireLink]
    status_message: str
    resource: WireResource
    scope: WireResource
    source: Any = None
    read: Any = None
    name: str = ""  # the span name as it goes out on the OTLP copy
    trace_state: str = ""


@dataclass(slots=True, eq=False)
class LogRecord:
    """One OTLP log record as plain values (forwarded by ``otlp`` exporters as it came, after processors)."""

    trace_id: str  # hex, "" when the record has no span context
    span_id: str
    event_name: str
    time_unix_nano: int  # when it happened (observed time when the producer did not say)
    body: Any
    attributes: dict[str, Any]
    resource: WireResource
    scope: WireResource
    source: Any = None
    read: Any = None
    severity_text: str = ""


@dataclass(slots=True)
class Span:
    trace_id: str  # 32 lowercase hex chars
    span_id: str  # 16 lowercase hex chars
    parent_id: str | None
    name: str
    kind: str | None  # one of the kinds above, or None for a span that is not GenAI (kept only for OTLP exporters)
    start_ns: int
    duration_ns: int
    status: str = "ok"  # ok | error
    error: ErrorInfo | None = None
    model_name: str | None = None
    model_provider: str | None = None
    input: IO = field(default_factory=IO)
    output: IO = field(default_factory=IO)
    metadata: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tool_definitions: list[dict[str, Any]] = field(default_factory=list)
    session_id: str | None = None
    user_id: str | None = None
    ml_app: str | None = None
    service: str | None = None
    env: str | None = None
    version: str | None = None
    tags: dict[str, str | list[str]] = field(default_factory=dict)  # a list renders as one tag per value
    prompt: Prompt | None = None
    evaluations: list[Evaluation] = field(default_factory=list)
    redaction: RedactionSummary | None = None
    wire: Wire | None = None  # the OTLP copy (None for spans built in code, e.g. tests)
    llm_parent_id: str | None = None  # nearest GenAI ancestor, resolved by the pipeline; None = root
    # What processors added through the methods below; processors.wire puts it on the OTLP copy too.
    enriched_metrics: set[str] = field(default_factory=set)
    enriched_tags: set[str] = field(default_factory=set)
    enriched_prompt: bool = False
    added_evaluations: list[Evaluation] = field(default_factory=list)

    @property
    def is_genai(self) -> bool:
        return self.kind is not None

    # --- enrichment: how processors add data, so that every exporter (OTLP copies included) gets it ---------

    def set_metric(self, name: str, value: float) -> None:
        """Set a metric (a token count, a cost in USD) under its Datadog name (the constants above)."""
        self.metrics[name] = value
        self.enriched_metrics.add(name)

    def set_tag(self, key: str, value: str | list[str]) -> None:
        """Set a tag; a list becomes one ``key:value`` tag per item."""
        self.tags[key] = value
        self.enriched_tags.add(key)

    def drop_tag(self, key: str) -> None:
        self.tags.pop(key, None)
        self.enriched_tags.add(key)

    def set_prompt(self, prompt: Prompt | None) -> None:
        self.prompt = prompt
        self.enriched_prompt = True

    def add_evaluation(self, evaluation: Evaluation) -> None:
        self.evaluations.append(evaluation)
        self.added_evaluations.append(evaluation)

    def own_evaluations(self) -> None:
        """Plain copies in place of the span's shared evaluations, before a processor changes them in place. An
        added evaluation and its place in ``evaluations`` get the same copy, so both show the change."""
        copies: dict[int, Evaluation] = {}
        for evaluations in (self.evaluations, self.added_evaluations):
            for i, evaluation in enumerate(evaluations):
                if type(evaluation) is SharedEvaluation:
                    copy = copies.get(id(evaluation))
                    if copy is None:
                        copy = copies[id(evaluation)] = owned(evaluation)
                    evaluations[i] = copy


@dataclass(slots=True)
class DetachedEvaluation:
    """An evaluation of a span that already left the relay (it arrived later than the span, or a processor made
    it later, like an LLM judge)."""

    trace_id: str
    span_id: str
    service: str | None
    evaluation: Evaluation
    from_wire: bool = False  # it came in a log record, which OTLP exporters forward as it came


@dataclass(slots=True)
class Batch:
    """What flows through processors: GenAI and plain spans, plus OTLP log/metric requests to forward."""

    spans: list[Span] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)  # log records to forward to OTLP exporters
    metrics: list[Any] = field(default_factory=list)  # metric requests, forwarded untouched (opaque to processors)
    evaluations: list[DetachedEvaluation] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.spans)
