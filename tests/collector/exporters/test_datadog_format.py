"""Rendering model spans as Datadog LLM Observability bodies (``exporters.datadog.format``), field by field, with
every produced body checked against the project's JSON Schemas."""

from __future__ import annotations

import json
import time

import orjson
import pytest

from glassbox.collector.exporters.datadog import format as F
from glassbox.processors import model as M
from tests.support.schemas import validate_eval_metrics, validate_span_events

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "00f067aa0ba902b7"  # 67667974448284343 in decimal
PARENT = "b7ad6b7169203331"  # 13235353014750950193 in decimal (above 2**63: unsigned)


def body(*events: dict) -> list:
    """The JSON body of a span POST made of these events' envelopes (what the exporter sends)."""
    return json.loads(F.join_payloads([F.encode_event(e) for e in events])[0][0])


# --- ml_app and ids ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Shop Bot", "shop_bot"),
        ("  My-App:v2/eu.west  ", "my-app:v2/eu.west"),  # - : . / are allowed
        ("a  b!!c", "a_b_c"),  # every run of invalid characters/underscores is one underscore
        ("a__b___c", "a_b_c"),
        ("trailing___", "trailing"),
        ("_leading", "_leading"),
        ("café", "caf"),  # non-ASCII becomes _, then the trailing _ goes
        ("ÄPP", "_pp"),
        ("", F.ML_APP_DEFAULT),
        (None, F.ML_APP_DEFAULT),
        ("!!!", F.ML_APP_DEFAULT),  # nothing left
    ],
)
def test_normalize_ml_app(raw, expected):
    assert F.normalize_ml_app(raw) == expected


def test_normalize_ml_app_is_at_most_193_characters_without_a_trailing_underscore():
    assert F.normalize_ml_app("a" * 300) == "a" * 193
    assert F.normalize_ml_app("a" * 192 + " bc") == "a" * 192  # cut at 193 lands on the underscore
    for raw in ("x" * 500, "ab " * 100, "Z" * 192 + "é"):
        normalized = F.normalize_ml_app(raw)
        assert len(normalized) <= 193 and "__" not in normalized and not normalized.endswith("_")
        assert normalized == normalized.lower()


def test_decimal_id():
    assert F.decimal_id(SPAN) == "67667974448284343"
    assert F.decimal_id(PARENT) == "13235353014750950193"
    assert F.decimal_id("ffffffffffffffff") == str(2**64 - 1)
    assert F.decimal_id("0000000000000001") == "1"


# --- span events ---------------------------------------------------------------------------------------------


def llm_span(**changes) -> M.Span:
    span = M.Span(
        trace_id=TRACE,
        span_id=SPAN,
        parent_id=PARENT,
        name="chat gpt-4o-mini",
        kind=M.LLM,
        start_ns=1_700_000_000_123_456_789,
        duration_ns=2_500_000,
        status="error",
        error=M.ErrorInfo(type="RateLimitError", message="slow down", stack="Traceback ..."),
        model_name="gpt-4o-mini",
        model_provider="OpenAI",
        input=M.IO(messages=[M.Message("system", "be brief"), M.Message("user", "hi {name}")]),
        output=M.IO(messages=[M.Message("assistant", "", tool_calls=[M.ToolCall("lookup", {"q": "x"}, "call_1")])]),
        metadata={"temperature": 0.2, "max_tokens": 64, "dropped": None},
        metrics={M.INPUT_TOKENS: 12, M.OUTPUT_TOKENS: 5, M.TOTAL_COST: 0.0012, "flag": True},
        tool_definitions=[{"name": "lookup", "description": "find things"}],
        session_id="sess-1",
        user_id="user-9",
        service="shop",
        env="prod",
        version="1.2.3",
        tags={"team": "search", "regions": ["eu", "us"]},
        prompt=M.Prompt(
            name="greeting", version="3", template="hi {name}", variables={"name": "Ada"}, tags={"owner": "ml"}
        ),
        llm_parent_id=PARENT,
    )
    for key, value in changes.items():
        setattr(span, key, value)
    return span


def test_span_event_of_an_llm_span_field_by_field():
    event = F.span_event(llm_span(), ml_app="shop-bot", extra_tags={"team": "overridden", "deploy": "blue"})
    assert event["trace_id"] == TRACE
    assert event["span_id"] == "67667974448284343"
    assert event["parent_id"] == "13235353014750950193"
    assert event["name"] == "chat gpt-4o-mini"
    assert (event["start_ns"], event["duration"]) == (1_700_000_000_123_456_789, 2_500_000)
    assert event["status"] == "error" and event["status_message"] == "slow down"
    assert event["session_id"] == "sess-1"
    assert event["_dd"] == {"span_id": "67667974448284343", "trace_id": TRACE, "apm_trace_id": TRACE}
    assert event["metrics"] == {"input_tokens": 12, "output_tokens": 5, "total_cost": 0.0012}  # no booleans
    meta = event["meta"]
    assert meta["span"] == {"kind": "llm"}
    assert (meta["model_name"], meta["model_provider"]) == ("gpt-4o-mini", "openai")
    assert meta["input"] == {
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi {name}"}],
        "prompt": {
            "id": "greeting",
            "ml_app": "shop-bot",
            "name": "greeting",
            "version": "3",
            "template": "hi {name}",
            "variables": {"name": "Ada"},
            "tags": {"owner": "ml"},
            "_dd_context_variable_keys": ["context"],  # ddtrace's defaults
            "_dd_query_variable_keys": ["question"],
        },
    }
    assert meta["output"] == {
        "messages": [
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"name": "lookup", "arguments": {"q": "x"}, "tool_id": "call_1", "type": "function"}],
            }
        ]
    }
    assert meta["metadata"] == {"temperature": 0.2, "max_tokens": 64}  # None values are left out
    assert meta["tool_definitions"] == [{"name": "lookup", "description": "find things"}]
    assert meta["error"] == {"message": "slow down", "type": "RateLimitError", "stack": "Traceback ..."}
    assert event["tags"] == sorted(
        [
            "deploy:blue",
            "team:search",
            "regions:eu",
            "regions:us",
            "ml_app:shop-bot",
            f"glassbox.version:{F.GLASSBOX_VERSION}",
            "error:1",
            "error_type:RateLimitError",
            "service:shop",
            "env:prod",
            "version:1.2.3",
            "session_id:sess-1",
            "user_id:user-9",
            "prompt_version:3",
            "prompt_tracking_instrumentation_method:annotated",
            "source:integration",
            "integration:openai",  # no instrumentation scope (built in code): the provider's integration
        ]
    )
    validate_span_events(body(event))


def test_span_event_of_a_root_span_without_extras():
    span = M.Span(
        trace_id=TRACE,
        span_id=SPAN,
        parent_id=None,
        name="",
        kind=M.TOOL,
        start_ns=5,
        duration_ns=0,
        input=M.IO(value="2+2"),
        output=M.IO(value="4"),
        prompt=M.Prompt(name="ignored"),
        tool_definitions=[{"name": "ignored"}],
    )
    event = F.span_event(span, ml_app="app")
    assert event["parent_id"] == F.ROOT_PARENT_ID
    assert event["name"] == "tool"  # no name: the kind
    assert event["status"] == "ok" and "status_message" not in event and "session_id" not in event
    meta = event["meta"]
    assert set(meta) == {"span", "input", "output", "metadata"}  # no model, prompt, tool definitions, error
    assert meta["input"] == {"value": "2+2"} and meta["output"] == {"value": "4"} and meta["metadata"] == {}
    assert event["tags"] == sorted(
        ["ml_app:app", f"glassbox.version:{F.GLASSBOX_VERSION}", "error:0", "source:integration"]
    )  # no language (no resource) and no integration (a tool span)
    validate_span_events(body(event))


def test_span_event_model_defaults_and_documents():
    span = M.Span(
        trace_id=TRACE,
        span_id=SPAN,
        parent_id=None,
        name="embed",
        kind=M.EMBEDDING,
        start_ns=1,
        duration_ns=1,
        input=M.IO(documents=[M.Document("doc one", name="a", score=0.5), M.Document("doc two", id="d2")]),
        output=M.IO(value="[2 embedding(s) returned]"),
    )
    event = F.span_event(span, ml_app="app")
    assert (event["meta"]["model_name"], event["meta"]["model_provider"]) == ("unknown", "unknown")
    assert event["meta"]["input"] == {
        "documents": [{"text": "doc one", "name": "a", "score": 0.5}, {"text": "doc two", "id": "d2"}]
    }
    validate_span_events(body(event))


def test_a_prompt_carries_everything_ddtrace_sends():
    prompt = M.Prompt(
        id="rag",
        version="2",
        label="prod",
        chat_template=[{"role": "system", "content": "{{ctx}}"}],
        template="ignored when there is a chat template",
        variables={"ctx": "c", "q": "?"},
        context_variable_keys=["ctx"],
        query_variable_keys=["q"],
        tags={"team": "ml"},
    )
    assert F.span_event(llm_span(prompt=prompt), ml_app="app")["meta"]["input"]["prompt"] == {
        "id": "rag",
        "ml_app": "app",
        "version": "2",
        "label": "prod",
        "chat_template": [{"role": "system", "content": "{{ctx}}"}],
        "variables": {"ctx": "c", "q": "?"},
        "tags": {"team": "ml"},
        "_dd_context_variable_keys": ["ctx"],
        "_dd_query_variable_keys": ["q"],
    }


def test_unnamed_prompt_gets_an_id_from_the_ml_app():
    span = llm_span(prompt=M.Prompt(template="t {x}", variables={"x": "1"}))
    assert F.span_event(span, ml_app="app")["meta"]["input"]["prompt"] == {
        "id": "app_unnamed-prompt",
        "ml_app": "app",
        "template": "t {x}",
        "variables": {"x": "1"},
        "_dd_context_variable_keys": ["context"],
        "_dd_query_variable_keys": ["question"],
    }


# --- tags ----------------------------------------------------------------------------------------------------


def test_tags_are_sorted_one_per_list_item_limited_to_200_characters_and_single_line():
    span = llm_span(
        error=None,
        status="ok",
        prompt=None,
        tags={"long": "v" * 300, "multi": "line one\nline two", "many": ["b", "a", "c"], "none": []},
    )
    tags = F.tags(span, "app", {"service": "from-config", "extra": "x"})
    assert tags == sorted(tags)
    assert [t for t in tags if t.startswith("many:")] == ["many:a", "many:b", "many:c"]
    assert not [t for t in tags if t.startswith("none")]
    assert ("long:" + "v" * 195) in tags and all(len(t) <= 200 for t in tags)
    assert "multi:line one line two" in tags and not [t for t in tags if "\n" in t]
    assert "service:from-config" in tags and "service:shop" not in tags  # explicit tags win over the span's
    assert "extra:x" in tags and "error:0" in tags


def test_reserved_tags_cannot_be_overridden_by_span_tags():
    span = llm_span(tags={"ml_app": "spoofed", "error": "0", "glassbox.version": "9"})
    tags = F.tags(span, "real-app")
    assert [t for t in tags if t.startswith(("ml_app:", "error:", "glassbox.version:"))] == sorted(
        ["ml_app:real-app", "error:1", f"glassbox.version:{F.GLASSBOX_VERSION}"]
    )


# --- size limits ---------------------------------------------------------------------------------------------


def sized_event(total: int) -> dict:
    """An event whose envelope encodes to exactly ``total`` bytes (the input message is padded)."""
    span = llm_span(input=M.IO(messages=[M.Message("user", "")]))
    base = len(F.encode_event(F.span_event(span, ml_app="app")))
    span.input.messages[0].content = "p" * (total - base)
    event = F.span_event(span, ml_app="app")
    assert (
        len(
            orjson.dumps(
                {
                    "_dd.stage": "raw",
                    "_dd.tracer_version": f"glassbox-{F.GLASSBOX_VERSION}",
                    "event_type": "span",
                    "spans": [event],
                }
            )
        )
        == total
    )
    return event


def test_an_event_under_the_limit_is_kept_whole():
    encoded = F.encode_event(sized_event(F.EVENT_SIZE_LIMIT - 1))
    assert len(encoded) == F.EVENT_SIZE_LIMIT - 1
    (span,) = json.loads(encoded)["spans"]
    assert "collection_errors" not in span and span["meta"]["input"]["messages"][0]["content"].startswith("ppp")


def test_an_event_over_the_limit_drops_its_input_and_output_like_ddtrace():
    encoded = F.encode_event(sized_event(F.EVENT_SIZE_LIMIT + 1))
    assert len(encoded) < 10_000
    envelope = json.loads(encoded)
    (span,) = envelope["spans"]
    assert span["collection_errors"] == [F.DROPPED_IO]
    assert span["meta"]["input"] == {"value": F.DROPPED_VALUE_TEXT}  # the prompt goes too
    assert span["meta"]["output"] == {"value": F.DROPPED_VALUE_TEXT}
    assert span["meta"]["metadata"] == {"temperature": 0.2, "max_tokens": 64}  # small: kept
    assert span["meta"]["tool_definitions"] and span["metrics"]["input_tokens"] == 12
    validate_span_events([envelope])


def test_metadata_is_dropped_too_when_the_event_is_still_too_big():
    span = llm_span(metadata={"blob": "m" * (F.EVENT_SIZE_LIMIT + 10)})
    encoded = F.encode_event(F.span_event(span, ml_app="app"))
    assert len(encoded) < 10_000
    envelope = json.loads(encoded)
    (event,) = envelope["spans"]
    assert event["collection_errors"] == [F.DROPPED_IO]
    assert event["meta"]["metadata"] == {"_dropped": F.DROPPED_VALUE_TEXT}
    assert "tool_definitions" not in event["meta"]
    assert event["meta"]["input"] == {"value": F.DROPPED_VALUE_TEXT}
    assert event["span_id"] == F.decimal_id(SPAN) and event["metrics"]["output_tokens"] == 5
    validate_span_events([envelope])


def test_join_payloads_packs_envelopes_under_the_limit_with_their_positions():
    encoded = [b'{"n":%d,"pad":"%s"}' % (i, b"x" * size) for i, size in enumerate([30, 30, 30, 5, 200, 30, 30])]
    limit = 100
    payloads = F.join_payloads(encoded, limit=limit)
    positions = [p for _, carried in payloads for p in carried]
    assert positions == list(range(len(encoded)))  # every envelope once, in order
    for payload, carried in payloads:
        assert json.loads(payload) == [json.loads(encoded[i]) for i in carried]
        if len(carried) > 1:
            assert len(payload) <= limit
    (big,) = [(payload, carried) for payload, carried in payloads if 4 in carried]
    assert big[1] == [4] and len(big[0]) > limit  # bigger than the limit on its own: alone, not dropped
    assert [carried for _, carried in payloads] == [[0, 1], [2, 3], [4], [5, 6]]


def test_join_payloads_keeps_what_fits_together_and_never_exceeds_the_limit():
    encoded = [b'"' + b"a" * 38 + b'"', b'"' + b"b" * 38 + b'"', b'"' + b"c" * 38 + b'"']  # 40 bytes each
    payloads = F.join_payloads(encoded, limit=100)  # two fit ("[" 40 "," 40 "]" = 83), three do not (124)
    assert [carried for _, carried in payloads] == [[0, 1], [2]]
    assert [len(payload) for payload, _ in payloads] == [83, 42]
    assert F.join_payloads([]) == []
    assert F.join_payloads(encoded) == [(b"[" + b",".join(encoded) + b"]", [0, 1, 2])]  # the 5 MiB default


# --- evaluations ---------------------------------------------------------------------------------------------


def eval_body(metrics: list[dict]) -> bytes:
    """The eval-metric body the exporter sends for these metrics (they sit in the queue JSON-encoded)."""
    return F.eval_payload_raw([orjson.dumps(m) for m in metrics])


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("relevance", "relevance"),
        ("answer relevance", "answer_relevance"),
        ("ragas.faithfulness", "ragas_faithfulness"),
        ("9lives", "eval_9lives"),
        ("_private", "eval__private"),
        ("", "eval_"),
        ("é-score", "eval___score"),
        ("x" * 250, "x" * 200),
    ],
)
def test_eval_label(raw, expected):
    label = F.eval_label(raw)
    assert label == expected
    assert len(label) <= 200 and label[0].isascii() and label[0].isalpha()


def test_eval_metric_score():
    ev = M.Evaluation(
        label="answer relevance",
        metric_type="score",
        value=0.875,
        assessment="pass",
        reasoning="on topic",
        timestamp_ms=1_700_000_000_123,
        tags={"judge": "gpt-4o"},
    )
    metric = F.eval_metric(TRACE, SPAN, ev, ml_app="shop-bot")
    assert metric == {
        "event_kind": "evaluation",
        "join_on": {"span": {"span_id": "67667974448284343", "trace_id": TRACE}},
        "eval_scope": "span",
        "ml_app": "shop-bot",
        "timestamp_ms": 1_700_000_000_123,
        "metric_type": "score",
        "label": "answer_relevance",
        "score_value": 0.875,
        "tags": ("judge:gpt-4o", "ml_app:shop-bot"),  # a tuple: shared between metrics, never mutated
        "assessment": "pass",
        "reasoning": "on topic",
    }
    validate_eval_metrics(eval_body([metric]))


def test_eval_metric_categorical_and_boolean_values_and_assessment_only_pass_or_fail():
    before = int(time.time() * 1000)
    categorical = F.eval_metric(
        TRACE, SPAN, M.Evaluation("tone", "categorical", "friendly", assessment="neutral"), ml_app="app"
    )
    boolean = F.eval_metric(TRACE, SPAN, M.Evaluation("grounded", "boolean", False, assessment="fail"), ml_app="app")
    assert categorical["categorical_value"] == "friendly" and "score_value" not in categorical
    assert "assessment" not in categorical  # anything but pass/fail is left out
    assert boolean["boolean_value"] is False and boolean["assessment"] == "fail"
    assert "reasoning" not in boolean
    assert before <= categorical["timestamp_ms"] <= int(time.time() * 1000)  # no timestamp: now, in ms
    assert categorical["tags"] == ("ml_app:app",)
    body_bytes = eval_body([categorical, boolean])
    assert json.loads(body_bytes) == {
        "data": {
            "type": "evaluation_metric",
            "attributes": {"metrics": json.loads(orjson.dumps([categorical, boolean]))},
        }
    }
    validate_eval_metrics(body_bytes)


def test_eval_metrics_of_a_span():
    span = llm_span(evaluations=[M.Evaluation("a", "score", 1.0), M.Evaluation("b", "score", 0.0)])
    metrics = F.eval_metrics(span, ml_app="app")
    assert [(m["label"], m["score_value"], m["join_on"]["span"]["span_id"]) for m in metrics] == [
        ("a", 1.0, "67667974448284343"),
        ("b", 0.0, "67667974448284343"),
    ]
    validate_eval_metrics(eval_body(metrics))


def test_eval_metric_tags_with_an_unhashable_value_still_render():
    # a custom evaluator may put a list in its tags: the tag cache cannot hold it, the metric is the same
    metric = F.eval_metric(TRACE, SPAN, M.Evaluation("x", "score", 1, tags={"k": ["a", "b"]}), ml_app="app")
    assert metric["tags"] == ("k:['a', 'b']", "ml_app:app")
    again = F.eval_metric(TRACE, SPAN, M.Evaluation("x", "score", 1, tags={"k": "v"}), ml_app="app")
    assert (
        again["tags"]
        == F.eval_metric(TRACE, SPAN, M.Evaluation("y", "score", 2, tags={"k": "v"}), ml_app="app")["tags"]
    )


def test_encoded_eval_metrics_are_byte_for_byte_the_dumped_metrics():
    # The exporters' fast path (cached encodings of repeated results) must send exactly what the dict path makes,
    # including values that compare equal but encode differently (True, 1, 1.0) and values no cache can hold.
    evaluations = [
        M.Evaluation("truncated", "boolean", False, "pass", "finish reason stop", tags={"glassbox.evaluator": "b"}),
        M.Evaluation("flag", "boolean", True, "fail", "finish reason length"),
        M.Evaluation("flag", "score", 1),
        M.Evaluation("flag", "score", 1.0),  # equal to the one before as a cache key, but for its type
        M.Evaluation("flag", "score", 2, "pass", ""),
        M.Evaluation("tone", "categorical", 'polite \u2603 "quoted"', "fail", "line\nbreak"),
        M.Evaluation("shape", "json", {"a": [1, 2]}, "pass", "unhashable value"),
        M.Evaluation("x", "score", 0.5, tags={"k": ["a", "b"]}),
        M.Evaluation("bad label!", "score", 0.25, "maybe", "assessment neither pass nor fail"),
    ]
    for n, evaluation in enumerate(evaluations):
        evaluation.timestamp_ms = 1_700_000_000_000 + n
    span = llm_span(evaluations=evaluations)
    expected = [orjson.dumps(metric) for metric in F.eval_metrics(span, ml_app="app/\u00e9")]
    assert F.encoded_eval_metrics(span, ml_app="app/\u00e9") == expected
    assert F.encoded_eval_metrics(span, ml_app="app/\u00e9") == expected  # the second time from the cache
    assert F.encoded_eval_metrics(llm_span(), ml_app="app") == []


def test_encoded_eval_metrics_without_a_timestamp_get_the_time_of_rendering():
    span = llm_span(evaluations=[M.Evaluation("a", "score", 1.0)])
    before = int(time.time() * 1000)
    (encoded,) = F.encoded_eval_metrics(span, ml_app="app")
    assert before <= orjson.loads(encoded)["timestamp_ms"] <= int(time.time() * 1000)
