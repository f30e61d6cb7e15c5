"""Every real capture, through a real relay, into the Datadog span events it renders.

Each source directory (one instrumentation in one mode, see ``tests/testdata/README.md``) is POSTed in capture
order to an in-process relay with the local exporter; ``relay.flush()`` releases whatever still waits for log
content or a parent, and the stored rows hold the rendered Datadog span events. Every scenario ran under its own
``scenario <name>`` root span, so a scenario's events are the events in that span's trace.

The tables below say what each scenario must look like per source. Expectations describe what the
instrumentation really put on the wire (some report no cache/reasoning tokens, some send no tool definitions);
the comments say why a value is missing when the scenario would suggest otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from tests.conftest import OTLP_CAPTURES, export_over_grpc, fixture_files, post_otlp, signal_of
from tests.support.schemas import validate_span_events

# Flush releases everything; a long join timeout keeps the ticker from releasing a span between two POSTs on a
# slow machine (which would make a join depend on timing).
PIPELINE = {"join_timeout": 30.0}

# --- what the fake OpenAI server answered, as Datadog renders it --------------------------------------------------

GPT_4O_MINI = "gpt-4o-mini-2024-08-06"
EMBEDDING_MODEL = "text-embedding-3-small-v1"


def msg(role: str, content: str = "", *, tool_calls: list | None = None, tool_results: list | None = None) -> dict:
    message: dict[str, Any] = {"role": role, "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if tool_results:
        message["tool_results"] = tool_results
    return message


def tool_result(tool_id: str | None = "call_abc123", name: str = "get_weather") -> dict:
    """As ddtrace sends it: named after the call it answers ("" when that call is not in the history)."""
    return {"name": name, "result": "rainy, 57F", "type": "tool_result", **({"tool_id": tool_id} if tool_id else {})}


TOOL_CALL = {"name": "get_weather", "arguments": {"location": "Paris"}, "tool_id": "call_abc123", "type": "function"}
ASK = msg("user", "Weather in Paris?")
CHAT_IN = [msg("system", "You are terse."), ASK]
ANSWER = [msg("assistant", "The weather in Paris is rainy.")]
CALLS_TOOL = [msg("assistant", tool_calls=[TOOL_CALL])]
TOOL_HISTORY = [ASK, msg("assistant", tool_calls=[TOOL_CALL]), msg("tool", tool_results=[tool_result()])]
COMPLETION_IN, COMPLETION_OUT = [msg("user", "Hello")], [msg("assistant", " world")]
RESPONSES_IN = [msg("system", "Be brief."), msg("user", "Say hello")]
RESPONSES_OUT = [msg("assistant", "Hello from responses")]
DOCUMENTS = [{"text": "hello"}, {"text": "world"}]
WEATHER_TOOL = [
    {
        "name": "get_weather",
        "description": "Get weather for a city",
        "schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    }
]

CHAT_PARAMS = {"temperature": 0.2, "max_tokens": 50, "top_p": 0.9}
STREAMING = {"stream": True}

# Token metrics are compared exactly over these keys: a metric the instrumentation did not report must be absent.
METRIC_KEYS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_input_tokens",
    "cache_write_input_tokens",
    "reasoning_output_tokens",
    "total_cost",
)
USAGE = {"input_tokens": 21, "output_tokens": 9, "total_tokens": 30}  # total derived when not sent
CACHED = {"cache_read_input_tokens": 5}
REASONING = {"reasoning_output_tokens": 3}
RESPONSES_USAGE = {
    "input_tokens": 12,
    "output_tokens": 4,
    "total_tokens": 16,
    "cache_read_input_tokens": 2,
    "reasoning_output_tokens": 1,
}
EMBED_USAGE = {"input_tokens": 4, "output_tokens": 0, "total_tokens": 4}  # ddtrace sends the 0 output tokens

# --- relay bugs these captures expose ----------------------------------------------------------------------------
# A check listed in ``known_bugs`` must fail today: the test then xfails with the reason, but only after every
# other check passed. When the bug is fixed the check passes and the test fails, asking for the entry's removal.

# (none open today)


@dataclass(frozen=True)
class Expect:
    """One scenario's GenAI span as a Datadog span event. ``None`` content means "must be absent"."""

    name: str
    metrics: dict[str, float]
    kind: str = "llm"
    model: str | None = GPT_4O_MINI  # None: rendered as "unknown"
    provider: str | None = "openai"
    input: list | None = None  # meta.input.messages, exactly
    output: list | None = None  # meta.output.messages, exactly
    documents: list | None = None  # meta.input.documents, exactly
    tool_definitions: list | None = None  # meta.tool_definitions, exactly
    metadata: dict = field(default_factory=dict)  # a subset of meta.metadata
    known_bugs: dict[str, str] = field(default_factory=dict)  # check name -> reported bug


NO_SPAN = None  # the instrumentation does not wrap this API: the scenario's trace holds no GenAI span


def nocontent(table: dict[str, Expect | None], *, keep_tool_definitions: bool = False) -> dict[str, Expect | None]:
    """The same calls with content capture off: no messages or documents, everything else unchanged."""
    return {
        scenario: expect
        and replace(
            expect,
            input=None,
            output=None,
            documents=None,
            known_bugs={},
            tool_definitions=expect.tool_definitions if keep_tool_definitions else None,
        )
        for scenario, expect in table.items()
    }


# OpenLLMetry 0.62.4 (content as gen_ai.input/output.messages JSON strings).
LL = {
    "chat": Expect("openai.chat", {**USAGE, **CACHED, **REASONING}, input=CHAT_IN, output=ANSWER, metadata=CHAT_PARAMS),
    "tools": Expect(
        "openai.chat", {**USAGE, **CACHED, **REASONING}, input=[ASK], output=CALLS_TOOL, tool_definitions=WEATHER_TOOL
    ),
    "toolresult": Expect(
        "openai.chat",
        {**USAGE, **CACHED, **REASONING},
        input=TOOL_HISTORY,
        output=ANSWER,
        tool_definitions=WEATHER_TOOL,
    ),
    # Streamed usage has no reasoning tokens; the streamtools scenario did not ask for usage at all.
    "stream": Expect("openai.chat", {**USAGE, **CACHED}, input=[ASK], output=ANSWER, metadata=STREAMING),
    "streamtools": Expect(
        "openai.chat", {}, input=[ASK], output=CALLS_TOOL, tool_definitions=WEATHER_TOOL, metadata=STREAMING
    ),
    "embed": Expect(
        "openai.embeddings",
        EMBED_USAGE,  # OpenLLMetry's cache_read_input_tokens 0 is not sent (ddtrace never sends it on embeddings)
        kind="embedding",
        model=EMBEDDING_MODEL,
        documents=DOCUMENTS,
    ),
    "completion": Expect(
        "openai.completion",
        {"input_tokens": 2, "output_tokens": 1, "total_tokens": 3},
        model="gpt-3.5-turbo-instruct-0613",
        input=COMPLETION_IN,
        output=COMPLETION_OUT,
        metadata={"max_tokens": 5},
    ),
    "responses": Expect(
        "openai.response", RESPONSES_USAGE, model="gpt-4.1-mini-2025", input=RESPONSES_IN, output=RESPONSES_OUT
    ),
}

# use_attributes=False: content arrives in log records and is joined by trace + span id. No tool definitions
# are emitted in this mode and the tool message carries no id. For streams the gen_ai.choice record is attached
# to the parent `scenario` span (not the LLM span); the relay gives it to the parent's one pending LLM child.
LL_EVENTS = {
    **LL,
    "tools": replace(LL["tools"], tool_definitions=None),
    "toolresult": replace(
        LL["toolresult"],
        tool_definitions=None,
        input=[*TOOL_HISTORY[:2], msg("tool", tool_results=[tool_result(None, name="")])],
    ),
    "streamtools": replace(LL["streamtools"], tool_definitions=None),
}

# 0.47.5: indexed gen_ai.prompt.{i}.* attributes, llm.request.functions.*, gen_ai.usage.prompt_tokens.
LL_LEGACY = LL

# TRACELOOP_TRACE_CONTENT=false removes messages and tool definitions; the run covered three scenarios.
LL_NOCONTENT = {s: e for s, e in nocontent(LL).items() if s in ("chat", "tools", "stream")}

# openai-v2 2.4b0: no cache/reasoning/total tokens, no tool definitions, no embedding input content; legacy
# completions and the Responses API produce no span.
V2 = {
    "chat": Expect("chat gpt-4o-mini", USAGE, input=CHAT_IN, output=ANSWER, metadata={**CHAT_PARAMS, "seed": 7}),
    "tools": Expect("chat gpt-4o-mini", USAGE, input=[ASK], output=CALLS_TOOL),
    "toolresult": Expect("chat gpt-4o-mini", USAGE, input=TOOL_HISTORY, output=ANSWER),
    "stream": Expect("chat gpt-4o-mini", USAGE, input=[ASK], output=ANSWER),
    "streamtools": Expect("chat gpt-4o-mini", {}, input=[ASK], output=CALLS_TOOL),
    "embed": Expect(
        "embeddings text-embedding-3-small",
        EMBED_USAGE,
        kind="embedding",
        model=EMBEDDING_MODEL,
        metadata={"embedding_dimensions": 3},
    ),
    "completion": NO_SPAN,
    "responses": NO_SPAN,
}
# openai-v2 2.1b0 (per-message log events, gen_ai.system, gen_ai.openai.request.seed) also wraps no embeddings.
V2_OLD = {**V2, "embed": NO_SPAN}

# @opentelemetry/exporter-trace-otlp-http: one hand-made span with no model or provider, OTLP/JSON on the wire.
NODE = {
    "chat": Expect(
        "chat gpt-4o-mini",
        {"input_tokens": 21, "total_tokens": 21},
        model=None,
        provider=None,
        metadata={"temperature": 0.2, "stream": False},
    )
}

# OpenLIT 1.45.0: content on the span and again in one operation.details log record, which alone carries the tool
# definitions. Cost is priced from the capture's pricing_json (int 0 = unpriced model, dropped). The toolresult
# history it records has no assistant tool-call message. For streams the log record is attached to the parent
# `scenario` span; the relay hands it to that span's one pending LLM child, which waits for it because it used
# tools without carrying their definitions.
OPENLIT_USAGE = {**USAGE, **CACHED, "cache_write_input_tokens": 0, "total_cost": 8.55e-06}
OPENLIT_BASE = {
    "chat": Expect(
        "chat gpt-4o-mini", OPENLIT_USAGE, input=CHAT_IN, output=ANSWER, metadata={**CHAT_PARAMS, "seed": 7}
    ),
    "tools": Expect("chat gpt-4o-mini", OPENLIT_USAGE, input=[ASK], output=CALLS_TOOL, tool_definitions=WEATHER_TOOL),
    "toolresult": Expect(
        "chat gpt-4o-mini",
        OPENLIT_USAGE,
        input=[ASK, msg("tool", tool_results=[tool_result(name="")])],
        output=ANSWER,
        tool_definitions=WEATHER_TOOL,
    ),
    "stream": Expect("chat gpt-4o-mini", OPENLIT_USAGE, input=[ASK], output=ANSWER, metadata=STREAMING),
    "streamtools": Expect(
        "chat gpt-4o-mini",
        OPENLIT_USAGE,
        input=[ASK],
        output=CALLS_TOOL,
        metadata=STREAMING,
        tool_definitions=WEATHER_TOOL,
    ),
    "embed": Expect(
        "embeddings text-embedding-3-small",
        {**EMBED_USAGE, "total_cost": 8e-08},
        kind="embedding",
        model="text-embedding-3-small",
        documents=DOCUMENTS,
        metadata={"embedding_dimensions": 3},
    ),
    "responses": Expect(
        "chat gpt-4.1-mini",
        {**RESPONSES_USAGE, "cache_write_input_tokens": 0},
        model="gpt-4.1-mini-2025",
        input=RESPONSES_IN,
        output=RESPONSES_OUT,
    ),
}
OPENLIT = {
    **OPENLIT_BASE,
}
# Without content the span waits for its log record, so the tool definitions do arrive.
OPENLIT_NOCONTENT = nocontent(OPENLIT_BASE, keep_tool_definitions=True)


# --- sources -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    name: str
    scenarios: dict[str, Expect | None] | None  # None: asserted by its own test (traceloop_sdk)
    wire: str = "protobuf"  # protobuf | gzip (the .pb gzip-compressed) | json (the .json is the wire body)
    unscoped_scenario: str | None = None  # the scenario of traces that have no `scenario <name>` span
    known_bugs: dict[str, str] = field(default_factory=dict)

    def bodies(self) -> list[Path]:
        if self.wire == "json":
            return sorted((OTLP_CAPTURES / self.name).glob("*.json"))
        return fixture_files(self.name)


def _openlit_sources() -> list[Source]:
    """OpenLIT captures recorded by tests/testdata/capture/capture_openlit.py, whichever versions are present."""
    return [
        Source(d.name, OPENLIT_NOCONTENT if d.name.endswith("_nocontent") else OPENLIT)
        for d in sorted(OTLP_CAPTURES.glob("openlit_*"))
        if d.is_dir()
    ]


SOURCES = [
    Source("ll_default", LL),
    Source("ll_events", LL_EVENTS),
    Source("ll_nocontent", LL_NOCONTENT),
    Source("ll_0.47.5", LL_LEGACY),
    Source("v2_latest_span_only", V2),
    Source("v2_latest_event_only", V2),
    Source("v2_latest_nocontent", nocontent(V2)),
    Source("v2old_content", V2_OLD),
    Source("v2_gzip", {"chat": nocontent(V2)["chat"]}, wire="gzip"),
    Source("traceloop_sdk", None),
    Source("node_json", NODE, wire="json", unscoped_scenario="chat"),
    *_openlit_sources(),
]
SOURCE = {source.name: source for source in SOURCES}
SCENARIO_CASES = [
    pytest.param(source, scenario, id=f"{source.name}-{scenario}")
    for source in SOURCES
    if source.scenarios
    for scenario in source.scenarios
]


# --- running a source through a relay ------------------------------------------------------------------------------


@dataclass
class RawSpan:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    genai: bool  # carries gen_ai.* / llm.* / traceloop.* attributes


@dataclass
class Run:
    rows: list[dict[str, Any]]
    spans: list[RawSpan]  # every span of the capture, decoded from its .pb files
    refused: list[str]  # bodies the relay did not answer 200

    @property
    def events(self) -> list[dict[str, Any]]:
        return [row["event"] for row in self.rows]

    def scenario_of(self, trace_id: str, default: str | None = None) -> str | None:
        names = {s.trace_id: s.name.removeprefix("scenario ") for s in self.spans if s.name.startswith("scenario ")}
        return names.get(trace_id, default)

    def raw(self, event: dict[str, Any]) -> RawSpan:
        [span] = [s for s in self.spans if s.trace_id == event["trace_id"] and dec(s.span_id) == event["span_id"]]
        return span


def dec(hex_id: str) -> str:
    return str(int(hex_id, 16))


def capture_spans(source: Source) -> list[RawSpan]:
    spans = []
    for path in fixture_files(source.name):
        if signal_of(path) != "traces":
            continue
        request = trace_service_pb2.ExportTraceServiceRequest.FromString(path.read_bytes())
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    genai = any(a.key.startswith(("gen_ai.", "llm.", "traceloop.")) for a in span.attributes)
                    spans.append(
                        RawSpan(
                            span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex() or None, span.name, genai
                        )
                    )
    return spans


async def post_body(relay: Any, source: Source, path: Path) -> tuple[int, bytes]:
    body = path.read_bytes()
    if source.wire == "json":
        status, answer, _ = await post_otlp(relay, signal_of(path), body, content_type="application/json")
    else:
        status, answer, _ = await post_otlp(relay, signal_of(path), body, gzip_body=source.wire == "gzip")
    return status, answer


def local_store(name: str) -> dict[str, Any]:
    """A local exporter with its own SQLite file (relative paths land in the test's tmp_path): relays started in
    one test must not read each other's rows."""
    return {"local": {"path": f"{name}.db"}}


# Each source is sent once per session and its rows shared by its tests (the relay is stopped by then; rows are
# plain dicts). Any test may be the first to need a source, so every test can run alone.
_RUNS: dict[str, Run] = {}


async def run_source(make_relay: Any, source: Source) -> Run:
    if source.name not in _RUNS:
        relay = await make_relay(local_store(source.name), pipeline=PIPELINE)
        refused = []
        for path in source.bodies():
            status, answer = await post_body(relay, source, path)
            if status != 200:
                refused.append(f"{path.name}: HTTP {status} {answer[:120]!r}")
                if "accepted" in source.known_bugs:  # still check what the capture normalizes to
                    status, answer, _ = await post_otlp(relay, signal_of(path), path.read_bytes())
                    assert status == 200, answer
        assert await relay.flush()
        _RUNS[source.name] = Run(relay.local_exporter.store.recent(1000), capture_spans(source), refused)
    return _RUNS[source.name]


class KnownBugs:
    """Checks expected to fail because of a reported bug (listed above when one is open)."""

    def __init__(self, bugs: dict[str, str]):
        self.bugs = bugs
        self.reproduced: list[str] = []
        self.fixed: list[str] = []

    @contextmanager
    def check(self, name: str) -> Iterator[None]:
        if name not in self.bugs:
            yield
            return
        try:
            yield
        except AssertionError:
            self.reproduced.append(self.bugs[name])
        else:
            self.fixed.append(name)

    def finish(self) -> None:
        if self.fixed:
            pytest.fail(f"known bug(s) no longer reproduce, remove them from the expectations: {self.fixed}")
        if self.reproduced:
            pytest.xfail("; ".join(self.reproduced))


def token_metrics(event: dict[str, Any]) -> dict[str, float]:
    return {key: val for key, val in event["metrics"].items() if key in METRIC_KEYS}


def envelopes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events wrapped as the datadog exporter sends them."""
    return [{"_dd.stage": "raw", "event_type": "span", "spans": [event]} for event in events]


# --- tests -------------------------------------------------------------------------------------------------------


def test_every_capture_directory_has_expectations():
    present = {d.name for d in OTLP_CAPTURES.iterdir() if d.is_dir()}
    assert present == set(SOURCE)


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
async def test_capture_becomes_exactly_its_genai_spans(make_relay, source):
    """Every body is accepted; each GenAI span becomes one schema-valid event and nothing else does."""
    run = await run_source(make_relay, source)
    bugs = KnownBugs(source.known_bugs)
    with bugs.check("accepted"):
        assert run.refused == []

    genai = sorted((s.trace_id, dec(s.span_id)) for s in run.spans if s.genai)
    plain = [s for s in run.spans if not s.genai]
    assert sorted((e["trace_id"], e["span_id"]) for e in run.events) == genai
    assert not any(run.raw(e).name.startswith("scenario ") for e in run.events)
    if source.scenarios and not source.unscoped_scenario:
        assert {s.name for s in plain} <= {f"scenario {name}" for name in source.scenarios} | {"POST"}
        assert {run.scenario_of(s.trace_id) for s in plain} == set(source.scenarios)

    for row in run.rows:
        event = row["event"]
        assert re.fullmatch(r"[0-9a-f]{32}", event["trace_id"])
        assert re.fullmatch(r"[0-9]{1,20}", event["span_id"])
        assert event["_dd"] == {
            "span_id": event["span_id"],
            "trace_id": event["trace_id"],
            "apm_trace_id": event["trace_id"],
        }
        assert (row["kind"], row["name"], row["span_id"]) == (
            event["meta"]["span"]["kind"],
            event["name"],
            event["span_id"],
        )
    validate_span_events(envelopes(run.events))
    bugs.finish()


@pytest.mark.parametrize("source, scenario", SCENARIO_CASES)
async def test_scenario(make_relay, source, scenario):
    run = await run_source(make_relay, source)
    expect = source.scenarios[scenario]
    rows = [r for r in run.rows if run.scenario_of(r["trace_id"], source.unscoped_scenario) == scenario]
    if expect is NO_SPAN:
        assert rows == []
        return
    [row] = rows
    event, bugs = row["event"], KnownBugs(expect.known_bugs)
    meta = event["meta"]

    assert (event["name"], meta["span"]["kind"], row["kind"]) == (expect.name, expect.kind, expect.kind)
    assert (meta["model_name"], meta["model_provider"]) == (expect.model or "unknown", expect.provider or "unknown")
    assert (row["model_name"], row["model_provider"]) == (expect.model, expect.provider)
    # The only ancestor is the plain `scenario` span (and OpenLIT's httpx child is below): a Datadog root.
    assert event["parent_id"] == "undefined"
    assert token_metrics(event) == expect.metrics
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (
        expect.metrics.get("input_tokens"),
        expect.metrics.get("output_tokens"),
        expect.metrics.get("total_tokens"),
    )

    assert meta.get("input", {}).get("messages") == expect.input
    assert meta.get("output", {}).get("messages") == expect.output
    assert meta.get("input", {}).get("documents") == expect.documents
    assert meta["metadata"] | expect.metadata == meta["metadata"], "metadata misses or changes expected keys"
    with bugs.check("tool_definitions"):
        assert meta.get("tool_definitions") == expect.tool_definitions
    bugs.finish()


TRACELOOP_ENTITIES = {  # event name -> (kind, parent event name, input value, output value (dict: JSON))
    "support_flow.workflow": ("workflow", None, "Weather in Paris?", "The weather in Paris is rainy."),
    "weather_agent.agent": ("agent", "support_flow.workflow", "Weather in Paris?", "The weather in Paris is rainy."),
    "summarize.task": (
        "task",
        "weather_agent.agent",
        "{'city': 'Paris', 'forecast': 'rainy'}",
        "The weather in Paris is rainy.",
    ),
    "get_weather": ("tool", "weather_agent.agent", "Paris", {"city": "Paris", "forecast": "rainy"}),
    "openai.chat": ("llm", "summarize.task", None, None),
}


async def test_traceloop_sdk_entities(make_relay):
    run = await run_source(make_relay, SOURCE["traceloop_sdk"])
    events = {e["name"]: e for e in run.events}
    assert set(events) == set(TRACELOOP_ENTITIES)

    for name, (kind, parent, value_in, value_out) in TRACELOOP_ENTITIES.items():
        event = events[name]
        meta = event["meta"]
        assert meta["span"]["kind"] == kind, name
        # Datadog parent = the GenAI parent's decimal span id, which here is also the OTLP parent.
        assert event["parent_id"] == (events[parent]["span_id"] if parent else "undefined"), name
        raw_parent = run.raw(event).parent_id
        assert event["parent_id"] == (dec(raw_parent) if raw_parent else "undefined"), name
        assert event["trace_id"] == run.raw(event).trace_id
        # @conversation wins over the session_id association property; users and other properties become tags.
        assert event["session_id"] == "conv-123", name
        assert {
            "session_id:conv-123",
            "user_id:user-42",
            "customer_id:cust-1",
            "env:dev",
            "ml_app:probe-traceloop",
        } <= set(event["tags"]), name
        assert meta["metadata"]["workflow_name"] == "support_flow", name
        if kind != "llm":
            output = meta["output"]["value"]
            assert meta["input"] == {"value": value_in}, name
            assert (json.loads(output) if isinstance(value_out, dict) else output) == value_out, name
            assert "model_name" not in meta and event["metrics"] == {}, name

    llm = events["openai.chat"]
    meta = llm["meta"]
    assert (meta["model_name"], meta["model_provider"]) == (GPT_4O_MINI, "openai")
    assert token_metrics(llm) == {**USAGE, **CACHED, **REASONING}
    forecast = "{'city': 'Paris', 'forecast': 'rainy'}"
    assert meta["input"]["messages"] == [msg("user", f"Summarize: {forecast}")]
    assert meta["output"]["messages"] == ANSWER
    prompt = meta["input"]["prompt"]
    assert {k: prompt.get(k) for k in ("version", "template", "variables")} == {
        "version": "3",
        "template": "Summarize: {text}",
        "variables": {"text": forecast},
    }
    assert prompt["id"]
    assert "prompt_version:3" in llm["tags"]
    assert meta["metadata"]["agent_name"] == "weather_agent"


async def test_grpc_join_matches_http(make_relay):
    """ll_events over OTLP/gRPC (spans and their log records) renders the same events as over OTLP/HTTP."""
    source = SOURCE["ll_events"]
    over_http = await run_source(make_relay, source)
    relay = await make_relay(local_store("grpc"), pipeline=PIPELINE)
    await export_over_grpc(relay, source.bodies())
    assert await relay.flush()
    over_grpc = [row["event"] for row in relay.local_exporter.store.recent(1000)]

    def by_span(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(events, key=lambda e: e["span_id"])

    assert by_span(over_grpc) == by_span(over_http.events)
    joined = {over_http.scenario_of(e["trace_id"]): e["meta"] for e in over_grpc}
    assert (joined["chat"]["input"]["messages"], joined["chat"]["output"]["messages"]) == (CHAT_IN, ANSWER)
    assert joined["toolresult"]["input"]["messages"] == LL_EVENTS["toolresult"].input
    assert joined["embed"]["input"]["documents"] == DOCUMENTS
    validate_span_events(envelopes(over_grpc))
