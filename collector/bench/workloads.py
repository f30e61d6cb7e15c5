"""The seeded workloads ``glassbox bench`` sends, as pools of pre-encoded OTLP requests.

``chat``: multi-turn support conversations (``collector.bench.chat``). ``agent``: traces of an agent invoking a
workflow that retrieves documents, calls models and tools. ``passthrough``: HTTP server spans with database
calls, no GenAI attribute at all (the datadog exporter sends none of them: they only cross the relay).
"""

from __future__ import annotations

import json
import random

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from glassbox.collector.bench import chat
from glassbox.collector.bench.otlp import PoolRequest, RequestBuilder

WORKLOADS = ("chat", "agent", "passthrough")
TOOLS = ["lookup_order", "check_stock", "schedule_delivery", "refund_status"]
ROUTES = ["/api/orders/{id}", "/api/cart", "/api/products/{id}", "/api/checkout", "/healthz"]
QUERIES = [
    "SELECT id, status, total FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20",
    "SELECT sku, quantity FROM stock WHERE warehouse_id = $1 AND sku = ANY($2)",
    "UPDATE carts SET updated_at = now() WHERE id = $1",
    "INSERT INTO events (kind, payload) VALUES ($1, $2)",
]


def pool(workload: str, spans: int, seed: int = 7, batch: int = 50) -> list[PoolRequest]:
    """At least ``spans`` spans of ``workload`` in requests of about ``batch`` spans (whole traces each)."""
    builder = RequestBuilder(f"bench-{workload}", batch)
    rng = random.Random(seed)
    if workload == "chat":
        for call in chat.chat_spans(spans, seed):
            chat.spans(call, builder.trace())
            builder.end_trace()
    elif workload == "agent":
        while builder.spans < spans:
            _agent_trace(builder, rng)
    elif workload == "passthrough":
        while builder.spans < spans:
            _http_trace(builder, rng)
    else:
        raise ValueError(f"unknown workload {workload!r}: one of {', '.join(WORKLOADS)}")
    builder.flush()
    return builder.requests


def _messages(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def _agent_trace(builder: RequestBuilder, rng: random.Random) -> None:
    trace = builder.trace()
    question = chat._text(rng, 40, 600)
    client = Span.SPAN_KIND_CLIENT
    agent = trace.span(
        "invoke_agent support-agent",
        Span.SPAN_KIND_INTERNAL,
        [("gen_ai.operation.name", "invoke_agent"), ("gen_ai.agent.name", "support-agent"),
         ("gen_ai.input.messages", _messages("user", question))],
    )  # fmt: skip
    workflow = trace.span(
        "invoke_workflow answer",
        Span.SPAN_KIND_INTERNAL,
        [("gen_ai.operation.name", "invoke_workflow")],
        parent=agent,
    )
    trace.span(
        "retrieval kb",
        client,
        [("gen_ai.operation.name", "retrieval"), ("gen_ai.data_source.id", "kb-furniture"),
         ("gen_ai.input.messages", _messages("user", question[:200]))],
        parent=workflow,
    )  # fmt: skip
    provider, model = rng.choice(chat.MODELS)
    for _ in range(rng.randint(1, 3)):
        tool = rng.choice(TOOLS)
        answer = chat._text(rng, 40, 400)
        trace.span(
            f"chat {model}",
            client,
            [("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", provider),
             ("gen_ai.request.model", model), ("gen_ai.input.messages", _messages("user", question)),
             ("gen_ai.output.messages", _messages("assistant", answer))],
            [("gen_ai.usage.input_tokens", len(question) // 4 + 200), ("gen_ai.usage.output_tokens", len(answer) // 4)],
            parent=workflow,
        )  # fmt: skip
        trace.span(
            f"execute_tool {tool}",
            Span.SPAN_KIND_INTERNAL,
            [("gen_ai.operation.name", "execute_tool"), ("gen_ai.tool.name", tool),
             ("gen_ai.tool.call.arguments", json.dumps({"order_id": rng.randint(1000, 99999)})),
             ("gen_ai.tool.call.result", json.dumps({"status": rng.choice(["shipped", "packed", "late"])}))],
            parent=workflow,
        )  # fmt: skip
    builder.end_trace()


def _http_trace(builder: RequestBuilder, rng: random.Random) -> None:
    trace = builder.trace()
    route = rng.choice(ROUTES)
    status = rng.choice([200] * 18 + [404, 500])
    server = trace.span(
        f"GET {route}",
        Span.SPAN_KIND_SERVER,
        [("http.request.method", "GET"), ("http.route", route),
         ("url.path", route.replace("{id}", str(rng.randint(1, 99999)))), ("server.address", "shop.internal")],
        [("http.response.status_code", status)],
        genai=False,
    )  # fmt: skip
    for _ in range(rng.randint(2, 4)):
        query = rng.choice(QUERIES)
        trace.span(
            query.split()[0],
            Span.SPAN_KIND_CLIENT,
            [("db.system.name", "postgresql"), ("db.query.text", query), ("db.namespace", "shop")],
            parent=server,
            genai=False,
        )
    builder.end_trace()
