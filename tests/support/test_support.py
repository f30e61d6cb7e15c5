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
from .schemas import fixtures_dir, validate_eval_metrics, validate_span_events
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
    return json.loads((fixtures_dir() / "datadog" / "ddtrace_4.16.0_agentless_capture.json").read_text())


# -- test agent ------------------------------------------------------------------------
def test_agent_records_llmobs_span_post(agent, ddtrace_capture):
    agent.clear()
    payload = ddtrace_capture[0]["json"]
    status = _post(agent.url + LLMOBS_SPANS_PATH, json.dumps(payload).encode(),
                   {"Content-Type": "application/json", "X-Datadog-EVP-Subdomain": "llmobs-intake"})
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
    _post(agent.url + EVAL_METRIC_PATH, gzip.compress(json.dumps(payload).encode()),
          {"Content-Type": "application/json", "Content-Encoding": "gzip", "X-Datadog-EVP-Subdomain": "api"})
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


# -- capture server --------------------------------------------------------------------
def test_capture_server_records_chunked_gzip_post(capture):
    body = json.dumps([{"hello": "world"}] * 50).encode()
    raw = gzip.compress(body)
    conn = http.client.HTTPConnection("127.0.0.1", int(capture.url.rsplit(":", 1)[1]), timeout=10)
    conn.request("POST", "/api/v2/llmobs?x=1&y=", body=iter([raw[:10], raw[10:]]), encode_chunked=True,
                 headers={"Content-Encoding": "gzip", "Content-Type": "application/json", "DD-API-KEY": "k"})
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
