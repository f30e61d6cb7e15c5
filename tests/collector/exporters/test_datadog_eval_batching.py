"""The datadog exporter's evaluation metrics: a batch's evaluations take a few queue rows, not one per span, and
every POST stays within ddtrace's limits (1,000 metrics, 5 MiB), with each metric sent exactly once. Rows are
zlib-compressed; rows of the uncompressed kind older versions queued still send, and a row that does not
decompress is refused alone, with a reason."""

from __future__ import annotations

import json
import zlib

import pytest

from glassbox.collector.errors import PermanentError
from glassbox.collector.exporters.datadog import exporter as X
from glassbox.collector.exporters.datadog.config import DatadogExporterConfig
from glassbox.collector.exporters.datadog.format import (
    EVAL_ITEM_MAX_BYTES,
    EVAL_KIND,
    EVAL_ZLIB_KIND,
    PAYLOAD_SIZE_LIMIT,
    count_metrics,
    eval_item_metrics,
)
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


def eval_rows(rendered: list) -> list[bytes]:
    """The rendered eval rows' metrics, comma-joined (decompressed)."""
    assert {kind for kind, _ in rendered} <= {"span", EVAL_ZLIB_KIND}
    return [eval_item_metrics(kind, payload) for kind, payload in rendered if kind == EVAL_ZLIB_KIND]


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
    evals = eval_rows(rendered)
    assert [count_metrics(p) for p in evals] == [1000, 1000, 500]  # 3 rows for 2,500 metrics, not 1,250
    stored = sum(len(payload) for kind, payload in rendered if kind == EVAL_ZLIB_KIND)
    assert stored * 20 < sum(map(len, evals))  # the same few results over and over: rows shrink 20 times or more
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
    evals = eval_rows(rendered)
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


async def test_rows_of_the_uncompressed_kind_older_versions_queued_still_send():
    exporter = X.DatadogExporter(DatadogExporterConfig(transport="agent", agent_url="http://127.0.0.1:1"))
    new = exporter.render(batch(3, 1))
    old = [
        (EVAL_KIND, eval_item_metrics(kind, payload)) if kind == EVAL_ZLIB_KIND else (kind, payload)
        for kind, payload in exporter.render(batch(2, 2, first=3))
    ]
    assert [kind for kind, _ in old] == ["span", "span", EVAL_KIND]
    with CaptureServer() as server:
        bodies = await send(new + old, server)
    assert len(bodies) == 1  # old and new rows share one POST
    assert sorted(sent_metrics(bodies)) == sorted(
        [(str(i + 1), "check_0") for i in range(3)] + [(str(i + 1), f"check_{n}") for i in (3, 4) for n in (0, 1)]
    )


@pytest.mark.parametrize(
    "damaged",
    [
        b"not zlib at all",
        zlib.compress(b'{"a":1}')[:-3],  # cut short
        zlib.compress(b'{"a":1}') + b"trailing",
        zlib.compress(b" " * (EVAL_ITEM_MAX_BYTES + 1), 9),  # a bomb: 20 MiB from 20 KB
    ],
    ids=["garbage", "truncated", "trailing", "bomb"],
)
async def test_a_row_that_does_not_decompress_is_refused_alone_and_the_others_are_sent(damaged: bytes):
    exporter = X.DatadogExporter(DatadogExporterConfig(transport="agent", agent_url="http://127.0.0.1:1"))
    rendered = exporter.render(batch(2, 1))
    rendered.insert(1, (EVAL_ZLIB_KIND, damaged))
    with pytest.raises(ValueError):
        eval_item_metrics(EVAL_ZLIB_KIND, damaged)
    with CaptureServer() as server:
        with pytest.raises(PermanentError) as refused:
            await send(rendered, server)
        bodies = [r.json() for r in server.requests if r.path == EVAL]
    assert refused.value.reason == "unreadable_item" and refused.value.refused == {1}
    assert "do not decompress" in str(refused.value)
    assert sorted(refused.value.accepted) == [0, 2, 3]  # both spans and the good eval row went out
    assert sorted(sent_metrics(bodies)) == [("1", "check_0"), ("2", "check_0")]
