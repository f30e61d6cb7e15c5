"""Exercise the test-support helpers against the real test agent and real sockets."""

from __future__ import annotations

import copy
import gzip
import http.client
import json
import urllib.error
import urllib.request

import pytest

from .capture_server import CaptureServer
from .schemas import TESTDATA, validate_eval_metrics, validate_span_events
from .testagent import EVAL_METRIC_PATH, LLMOBS_SPANS_PATH, TestAgent


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status


@pytest.fixture(scope="module")
def agent():
    with TestAgent() as a:
        yield a


@pytest.fixture
def capture():
    with CaptureServer() as s:
        yield s


@pytest.fixture(scope="module")
def ddtrace_capture():
    return json.loads((TESTDATA / "datadog" / "ddtrace_4.16.0_agentless_capture.json").read_text())


# -- test agent ------------------------------------------------------------------------
def test_agent_records_llmobs_span_post(agent, ddtrace_capture):
    agent.clear()
    payload = ddtrace_capture[0]["json"]
    status = _post(
        agent.url + LLMOBS_SPANS_PATH,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", "X-Datadog-EVP-Subdomain": "llmobs-intake"},
    )
    assert status == 200
    assert agent.wait_for(lambda reqs: len(reqs) >= 1, timeout=5)
    assert agent.llmobs_span_payloads() == [payload]
    [rec] = agent.requests()
    assert rec["method"] == "POST" and rec["path"] == LLMOBS_SPANS_PATH
    assert rec["url"] == agent.url + LLMOBS_SPANS_PATH
    assert rec["headers"]["x-datadog-evp-subdomain"] == "llmobs-intake"
    assert agent.eval_metric_payloads() == []


def test_agent_records_eval_metrics_and_gunzips(agent, ddtrace_capture):
    agent.clear()
    payload = ddtrace_capture[1]["json"]
    _post(
        agent.url + EVAL_METRIC_PATH,
        gzip.compress(json.dumps(payload).encode()),
        {"Content-Type": "application/json", "Content-Encoding": "gzip", "X-Datadog-EVP-Subdomain": "api"},
    )
    # The test agent stores the body already decompressed (documented in testagent.py).
    assert agent.wait_for(lambda reqs: len(reqs) == 1, timeout=5)
    assert agent.eval_metric_payloads() == [payload]
    agent.clear()
    assert agent.requests() == []


def test_agent_wait_for_times_out_with_summary(agent):
    agent.clear()
    with pytest.raises(AssertionError, match="0 request"):
        agent.wait_for(lambda reqs: reqs, timeout=0.2)


def test_missing_testagent_venv_says_make_testagent(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSBOX_TESTAGENT_VENV", str(tmp_path))
    with pytest.raises(RuntimeError, match="make testagent"):
        TestAgent().start()


# -- schemas ---------------------------------------------------------------------------
def test_ddtrace_capture_validates(ddtrace_capture):
    spans, evals = ddtrace_capture
    assert spans["path"] == "/api/v2/llmobs" and evals["path"] == "/api/intake/llm-obs/v2/eval-metric"
    validate_span_events(spans["json"])
    validate_eval_metrics(evals["json"])
    validate_span_events(json.dumps(spans["json"]).encode())  # bytes accepted too


def test_broken_bodies_fail_with_every_error(ddtrace_capture):
    spans = copy.deepcopy(ddtrace_capture[0]["json"])
    spans[0]["spans"][0]["span_id"] = "abc"
    spans[0]["spans"][0]["meta"]["span"]["kind"] = "chain"
    with pytest.raises(AssertionError) as exc:
        validate_span_events(spans)
    assert "2 schema error(s)" in str(exc.value)
    assert "$[0].spans[0].span_id: 'abc'" in str(exc.value)
    assert "$[0].spans[0].meta.span.kind" in str(exc.value)

    evals = copy.deepcopy(ddtrace_capture[1]["json"])
    evals["data"]["attributes"]["metrics"][0]["join_on"]["span"]["span_id"] = "abc"
    with pytest.raises(AssertionError, match="span_id"):
        validate_eval_metrics(evals)


SPANS_PATH, EVALS_PATH = "/api/v2/llmobs", "/api/intake/llm-obs/v2/eval-metric"


def test_every_ddtrace_body_validates_and_covers_every_kind(ddtrace_capture):
    """Every body of the real capture passes its schema (the schemas accept what Datadog's SDK sends), and the
    capture exercises every span kind and every metric type the schemas constrain."""
    span_bodies = [r["json"] for r in ddtrace_capture if r["path"] == SPANS_PATH]
    eval_bodies = [r["json"] for r in ddtrace_capture if r["path"] == EVALS_PATH]
    assert span_bodies and eval_bodies and len(span_bodies) + len(eval_bodies) == len(ddtrace_capture)
    for body in span_bodies:
        validate_span_events(body)
    for body in eval_bodies:
        validate_eval_metrics(body)
    kinds = {span["meta"]["span"]["kind"] for body in span_bodies for env in body for span in env["spans"]}
    assert kinds == {"llm", "embedding", "tool", "agent", "workflow", "task", "retrieval"}
    metrics = [m for body in eval_bodies for m in body["data"]["attributes"]["metrics"]]
    assert {m["metric_type"] for m in metrics} == {"score", "boolean", "categorical"}
    assert {next(iter(m["join_on"])) for m in metrics} == {"span", "tag"}


def test_schemas_do_not_accept_each_others_body(ddtrace_capture):
    spans, evals = ddtrace_capture
    with pytest.raises(AssertionError, match=r"\$: .* is not of type 'array'"):
        validate_span_events(evals["json"])
    with pytest.raises(AssertionError, match=r"\$: .* is not of type 'object'"):
        validate_eval_metrics(spans["json"])


def _span_of(body: list, kind: str) -> dict:
    """The span event of ``kind`` in a span-event body (the capture has one of each)."""
    [span] = [s for env in body for s in env["spans"] if s["meta"]["span"]["kind"] == kind]
    return span


def _without_ml_app_tag(span: dict) -> None:
    span["tags"] = [t for t in span["tags"] if not t.startswith("ml_app:")]


DROPPED_VALUE_TEXT = "[This value has been dropped because this span's size exceeds the 5MB size limit.]"


def _dropped_io_keeps_input(span: dict) -> None:
    span["collection_errors"] = ["dropped_io"]
    span["meta"]["input"] = {"value": "What is the weather?"}
    span["meta"]["output"] = {"value": DROPPED_VALUE_TEXT}


# (what is wrong, the span kind to break, how, the JSON path and text of the error it must produce)
BAD_SPAN_EVENTS = [
    ("hex span_id", "llm", lambda s: s.update(span_id="ae3ab6bb27cd1f4e"), ".span_id", "does not match"),
    ("span_id 0", "llm", lambda s: s.update(span_id="0"), ".span_id", "does not match"),
    ("uppercase trace_id", "llm", lambda s: s.update(trace_id=s["trace_id"].upper()), ".trace_id", "does not match"),
    (
        "64-bit decimal trace_id",
        "llm",
        lambda s: s.update(trace_id="13932955089405749200"),
        ".trace_id",
        "does not match",
    ),
    (
        "hex parent_id",
        "llm",
        lambda s: s.update(parent_id="ae3ab6bb27cd1f4e"),
        ".parent_id",
        "is not valid under any of the given schemas",
    ),
    (
        "root with null parent_id",
        "workflow",
        lambda s: s.update(parent_id=None),
        ".parent_id",
        "is not valid under any of the given schemas",
    ),
    ("unknown span kind", "llm", lambda s: s["meta"]["span"].update(kind="chain"), ".meta.span.kind", "is not one of"),
    (
        "kind only in meta.kind",
        "tool",
        lambda s: s["meta"].update(kind=s["meta"].pop("span")["kind"]),
        ".meta",
        "'span' is a required property",
    ),
    ("status in capitals", "llm", lambda s: s.update(status="OK"), ".status", "is not one of ['ok', 'error']"),
    (
        "start_ns as a string",
        "llm",
        lambda s: s.update(start_ns=str(s["start_ns"])),
        ".start_ns",
        "is not of type 'integer'",
    ),
    ("negative duration", "llm", lambda s: s.update(duration=-1), ".duration", "less than the minimum"),
    (
        "metric as a string",
        "llm",
        lambda s: s["metrics"].update(input_tokens="12"),
        ".metrics.input_tokens",
        "is not of type 'number'",
    ),
    ("tag without a key", "llm", lambda s: s["tags"].append("prod"), ".tags[11]", "does not match"),
    ("no ml_app anywhere", "llm", _without_ml_app_tag, "", "is not valid under any of the given schemas"),
    (
        "llm span without a model name",
        "llm",
        lambda s: s["meta"].pop("model_name"),
        ".meta",
        "'model_name' is a required property",
    ),
    (
        "embedding span without a provider",
        "embedding",
        lambda s: s["meta"].pop("model_provider"),
        ".meta",
        "'model_provider' is a required property",
    ),
    (
        "message without content",
        "llm",
        lambda s: s["meta"]["input"]["messages"][0].pop("content"),
        ".meta.input.messages[0]",
        "'content' is a required property",
    ),
    (
        "tool call arguments as a string",
        "llm",
        lambda s: s["meta"]["output"]["messages"][0].update(tool_calls=[{"name": "f", "arguments": "{}"}]),
        ".meta.output.messages[0].tool_calls[0].arguments",
        "is not of type 'object'",
    ),
    (
        "document score as a string",
        "retrieval",
        lambda s: s["meta"]["output"]["documents"][0].update(score="0.9"),
        ".meta.output.documents[0].score",
        "is not of type 'number'",
    ),
    (
        "prompt variable not a string",
        "llm",
        lambda s: s["meta"]["input"]["prompt"]["variables"].update(n=1),
        ".meta.input.prompt.variables.n",
        "is not of type 'string'",
    ),
    (
        "unknown key in meta.error",
        "task",
        lambda s: s["meta"]["error"].update(code=500),
        ".meta.error",
        "Additional properties are not allowed ('code' was unexpected)",
    ),
    ("dropped_io but input kept", "llm", _dropped_io_keeps_input, ".meta.input.value", "was expected"),
]


@pytest.mark.parametrize(
    ("kind", "breaks", "path", "message"),
    [case[1:] for case in BAD_SPAN_EVENTS],
    ids=[case[0] for case in BAD_SPAN_EVENTS],
)
def test_span_event_schema_rejects(ddtrace_capture, kind, breaks, path, message):
    body = copy.deepcopy(ddtrace_capture[0]["json"])
    span = _span_of(body, kind)
    breaks(span)
    index = next(i for i, env in enumerate(body) if span in env["spans"])
    with pytest.raises(AssertionError) as exc:
        validate_span_events(body)
    expected = f"$[{index}].spans[0]{path}: "
    lines = str(exc.value).splitlines()
    assert any(line.strip().startswith(expected) and message in line for line in lines), str(exc.value)


def test_span_event_schema_accepts_documented_variants(ddtrace_capture):
    """Documented forms ddtrace did not send: an event over the size limit, ml_app on the span instead of a tag,
    span links, image parts, tool definitions and an envelope holding several spans."""
    body = copy.deepcopy(ddtrace_capture[0]["json"])
    llm = _span_of(body, "llm")
    llm["collection_errors"] = ["dropped_io"]
    llm["meta"]["input"] = llm["meta"]["output"] = {"value": DROPPED_VALUE_TEXT}
    llm["meta"]["tool_definitions"] = [
        {"name": "get_weather", "description": "Weather for a city", "schema": {"type": "object"}}
    ]
    tool = _span_of(body, "tool")
    _without_ml_app_tag(tool)
    tool["ml_app"] = "relay-test"
    tool["span_links"] = [
        {"span_id": llm["span_id"], "trace_id": llm["trace_id"], "attributes": {"from": "output", "to": "input"}}
    ]
    agent = _span_of(body, "agent")
    agent["meta"]["input"] = {
        "messages": [
            {
                "role": "user",
                "content": "what is this?",
                "image_parts": [{"mime_type": "image/png", "content": "iVBORw0KGgo="}],
            }
        ]
    }
    body[0]["spans"].append(body.pop()["spans"][0])
    validate_span_events(body)


def test_span_event_schema_rejects_envelope_errors(ddtrace_capture):
    envelope = copy.deepcopy(ddtrace_capture[0]["json"][0])
    with pytest.raises(AssertionError, match=r"\$: .* is not of type 'array'"):
        validate_span_events(envelope)  # one envelope must still be sent as an array
    with pytest.raises(AssertionError, match=r"\$: \[\] should be non-empty"):
        validate_span_events([])
    bad = [{**envelope, "_dd.stage": "processed", "event_type": "trace"}, {**envelope, "spans": []}]
    with pytest.raises(AssertionError) as exc:
        validate_span_events(bad)
    text = str(exc.value)
    assert "3 schema error(s)" in text
    assert "$[0]['_dd.stage']: 'raw' was expected" in text
    assert "$[0].event_type: 'span' was expected" in text
    assert "$[1].spans: [] should be non-empty" in text


def _metric(evals: dict, metric_type: str) -> dict:
    [metric] = [m for m in evals["data"]["attributes"]["metrics"] if m["metric_type"] == metric_type]
    return metric


def _score_typed_categorical(m: dict) -> None:
    m["metric_type"] = "categorical"  # the metric still carries score_value


# (what is wrong, the metric to break, how, the JSON path under the metric and text of the error it must produce)
BAD_EVAL_METRICS = [
    ("score_value on a categorical metric", "score", _score_typed_categorical, ".metric_type", "'score' was expected"),
    (
        "categorical metric without its value",
        "score",
        _score_typed_categorical,
        "",
        "'categorical_value' is a required property",
    ),
    (
        "score value as a string",
        "score",
        lambda m: m.update(score_value="0.87"),
        ".score_value",
        "is not of type 'number'",
    ),
    (
        "boolean metric with a score value",
        "boolean",
        lambda m: m.update(score_value=1),
        ".metric_type",
        "'score' was expected",
    ),
    ("missing ml_app", "score", lambda m: m.pop("ml_app"), "", "'ml_app' is a required property"),
    ("ml_app in capitals", "score", lambda m: m.update(ml_app="Relay-Test"), ".ml_app", "does not match"),
    ("ml_app with a trailing underscore", "score", lambda m: m.update(ml_app="relay_"), ".ml_app", "does not match"),
    ("missing label", "score", lambda m: m.pop("label"), "", "'label' is a required property"),
    ("label with a dot", "score", lambda m: m.update(label="faith.fulness"), ".label", "does not match"),
    ("label starting with a digit", "score", lambda m: m.update(label="1st"), ".label", "does not match"),
    ("label over 200 characters", "score", lambda m: m.update(label="a" * 201), ".label", "is too long"),
    (
        "timestamp in seconds",
        "score",
        lambda m: m.update(timestamp_ms=m["timestamp_ms"] // 1000),
        ".timestamp_ms",
        "less than the minimum",
    ),
    (
        "timestamp in nanoseconds",
        "score",
        lambda m: m.update(timestamp_ms=m["timestamp_ms"] * 1_000_000),
        ".timestamp_ms",
        "greater than the maximum",
    ),
    (
        "text metric (feedback only)",
        "categorical",
        lambda m: m.update(metric_type="text"),
        ".metric_type",
        "is not one of",
    ),
    (
        "assessment not pass or fail",
        "score",
        lambda m: m.update(assessment="passed"),
        ".assessment",
        "is not one of ['pass', 'fail']",
    ),
    (
        "hex span_id in join_on",
        "score",
        lambda m: m["join_on"]["span"].update(span_id="ae3ab6bb27cd1f4e"),
        ".join_on.span.span_id",
        "does not match",
    ),
    (
        "uppercase trace_id in join_on",
        "score",
        lambda m: m["join_on"]["span"].update(trace_id=m["join_on"]["span"]["trace_id"].upper()),
        ".join_on.span.trace_id",
        "is not valid under any of the given schemas",
    ),
    (
        "join_on on a span and a tag",
        "score",
        lambda m: m["join_on"].update(tag={"key": "team", "value": "ml"}),
        ".join_on",
        "has too many properties",
    ),
    (
        "join_on tag without a value",
        "boolean",
        lambda m: m["join_on"]["tag"].pop("value"),
        ".join_on.tag",
        "'value' is a required property",
    ),
    ("span scope without join_on", "score", lambda m: m.pop("join_on"), "", "'join_on' is a required property"),
    (
        "session scope without a session",
        "score",
        lambda m: m.update(eval_scope="session"),
        "",
        "'session_id' is a required property",
    ),
    (
        "ERROR status without an error",
        "score",
        lambda m: m.update(status="ERROR"),
        "",
        "'error' is a required property",
    ),
    ("tag without a key", "score", lambda m: m["tags"].append(":x"), ".tags[3]", "does not match"),
]


@pytest.mark.parametrize(
    ("metric_type", "breaks", "path", "message"),
    [case[1:] for case in BAD_EVAL_METRICS],
    ids=[case[0] for case in BAD_EVAL_METRICS],
)
def test_eval_metric_schema_rejects(ddtrace_capture, metric_type, breaks, path, message):
    body = copy.deepcopy(ddtrace_capture[1]["json"])
    metric = _metric(body, metric_type)
    breaks(metric)
    index = body["data"]["attributes"]["metrics"].index(metric)
    with pytest.raises(AssertionError) as exc:
        validate_eval_metrics(body)
    expected = f"$.data.attributes.metrics[{index}]{path}: "
    lines = str(exc.value).splitlines()
    assert any(line.strip().startswith(expected) and message in line for line in lines), str(exc.value)


def test_eval_metric_schema_accepts_documented_variants(ddtrace_capture):
    """Documented forms ddtrace did not send: decimal trace ids, session scope, a json value, an ERROR status."""
    body = copy.deepcopy(ddtrace_capture[1]["json"])
    score, boolean, categorical = body["data"]["attributes"]["metrics"]
    score["join_on"]["span"]["trace_id"] = "13932955089405749200"
    del boolean["join_on"]
    boolean.update(eval_scope="session", session_id="abc123def456")
    categorical.update(metric_type="json", json_value={"verdict": "pass", "confidence": 0.95})
    del categorical["categorical_value"]
    body["data"]["attributes"]["metrics"].append(
        {
            "join_on": {"span": {"span_id": "20245611112024561111", "trace_id": "6b027c8000000000be492e537716f92e"}},
            "ml_app": "relay-test",
            "timestamp_ms": 1795325056082,
            "metric_type": "score",
            "label": "judge_score",
            "status": "ERROR",
            "error": {"type": "Timeout", "message": "judge timed out"},
        }
    )
    body["data"]["attributes"]["tags"] = ["source:otel"]
    validate_eval_metrics(body)
    body["data"]["type"] = "span"
    with pytest.raises(AssertionError, match=r"\$.data.type: 'evaluation_metric' was expected"):
        validate_eval_metrics(body)


# -- capture server --------------------------------------------------------------------
def test_capture_server_records_chunked_gzip_post(capture):
    body = json.dumps([{"hello": "world"}] * 50).encode()
    raw = gzip.compress(body)
    conn = http.client.HTTPConnection("127.0.0.1", int(capture.url.rsplit(":", 1)[1]), timeout=10)
    conn.request(
        "POST",
        "/api/v2/llmobs?x=1&y=",
        body=iter([raw[:10], raw[10:]]),
        encode_chunked=True,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json", "DD-API-KEY": "k"},
    )
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (202, b"{}")
    conn.close()

    [req] = capture.wait_for(1, timeout=5)
    assert (req.method, req.path, req.query) == ("POST", "/api/v2/llmobs", {"x": ["1"], "y": [""]})
    assert req.chunked and req.raw_body == raw and req.body == body
    assert req.headers["dd-api-key"] == "k" and req.headers["Content-Encoding"] == "gzip"
    assert req.json() == [{"hello": "world"}] * 50


def test_capture_server_replays_script_then_default(capture):
    capture.respond_with([(429, {"Retry-After": "1"}, b""), (503, {}, b"down")])
    answers = []
    for _ in range(3):
        try:
            answers.append((_post(capture.url + "/x", b"{}", {}), None))
        except urllib.error.HTTPError as e:
            answers.append((e.code, e.headers.get("Retry-After")))
    assert answers == [(429, "1"), (503, None), (202, None)]
    assert [r.response_status for r in capture.wait_for(3)] == [429, 503, 202]
    capture.clear()
    assert capture.requests == []
    with pytest.raises(AssertionError, match="wanted 1"):
        capture.wait_for(1, timeout=0.1)
