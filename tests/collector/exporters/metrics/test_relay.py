"""Through a real relay (OTLP/HTTP in, on 127.0.0.1): counts in equal counts out under load, the fold counter on
/metrics, and a metrics outage that never holds span events back (each exporter has its own queue)."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from glassbox.collector import telemetry as T
from tests.collector.exporters.metrics.listeners import udp_listener, unix_listener
from tests.conftest import post_otlp
from tests.processors.conftest import chat_span, trace_request


def fast(**settings: object) -> dict[str, object]:
    return {"flush_interval": 0.05, "retry_initial_interval": 0.05, "retry_max_interval": 0.2, **settings}


async def send_spans(relay, total: int, per_request: int = 500) -> None:
    for start in range(0, total, per_request):
        spans = [chat_span(i + 1, "where is my order", "on its way") for i in range(start, start + per_request)]
        status, body, _ = await post_otlp(relay, "traces", trace_request(spans).SerializeToString())
        assert status == 200, body


async def wait_until(done, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_five_thousand_spans_in_five_thousand_requests_out(make_relay):
    with udp_listener() as listener:
        relay = await make_relay(exporters={"metrics": fast(dogstatsd_url=listener.url)})
        await send_spans(relay, 5_000)
        await wait_until(lambda: listener.total("glassbox.llm.requests") >= 5_000 and relay.senders[0].queued[0] == 0)
        assert listener.total("glassbox.llm.requests", service="shop-bot", model_name="gpt-4o-mini") == 5_000
        assert listener.total("glassbox.llm.input_tokens") == 12 * 5_000
        assert listener.total("glassbox.llm.latency") == 5_000
        assert len(listener.datagrams) < 5_000 / 10  # aggregated, not a datagram per span
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{relay.admin_port}/metrics") as resp:
                scrape = await resp.text()
        assert "# TYPE glassbox_metrics_tag_values_folded_total counter" in scrape
        assert "# TYPE glassbox_metrics_dropped_lines_total counter" in scrape


async def test_a_metrics_outage_never_holds_span_events_back(make_relay, tmp_path, short_dir):
    path = short_dir / "dsd.socket"  # no Agent listening yet
    relay = await make_relay(
        exporters={"local": fast(path=str(tmp_path / "spans.db")), "metrics": fast(dogstatsd_url=f"unix://{path}")}
    )
    await send_spans(relay, 200, per_request=50)
    local, metrics = relay.senders
    await wait_until(lambda: relay.telemetry.value(T.EXPORTER_SENT_ITEMS, exporter="local") >= 200)
    assert local.queued[0] == 0
    await wait_until(lambda: relay.telemetry.value(T.EXPORTER_RETRIES, exporter="metrics") >= 1)
    assert metrics.queued[0] > 0  # kept on disk while the Agent is away
    with unix_listener(path) as listener:
        await wait_until(lambda: listener.total("glassbox.llm.requests") >= 200 and metrics.queued[0] == 0)
        assert listener.total("glassbox.llm.requests") == 200  # every span counted once, after the outage
