"""The datadog exporter's evaluation metrics: a batch's evaluations take a few queue rows, not one per span, and
every POST stays within ddtrace's limits (1,000 metrics, 5 MiB), with each metric sent exactly once."""

from __future__ import annotations

import json

from glassbox.collector.exporters.datadog import exporter as X
from glassbox.collector.exporters.datadog.config import DatadogExporterConfig
from glassbox.collector.exporters.datadog.format import PAYLOAD_SIZE_LIMIT, count_metrics
from glassbox.processors import model as M
from tests.support.capture_server import CaptureServer
from tests.support.schemas import validate_eval_metrics

EVAL = "/api/intake/llm-obs/v2/eval-metric"


def batch(spans: int, evaluations: int, reasoning: str = "ok", first: int = 0) -> M.Batch:
    return M.Batch(
        spans=[
            M.Span(
                trace_id=f"{i:032x}",
                span_id=f"{i + 1:016x}",
                parent_id=None,
                name="chat",
                kind=M.LLM,
                start_ns=1,
                duration_ns=1,
                service="shop",
                evaluations=[
                    M.Evaluation(f"check_{n}", "boolean", True, assessment="pass", reasoning=reasoning)
                    for n in range(evaluations)
                ],
            )
            for i in range(first, first + spans)
        ]
    )


async def send(rendered: list, server: CaptureServer) -> list[dict]:
    exporter = X.DatadogExporter(
        DatadogExporterConfig(transport="agentless", api_key="k", site="datadoghq.com", override_origin=server.url)
    )
    await exporter.start()
    try:
        await exporter.send(rendered)
    finally:
        await exporter.shutdown()
    bodies = [r.json() for r in server.requests if r.path == EVAL]
    for request in (r for r in server.requests if r.path == EVAL):
        assert len(request.body) <= PAYLOAD_SIZE_LIMIT
    for body in bodies:
        validate_eval_metrics(body)
    return bodies


def sent_metrics(bodies: list[dict]) -> list[tuple[str, str]]:
    return [(m["join_on"]["span"]["span_id"], m["label"]) for b in bodies for m in b["data"]["attributes"]["metrics"]]


async def test_a_batch_of_evaluations_takes_a_few_rows_and_posts_of_at_most_1000_metrics():
    rendered = X.DatadogExporter(DatadogExporterConfig(transport="agent", agent_url="http://127.0.0.1:1")).render(
        batch(1250, 2)
    )
    evals = [payload for kind, payload in rendered if kind == "eval"]
    assert [count_metrics(p) for p in evals] == [1000, 1000, 500]  # 3 rows for 2,500 metrics, not 1,250
    assert sum(kind == "span" for kind, _ in rendered) == 1250
    with CaptureServer() as server:
        bodies = await send(rendered, server)
    assert [len(b["data"]["attributes"]["metrics"]) for b in bodies] == [1000, 1000, 500]
    metrics = sent_metrics(bodies)
    assert len(metrics) == len(set(metrics)) == 2500  # every metric once


async def test_long_reasonings_split_posts_under_5_mib():
    reasoning = "r" * 200_000  # 40 metrics of ~200 KB: about 8 MB in all
    rendered = X.DatadogExporter(DatadogExporterConfig(transport="agent", agent_url="http://127.0.0.1:1")).render(
        batch(20, 2, reasoning)
    )
    evals = [payload for kind, payload in rendered if kind == "eval"]
    assert len(evals) >= 2 and all(len(p) <= X.EVAL_BYTES for p in evals)
    with CaptureServer() as server:
        bodies = await send(rendered, server)
    assert len(bodies) >= 2
    metrics = sent_metrics(bodies)
    assert len(metrics) == len(set(metrics)) == 40


async def test_items_from_several_batches_join_into_posts_within_both_limits():
    exporter = X.DatadogExporter(DatadogExporterConfig(transport="agent", agent_url="http://127.0.0.1:1"))
    rendered = [item for k, n in enumerate((300, 300, 300, 300)) for item in exporter.render(batch(n, 1, first=n * k))]
    with CaptureServer() as server:
        bodies = await send(rendered, server)
    assert [len(b["data"]["attributes"]["metrics"]) for b in bodies] == [900, 300]  # 4 rows of 300, ≤ 1,000 a POST
    assert len(set(sent_metrics(bodies))) == 1200


def test_pack_puts_a_metric_over_the_byte_limit_alone():
    assert X._pack([b"a" * 10, b"b" * 50, b"c"], limit=10, max_bytes=20) == [b"a" * 10, b"b" * 50, b"c"]
    assert X._pack([b"a", b"b", b"c"], limit=2, max_bytes=100) == [b"a,b", b"c"]
    assert X._pack([], limit=2, max_bytes=100) == []
    assert json.loads(b"[" + X._pack([b"1", b"2"], 5, 100)[0] + b"]") == [1, 2]
