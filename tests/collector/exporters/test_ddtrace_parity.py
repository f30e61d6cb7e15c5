"""glassbox's span events and evaluation metrics against what ddtrace 4.16 sends for the same calls.

Each test renders spans normalized from a real wire capture (``tests/testdata/otlp``) or from a real instrumented
``openai`` client talking to the fake OpenAI server, and compares a field with ddtrace's: its own capture
(``tests/testdata/datadog/ddtrace_4.16.0_agentless_capture.json``) where it holds the case, otherwise the value
ddtrace's integration for the same library sends (named in each test).
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from glassbox.collector.demo.fake_openai import FAIL_MODEL, FakeOpenAI
from glassbox.collector.exporters.datadog import format as F
from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from glassbox.processors import semconv as A
from glassbox.processors.prompts.config import PromptsConfig
from glassbox.processors.prompts.processor import PromptsProcessor
from tests.conftest import OTLP_CAPTURES, fixture_files, signal_of
from tests.support.schemas import TESTDATA, validate_eval_metrics, validate_span_events

DDTRACE_CAPTURE = TESTDATA / "datadog" / "ddtrace_4.16.0_agentless_capture.json"
ML_APP = "relay-test"  # the capture's ml_app


def ddtrace_requests() -> list[dict[str, Any]]:
    return json.loads(DDTRACE_CAPTURE.read_text())


def ddtrace_span(kind: str) -> dict[str, Any]:
    """The span of this kind ddtrace sent (one per kind in its capture)."""
    [span] = [
        envelope["spans"][0]
        for envelope in ddtrace_requests()[0]["json"]
        if envelope["spans"][0]["meta"]["span"]["kind"] == kind
    ]
    return span


def requests_of(source: str) -> list[Any]:
    """The trace requests of a capture source, decoded from their exact wire bytes."""
    return [
        trace_service_pb2.ExportTraceServiceRequest.FromString(path.read_bytes())
        for path in fixture_files(source)
        if signal_of(path) == "traces"
    ]


def genai_spans(requests: list[Any]) -> list[M.Span]:
    spans = [span for request in requests for span in normalize.spans(request) if span.is_genai]
    assert spans, "the capture holds no GenAI span"
    return spans


def llm_span_of(source: str, name: str | None = None) -> M.Span:
    """The first LLM span of a capture source (optionally: with this span name)."""
    return next(s for s in genai_spans(requests_of(source)) if s.kind == M.LLM and (name is None or s.name == name))


def set_attribute(requests: list[Any], key: str, value: str, *, replace_only: bool = False) -> None:
    """Set a string attribute on every GenAI span of decoded requests, as the app (or another configuration of
    the instrumentation) would; ``replace_only``: only where the span already carries the key."""
    for request in requests:
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    if not any(a.key.startswith(("gen_ai.", "llm.")) for a in span.attributes):
                        continue
                    for attribute in span.attributes:
                        if attribute.key == key:
                            attribute.value.string_value = value
                            break
                    else:
                        if not replace_only:
                            span.attributes.append(
                                common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(string_value=value))
                            )


def rendered(span: M.Span, ml_app: str = ML_APP) -> dict[str, Any]:
    """The span event glassbox sends, checked against the intake schema."""
    event = F.span_event(span, ml_app=ml_app)
    validate_span_events([json.loads(F.encode_event(event))])
    return event


# --- 1. prompt tracking ----------------------------------------------------------------------------------------


def with_prompt_tracking(source: str, tracking: dict[str, Any]) -> M.Span:
    """A real capture's chat span with Datadog's prompt-tracking attribute set by the app, after the prompts
    processor (which runs before every exporter)."""
    requests = requests_of(source)
    set_attribute(requests, A.DD_PROMPT_TRACKING, json.dumps(tracking))
    span = next(s for s in genai_spans(requests) if s.kind == M.LLM)
    PromptsProcessor(PromptsConfig()).process(M.Batch(spans=[span]))
    return span


def test_the_prompt_ddtrace_sent_is_the_prompt_glassbox_sends():
    # What the capture's app passed to ddtrace's annotate(prompt=...): no RAG keys, so ddtrace sent its defaults.
    expected = ddtrace_span("llm")["meta"]["input"]["prompt"]
    tracking = {"id": "weather-prompt", "version": "3", "template": "{{q}}", "variables": {"q": "What is the weather?"}}
    event = rendered(with_prompt_tracking("ll_default", tracking))
    assert event["meta"]["input"]["prompt"] == expected
    assert "prompt_tracking_instrumentation_method:annotated" in ddtrace_span("llm")["tags"]
    assert "prompt_tracking_instrumentation_method:annotated" in event["tags"]


@pytest.mark.parametrize("source", ["ll_default", "v2_latest_span_only", "openlit_1.45.0", "ll_0.47.5"])
def test_every_prompt_tracking_field_goes_through_as_ddtrace_sends_it(source):
    tracking = {
        "id": "rag-answer",
        "version": "2",
        "label": "canary",
        "tags": {"team": "search"},
        "chat_template": [{"role": "system", "content": "Use {{context}}"}, {"role": "user", "content": "{{q}}"}],
        "variables": {"context": "doc text", "q": "why?"},
        "rag_context_variables": ["context"],
        "rag_query_variables": ["q"],
    }
    prompt = rendered(with_prompt_tracking(source, tracking))["meta"]["input"]["prompt"]
    assert prompt == {  # ddtrace's _validate_prompt: the RAG keys under their internal names, ml_app added
        "id": "rag-answer",
        "ml_app": ML_APP,
        "version": "2",
        "label": "canary",
        "tags": {"team": "search"},
        "chat_template": tracking["chat_template"],
        "variables": tracking["variables"],
        "_dd_context_variable_keys": ["context"],
        "_dd_query_variable_keys": ["q"],
    }


def test_a_prompt_from_traceloop_attributes_gets_ddtrace_defaults_and_an_auto_or_annotated_tag():
    span = llm_span_of("traceloop_sdk")
    PromptsProcessor(PromptsConfig()).process(M.Batch(spans=[span]))
    event = rendered(span)
    prompt = event["meta"]["input"]["prompt"]
    assert (prompt["_dd_context_variable_keys"], prompt["_dd_query_variable_keys"]) == (["context"], ["question"])
    assert "prompt_tracking_instrumentation_method:annotated" in event["tags"]  # the app named it
    span.prompt.source = "registry"  # matched by glassbox's registry: detected, not annotated
    assert "prompt_tracking_instrumentation_method:auto" in rendered(span)["tags"]


# --- 2. model_provider -----------------------------------------------------------------------------------------

# Every trace source: the provider attribute its instrumentation writes (semconv 1.37+ or the older gen_ai.system).
PROVIDER_KEY = {
    "ll_default": "gen_ai.provider.name",
    "ll_events": "gen_ai.provider.name",
    "ll_nocontent": "gen_ai.provider.name",
    "ll_0.47.5": "gen_ai.system",
    "v2_latest_span_only": "gen_ai.provider.name",
    "v2_latest_event_only": "gen_ai.provider.name",
    "v2_latest_nocontent": "gen_ai.provider.name",
    "v2old_content": "gen_ai.system",
    "v2_gzip": "gen_ai.provider.name",
    "traceloop_sdk": "gen_ai.provider.name",
    "openlit_1.45.0": "gen_ai.provider.name",
    "openlit_1.45.0_nocontent": "gen_ai.provider.name",
}

# What instrumentations report (semconv's well-known values, their deprecated spellings, and OpenLLMetry < 0.48's
# base-URL vendors) → what ddtrace's integration for the same service sends.
DATADOG_PROVIDER_CASES = [
    ("openai", "openai"),
    ("azure.ai.openai", "azure_openai"),  # ddtrace openai integration on an Azure base URL
    ("az.ai.openai", "azure_openai"),  # semconv <= 1.36 spelling
    ("Azure", "azure_openai"),  # OpenLLMetry 0.47
    ("anthropic", "anthropic"),
    ("aws.bedrock", "amazon_bedrock"),  # ddtrace bedrock integration (what Datadog's cost estimation matches)
    ("AWS", "amazon_bedrock"),
    ("gcp.vertex_ai", "google"),  # ddtrace vertexai / google_genai integrations
    ("vertex_ai", "google"),
    ("gcp.gemini", "google"),
    ("gcp.gen_ai", "google"),
    ("mistral_ai", "mistral"),  # ddtrace mistralai integration
    ("deepseek", "deepseek"),
    ("groq", "groq"),  # no ddtrace integration: as reported
]


def test_every_source_is_covered():
    traces = {d.name for d in OTLP_CAPTURES.iterdir() if d.is_dir() and any(d.glob("*_traces.pb"))}
    assert traces - {"node_json"} == set(PROVIDER_KEY)  # node_json's hand-made span names no provider


@pytest.mark.parametrize("source", sorted(PROVIDER_KEY))
def test_each_capture_renders_openai_as_ddtrace_does(source):
    spans = [s for s in genai_spans(requests_of(source)) if s.kind in (M.LLM, M.EMBEDDING)]
    assert {rendered(s)["meta"]["model_provider"] for s in spans} == {ddtrace_span("llm")["meta"]["model_provider"]}
    assert {s.model_provider for s in spans} == {"openai"}  # the model keeps OpenTelemetry's name (cost reads it)


@pytest.mark.parametrize("source", sorted(PROVIDER_KEY))
@pytest.mark.parametrize("reported, datadog", DATADOG_PROVIDER_CASES)
def test_each_capture_with_another_provider_renders_datadogs_name(source, reported, datadog):
    requests = requests_of(source)
    set_attribute(requests, PROVIDER_KEY[source], reported, replace_only=True)
    spans = [s for s in genai_spans(requests) if s.kind in (M.LLM, M.EMBEDDING)]
    reported_name = A.PROVIDER_ALIASES.get(reported.lower(), reported.lower())
    assert {s.model_provider for s in spans} == {reported_name}  # every span names it; the model keeps that name
    assert {rendered(s)["meta"]["model_provider"] for s in spans} == {datadog}


def test_no_provider_is_unknown_as_in_ddtrace():
    [span] = genai_spans(requests_of("node_json"))
    assert span.model_provider is None and rendered(span)["meta"]["model_provider"] == "unknown"


# --- 3. error type ---------------------------------------------------------------------------------------------


def instrumentor(name: str) -> Any:
    if name == "openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    else:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    return OpenAIInstrumentor()


def instrumented_spans(name: str, call: Any) -> list[M.Span]:
    """The GenAI spans a real instrumentation makes of ``call(client)`` (a real ``openai`` client against the fake
    OpenAI server), OTLP-encoded as its exporter would send them, then normalized."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "parity-app"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    instrumentation = instrumentor(name)
    instrumentation.instrument(tracer_provider=provider)
    try:
        with FakeOpenAI.start_in_thread() as server:
            call(openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0))
    finally:
        instrumentation.uninstrument()
    return genai_spans([encode_spans(memory.get_finished_spans())])


def failing_chat(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model=FAIL_MODEL, messages=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("name", ["openai-v2", "openllmetry"])
def test_an_openai_error_is_typed_by_its_dotted_class_name_as_ddtrace_does(name):
    [span] = instrumented_spans(name, failing_chat)
    event = rendered(span)
    # ddtrace's openai integration: f"{module}.{qualname}" of the exception (its capture: builtins.ValueError)
    assert event["meta"]["error"]["type"] == "openai.InternalServerError"
    assert "error_type:openai.InternalServerError" in event["tags"] and event["status"] == "error"


@pytest.mark.parametrize(
    "raw, language, expected",
    [
        ("<class 'openai.InternalServerError'>", "python", "openai.InternalServerError"),  # openai-v2's error.type
        ("<class 'ValueError'>", "python", "builtins.ValueError"),
        ("ValueError", "python", "builtins.ValueError"),  # OTel's Python SDK: builtins unqualified
        ("ValueError", "nodejs", "ValueError"),  # not Python: no guess
        ("TimeoutError", None, "TimeoutError"),
        ("openai.APITimeoutError", "python", "openai.APITimeoutError"),
        ("500", "python", "500"),  # a code, kept
        ("", "python", None),
    ],
)
def test_error_type(raw, language, expected):
    assert normalize.error_type(raw, language) == expected


def test_the_ddtrace_capture_error_type_is_what_a_python_valueerror_renders_as():
    expected = ddtrace_span("task")["meta"]["error"]["type"]
    assert normalize.error_type("ValueError", "python") == expected == "builtins.ValueError"


# --- 4. metadata keys ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source", ["ll_default", "v2_latest_span_only", "openlit_1.45.0", "traceloop_sdk", "node_json"]
)
def test_one_finish_reason_is_a_string_as_ddtrace_names_it(source):
    spans = [s for s in genai_spans(requests_of(source)) if s.metadata.get("finish_reasons")]
    assert spans
    for span in spans:
        metadata = rendered(span)["meta"]["metadata"]
        assert "finish_reasons" not in metadata
        assert [metadata["finish_reason"]] == span.metadata["finish_reasons"]  # the span keeps its list (evals)


def test_several_distinct_finish_reasons_stay_a_list():
    span = llm_span_of("ll_default")
    span.metadata["finish_reasons"] = ["stop", "length"]  # n=2: one reason per choice
    metadata = rendered(span)["meta"]["metadata"]
    assert metadata["finish_reasons"] == ["stop", "length"] and "finish_reason" not in metadata


@pytest.mark.parametrize("source", ["ll_default", "ll_0.47.5", "openlit_1.45.0"])
def test_embeddings_carry_no_stream_and_one_encoding_format_as_ddtrace_sends(source):
    [span] = [s for s in genai_spans(requests_of(source)) if s.kind == M.EMBEDDING]
    assert span.metadata["stream"] is False  # what the instrumentation reported
    metadata = rendered(span)["meta"]["metadata"]
    assert "stream" not in metadata and "encoding_formats" not in metadata
    if source.startswith("openlit"):  # ddtrace: {"encoding_format": ...}; the dimensions glassbox keeps (information)
        assert metadata == {"encoding_format": "float", "user": "", "embedding_dimensions": 3}


def test_other_metadata_keys_are_kept():
    span = llm_span_of("openlit_1.45.0")
    metadata = rendered(span)["meta"]["metadata"]
    assert {k: metadata[k] for k in ("seed", "response_id", "output_type", "user")} == {
        "seed": 7,
        "response_id": "chatcmpl-fake1",
        "output_type": "text",
        "user": "user-42",
    }


# --- 5. zero token metrics, tool results -------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["ll_default", "ll_0.47.5", "v2_latest_span_only", "openlit_1.45.0"])
def test_embedding_token_metrics_as_ddtrace_sends_them(source):
    [span] = [s for s in genai_spans(requests_of(source)) if s.kind == M.EMBEDDING]
    metrics = rendered(span)["metrics"]
    # ddtrace's openai integration: prompt tokens, completion tokens (0 for embeddings) and their total; cache
    # counts only where the API reports them (never on embeddings).
    assert {k: v for k, v in metrics.items() if k.endswith("_tokens")} == {
        "input_tokens": 4,
        "output_tokens": 0,
        "total_tokens": 4,
    }
    assert set(ddtrace_span("embedding")["metrics"]) <= set(metrics)


def test_llm_token_metrics_are_sent_as_reported_zeros_included():
    span = llm_span_of("openlit_1.45.0")
    assert span.metrics["cache_write_input_tokens"] == 0
    assert rendered(span)["metrics"]["cache_write_input_tokens"] == 0  # what the API reported for the call


@pytest.mark.parametrize("source", ["ll_default", "ll_0.47.5", "v2_latest_span_only", "openlit_1.45.0"])
def test_tool_results_carry_the_tool_name_and_type_tool_result(source):
    [span] = [
        s for s in genai_spans(requests_of(source)) if any(m.tool_results for m in s.input.messages) and s.kind == "llm"
    ]
    [result] = [r for m in rendered(span)["meta"]["input"]["messages"] for r in m.get("tool_results", [])]
    # ddtrace's openai integration: {name, result, tool_id, type: "tool_result"}; its name is the tool message's
    # (often ""), glassbox names the call it answers when that call is in the history.
    called = any(m.tool_calls for m in span.input.messages)
    assert result == {
        "name": "get_weather" if called else "",
        "result": "rainy, 57F",
        "tool_id": "call_abc123",
        "type": "tool_result",
    }


# --- 6. tags on every span, event_kind on evaluations -------------------------------------------------------------

# The instrumentation scope of each source's LLM spans → the library ddtrace's integration for it is named after.
INTEGRATION = {source: "openai" for source in PROVIDER_KEY}


@pytest.mark.parametrize("source", sorted(PROVIDER_KEY))
def test_every_span_carries_ddtraces_source_language_and_integration_tags(source):
    for span in genai_spans(requests_of(source)):
        tags = rendered(span)["tags"]
        assert "source:integration" in tags and "language:python" in tags, span.name
        expected = [f"integration:{INTEGRATION[source]}"] if span.kind in (M.LLM, M.EMBEDDING) else []
        assert [t for t in tags if t.startswith("integration:")] == expected, span.name  # app spans: none


def test_the_ddtrace_capture_tags_every_span_with_source_and_language():
    for envelope in ddtrace_requests()[0]["json"]:
        assert {"source:integration", "language:python"} <= set(envelope["spans"][0]["tags"])


def test_a_node_span_is_tagged_javascript_as_dd_trace_js_does():
    requests = requests_of("node_json")
    requests[0].resource_spans[0].resource.attributes.append(
        common_pb2.KeyValue(key=A.TELEMETRY_SDK_LANGUAGE, value=common_pb2.AnyValue(string_value="nodejs"))
    )
    [span] = genai_spans(requests)
    tags = rendered(span)["tags"]
    assert "language:javascript" in tags and "source:integration" in tags
    assert not [t for t in tags if t.startswith("integration:")]  # a hand-made span naming no provider


def test_evaluation_metrics_carry_event_kind_as_ddtrace_sends_them():
    [expected] = {m["event_kind"] for m in ddtrace_requests()[1]["json"]["data"]["attributes"]["metrics"]}
    span = llm_span_of("ll_default")
    span.evaluations = [M.Evaluation("faithfulness", "score", 0.87, "pass", "grounded", 1_795_325_056_082)]
    [metric] = F.eval_metrics(span, ml_app=ML_APP)
    [encoded] = F.encoded_eval_metrics(span, ml_app=ML_APP)
    assert metric["event_kind"] == json.loads(encoded)["event_kind"] == expected == "evaluation"
    validate_eval_metrics(F.eval_payload_raw([encoded]))
    detached = F.eval_metric(span.trace_id, span.span_id, span.evaluations[0], ml_app=ML_APP)
    assert detached["event_kind"] == "evaluation"
