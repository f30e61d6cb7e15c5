"""End to end: the demo app, in its own process, exports GenAI telemetry over OTLP/HTTP.

Real pieces only: the fake OpenAI server, the real openai client and instrumentations,
the real OTLP exporters, and a tiny OTLP/HTTP sink that decodes what arrives.
"""

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from glassbox.collector.demo.fake_openai import FakeOpenAI

APP_TIMEOUT_S = 120
SESSIONS = {"sess-1001", "sess-1002", "sess-1003"}


class OtlpSink:
    """Records OTLP/HTTP POSTs on 127.0.0.1; answers 200 with an empty protobuf body."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, bytes]] = []
        self.changed = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()
                with sink.changed:
                    sink.posts.append((self.path, body))
                    sink.changed.notify_all()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_until(self, predicate, timeout: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: predicate(self), timeout)

    def spans(self) -> list[tuple[dict, str, object]]:
        """(resource attributes, scope name, span) for every span received."""
        out = []
        for path, body in list(self.posts):
            if path != "/v1/traces":
                continue
            req = ExportTraceServiceRequest.FromString(body)
            for rs in req.resource_spans:
                resource = attrs(rs.resource.attributes)
                for ss in rs.scope_spans:
                    out += [(resource, ss.scope.name, span) for span in ss.spans]
        return out

    def log_records(self) -> list:
        out = []
        for path, body in list(self.posts):
            if path != "/v1/logs":
                continue
            req = ExportLogsServiceRequest.FromString(body)
            for rl in req.resource_logs:
                for sl in rl.scope_logs:
                    out += list(sl.log_records)
        return out


def value(v):
    """OTLP AnyValue -> Python value."""
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind) if kind else None


def attrs(kvs) -> dict:
    return {kv.key: value(kv.value) for kv in kvs}


@pytest.fixture(scope="module", params=["openllmetry", "openai-v2"])
def demo(request):
    """Run the demo app once per instrumentation mode; collect everything it exported."""
    mode = request.param
    sink = OtlpSink()
    fake = FakeOpenAI.start_in_thread()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACELOOP_"))}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "glassbox.collector.demo.app",
                "--openai-base-url",
                fake.base_url,
                "--otlp-endpoint",
                sink.endpoint,
                "--instrumentation",
                mode,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=APP_TIMEOUT_S,
        )
        assert proc.returncode == 0, proc.stderr
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        # The app flushes before exiting, so this should already hold; wait with a deadline.
        expected_spans = 3 + 1 + 1 + 7  # conversations, faq_search, tool, LLM calls
        assert sink.wait_until(lambda s: len(s.spans()) >= expected_spans), len(sink.spans())
        if mode == "openai-v2":
            assert sink.wait_until(lambda s: len(s.log_records()) >= 7)
        yield {
            "mode": mode,
            "summary": summary,
            "spans": sink.spans(),
            "logs": sink.log_records(),
            "requests": list(fake.requests),
            "stderr": proc.stderr,
        }
    finally:
        fake.stop()
        sink.close()


def genai_spans(demo, operation=None):
    return [
        s
        for _, _, s in demo["spans"]
        if attrs(s.attributes).get("gen_ai.operation.name") not in (None, "invoke_workflow")
        and operation in (None, attrs(s.attributes)["gen_ai.operation.name"])
    ]


def by_name(demo, name):
    return [s for _, _, s in demo["spans"] if s.name == name]


def test_summary_line(demo):
    s = demo["summary"]
    assert s["conversations"] == 3 and s["llm_calls"] == 7
    assert {"support_conversation", "faq_search", "execute_tool lookup_order"} <= set(s["span_names"])
    paths = Counter(p for p, _ in demo["requests"])
    assert paths == {"/v1/chat/completions": 6, "/v1/embeddings": 1}


def test_resource_attributes(demo):
    for resource, _, _ in demo["spans"]:
        assert resource["service.name"] == "furnish-hub"
        assert resource["deployment.environment"] == "demo"
        assert resource["service.version"] == "1.0.0"


def test_genai_spans_nest_under_conversations(demo):
    conversations = by_name(demo, "support_conversation")
    sessions = {attrs(s.attributes)["gen_ai.conversation.id"]: s for s in conversations}
    assert set(sessions) == SESSIONS
    trace_of = {s.trace_id: sid for sid, s in sessions.items()}
    assert len(trace_of) == 3  # one trace per conversation

    chats, embeds = genai_spans(demo, "chat"), genai_spans(demo, "embeddings")
    assert len(chats) == 6 and len(embeds) == 1
    assert Counter(trace_of[s.trace_id] for s in chats) == {"sess-1001": 2, "sess-1002": 3, "sess-1003": 1}
    assert trace_of[embeds[0].trace_id] == "sess-1001"
    for span in chats + embeds:
        a = attrs(span.attributes)
        assert span.kind == span.SPAN_KIND_CLIENT
        assert a["gen_ai.provider.name"] == "openai"
        assert a["gen_ai.usage.input_tokens"] > 0
    assert {attrs(s.attributes)["gen_ai.response.model"] for s in chats} == {"gpt-4o-mini-2024-07-18"}

    (tool,) = genai_spans(demo, "execute_tool")
    t = attrs(tool.attributes)
    assert tool.name == "execute_tool lookup_order" and trace_of[tool.trace_id] == "sess-1002"
    assert tool.parent_span_id == sessions["sess-1002"].span_id
    assert json.loads(t["gen_ai.tool.call.arguments"]) == {"order_id": "48213"}
    assert json.loads(t["gen_ai.tool.call.result"])["status"] == "shipped"


def test_content_location(demo):
    chats = genai_spans(demo, "chat")
    if demo["mode"] == "openllmetry":
        # Content rides on the spans as JSON strings; the only log record is the app's evaluation.
        assert Counter(s.name for s in genai_spans(demo)) == {
            "openai.chat": 6,
            "openai.embeddings": 1,
            "execute_tool lookup_order": 1,
        }
        contents = [attrs(s.attributes)["gen_ai.input.messages"] for s in chats]
        assert all("Nordhaven Furniture" in c for c in contents)  # the system prompt
        joined = " ".join(contents)
        assert "jane.doe@example.com" in joined and "4111 1111 1111 1111" in joined
        assert all("gen_ai.output.messages" in attrs(s.attributes) for s in chats)
        streamed = [s for s in chats if attrs(s.attributes)["gen_ai.is_streaming"]]
        assert len(streamed) == 1 and len(streamed[0].events) >= 3
        # Only the app's own evaluation event is a log record; content stays on the spans.
        assert [r.event_name for r in demo["logs"]] == ["gen_ai.evaluation.result"]
    else:
        # Spans carry no content; one inference-details log record per chat call does.
        assert Counter(s.name for s in genai_spans(demo)) == {
            "chat gpt-4o-mini": 6,
            "embeddings text-embedding-3-small": 1,
            "execute_tool lookup_order": 1,
        }
        assert not any("gen_ai.input.messages" in attrs(s.attributes) for s in chats)
        logs = [r for r in demo["logs"] if r.event_name == "gen_ai.client.inference.operation.details"]
        assert len(logs) == 6
        assert {(r.trace_id, r.span_id) for r in logs} == {(s.trace_id, s.span_id) for s in chats}
        log_attrs = [attrs(r.attributes) for r in logs]
        assert all(isinstance(a["gen_ai.input.messages"], list) for a in log_attrs)
        assert all(isinstance(a["gen_ai.output.messages"], list) for a in log_attrs)
        joined = json.dumps([a["gen_ai.input.messages"] for a in log_attrs])
        assert "jane.doe@example.com" in joined and "Nordhaven Furniture" in joined
