"""DogStatsD over real sockets: a UDP listener on 127.0.0.1 and a Unix datagram socket, decoded as the Agent
reads them; a missing socket is a retryable failure and nothing is lost; aggregation keeps packets few."""

from __future__ import annotations

import pytest

from glassbox.collector.errors import RetryableError
from glassbox.collector.exporters.metrics import dogstatsd
from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from tests.collector.exporters.metrics.conftest import exporter, llm_span
from tests.collector.exporters.metrics.listeners import decode, udp_listener, unix_listener
from tests.processors.conftest import chat_span, trace_request

BASE = {
    "env": "prod",
    "service": "support-bot",
    "version": "1.4.2",
    "ml_app": "support-bot",
    "model_name": "gpt-4o-mini",
    "model_provider": "openai",
    "prompt_name": "answer",
    "prompt_version": "v3",
    "span_kind": "llm",
    "status": "ok",
}


async def test_udp_counts_and_distributions_reach_the_listener():
    with udp_listener() as listener:
        metrics = exporter(dogstatsd_url=listener.url, tag_allowlist=["feature"])
        await metrics.start()
        try:
            spans = [llm_span(i, tags={"feature": "returns", "user_id": "u-123"}) for i in range(3)]
            await metrics.send(metrics.render(M.Batch(spans=spans)))
            listener.wait_for(lambda: listener.total("glassbox.llm.latency") == 3)
        finally:
            await metrics.shutdown()
        by_name = {line.name: line for line in listener.lines}
        requests = by_name["glassbox.llm.requests"]
        assert requests.kind == "c" and requests.values == (3.0,)
        assert dict(t.split(":", 1) for t in requests.tags) == {**BASE, "feature": "returns"}  # no user_id
        assert by_name["glassbox.llm.input_tokens"].values == (360.0,)
        assert by_name["glassbox.llm.output_tokens"].values == (90.0,)
        assert by_name["glassbox.llm.latency"].kind == "d"
        assert by_name["glassbox.llm.latency"].values == (1.25, 1.25, 1.25)  # three samples on one line
        assert by_name["glassbox.llm.estimated_cost_usd"].values == (0.00036,) * 3


async def test_unix_socket_and_a_missing_socket_is_retried(short_dir):
    path = short_dir / "dsd.socket"
    metrics = exporter(dogstatsd_url=f"unix://{path}")
    await metrics.start()
    try:
        items = metrics.render(M.Batch(spans=normalize.spans(trace_request([chat_span(1, "hello", "hi")]))))
        with pytest.raises(RetryableError, match="DogStatsD at unix://.*dsd.socket") as failed:
            await metrics.send(items)  # no Agent yet: nothing sent, nothing accepted, the sender retries
        assert failed.value.accepted == frozenset()
        with unix_listener(path) as listener:
            await metrics.send(items)  # the Agent is back: the same items go out once
            listener.wait_for(lambda: listener.total("glassbox.llm.requests") == 1)
            assert listener.total("glassbox.llm.input_tokens", service="shop-bot", model_provider="openai") == 12
            assert listener.total("glassbox.llm.latency") == 1
    finally:
        await metrics.shutdown()
    assert metrics.dropped_lines == {}


async def test_ten_thousand_spans_make_a_few_datagrams():
    with udp_listener() as listener:
        metrics = exporter(dogstatsd_url=listener.url, tag_allowlist=["feature"])
        await metrics.start()
        try:
            batches = [[llm_span(b * 1000 + i, tags={"feature": f"f{i % 5}"}) for i in range(1000)] for b in range(10)]
            items = [item for batch in batches for item in metrics.render(M.Batch(spans=batch))]
            await metrics.send(items)
            listener.wait_for(
                lambda: all(
                    listener.total(name) == 10_000
                    for name in ("glassbox.llm.requests", "glassbox.llm.latency", "glassbox.llm.estimated_cost_usd")
                )
            )
        finally:
            await metrics.shutdown()
        assert listener.total("glassbox.llm.requests", feature="f3") == 2_000
        assert len(listener.datagrams) < 120  # ~40 KiB of latency and cost samples; one line per count
        assert all(len(d) <= dogstatsd.UDP_PAYLOAD for d in listener.datagrams)


def test_lines_never_break_the_protocol():
    tags = ("feature:a_b", "service:x")
    lines = dogstatsd.lines({("m.count", tags): 2.0}, {("m.dist", tags): [0.5] * 1000}, 200)
    assert lines[0] == b"m.count:2|c|#feature:a_b,service:x"
    assert all(len(line) <= 200 for line in lines)
    decoded = [parsed for line in lines for parsed in decode(line)]
    assert sum(len(p.values) for p in decoded if p.name == "m.dist") == 1000
    packed = list(dogstatsd.datagrams(lines, 1432))
    assert sum(n for _, n in packed) == len(lines) and all(len(d) <= 1432 for d, _ in packed)
