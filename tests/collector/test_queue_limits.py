"""Dead letters, full queues and the memory limit: refused data is kept with its reason or refused up front."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import aiohttp

from bench.relay import make_request
from glassbox.collector.delivery import deadletter
from tests.conftest import agentless_at, fixture_files, post_otlp, signal_of
from tests.support.capture_server import CaptureServer


async def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_replay_into_a_running_relay_is_counted_then_delivered(make_relay, tmp_path):
    with CaptureServer() as intake:
        intake.set_default(400, {}, b'{"errors":["no"]}')
        relay = await make_relay(agentless_at(intake.url, retry_initial_interval=0.05))
        for path in fixture_files("ll_default"):
            assert (await post_otlp(relay, signal_of(path), path.read_bytes()))[0] == 200
        await relay.flush()
        queue_db = Path(tmp_path) / "storage" / "queue.db"
        letters = deadletter.list_letters(queue_db)
        assert len(letters) == 8 and {row["reason"] for row in letters} == {"http_400"}
        assert "http_400" in deadletter.render_list(letters)
        assert relay.store.stats["datadog"].items == 0

        intake.set_default(503, {}, b"busy")  # replayed items must wait in the queue, and be counted there
        assert deadletter.replay(queue_db) == 8
        await wait_until(lambda: relay.store.stats["datadog"].items == 8)
        assert deadletter.list_letters(queue_db) == []

        intake.set_default(202, {}, b"{}")
        assert await relay.flush(timeout=20)
        delivered = [r for r in intake.requests if r.response_status == 202 and r.path == "/api/v2/llmobs"]
        assert sum(len(r.json()) for r in delivered) == 8


async def test_memory_limit_refuses_new_data_with_a_retry_hint(make_relay):
    relay = await make_relay(pipeline={"memory_limit_mib": 1})  # any Python process is above 1 MiB
    path = fixture_files("ll_default")[0]
    status, body, _ = await post_otlp(relay, "traces", path.read_bytes())
    assert status == 429 and b"memory limit" in body
    assert relay.telemetry.value("pipeline_memory_limit_refusals") == 1


async def test_readyz_is_503_while_a_queue_is_full_and_200_once_it_drains(make_relay):
    with CaptureServer() as intake:
        intake.set_default(503, {}, b"busy")
        relay = await make_relay(
            agentless_at(intake.url, queue_max_items=2, retry_initial_interval=0.05, retry_max_interval=0.1)
        )
        # root LLM spans with their content: nothing waits, each request puts one item in the queue
        statuses = [(await post_otlp(relay, "traces", make_request(n * 10 + 1, 1)))[0] for n in range(4)]
        assert statuses[:2] == [200, 200] and 429 in statuses[2:]

        async def readyz() -> int:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{relay.admin_port}/readyz") as resp:
                    return resp.status

        assert await readyz() == 503
        intake.set_default(202, {}, b"{}")
        assert await relay.flush(timeout=20)
        assert await readyz() == 200


async def readyz(relay) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{relay.admin_port}/readyz") as resp:
            return resp.status, await resp.json()


async def test_with_drop_oldest_a_full_queue_accepts_and_readyz_agrees(make_relay):
    """One rule for admission and readiness: with ``overflow: drop_oldest`` a full queue makes room, so the relay
    accepts and /readyz says 200 (it used to say 503 while accepting); the dropped items are counted."""
    with CaptureServer() as intake:
        intake.set_default(503, {}, b"busy")
        relay = await make_relay(
            agentless_at(
                intake.url,
                queue_max_items=2,
                overflow="drop_oldest",
                retry_initial_interval=0.05,
                retry_max_interval=0.1,
            )
        )
        statuses = [(await post_otlp(relay, "traces", make_request(n * 10 + 1, 1)))[0] for n in range(5)]

        assert statuses == [200] * 5
        assert relay.store.stats["datadog"].items <= 2
        assert relay.telemetry.value("exporter_dropped_items", exporter="datadog", reason="queue_full_drop_oldest") >= 3
        assert await readyz(relay) == (200, {"ready": True})


async def test_readyz_says_why_it_is_not_ready_exactly_when_receivers_refuse(make_relay):
    with CaptureServer() as intake:
        intake.set_default(503, {}, b"busy")
        relay = await make_relay(
            agentless_at(intake.url, queue_max_items=1, retry_initial_interval=0.05, retry_max_interval=0.1)
        )
        assert (await post_otlp(relay, "traces", make_request(1, 1)))[0] == 200
        status, body = await readyz(relay)
        refused, message, _ = await post_otlp(relay, "traces", make_request(11, 1))

        assert (status, refused) == (503, 429)
        assert body == {"ready": False, "reason": "the datadog exporter's queue is full; retry later"}
        assert b"the datadog exporter's queue is full" in message
        assert (
            relay.telemetry.value("receiver_refused_requests", transport="http", signal="traces", reason="queue_full")
            == 1
        )


async def test_the_memory_limit_makes_readyz_fail_too(make_relay):
    relay = await make_relay(pipeline={"memory_limit_mib": 1})
    status, body = await readyz(relay)
    refused, _, _ = await post_otlp(relay, "traces", make_request(1, 1))

    assert (status, refused) == (503, 429)
    assert body["reason"].startswith("the relay is above its memory limit")
    assert (
        relay.telemetry.value("receiver_refused_requests", transport="http", signal="traces", reason="memory_limit")
        == 1
    )


async def test_memory_refusals_have_their_own_reason_one_log_line_and_readyz_says_why(make_relay, caplog):
    """Issue 11: a too-low ``memory_limit_mib`` refused everything while /readyz said 200, the refusals were
    counted as ``queue_full`` and nothing was logged."""
    caplog.set_level(logging.INFO, logger="glassbox.admission")
    relay = await make_relay(pipeline={"memory_limit_mib": "1MiB"})  # any Python process is above 1 MiB

    statuses = [(await post_otlp(relay, "traces", make_request(1, 1)))[0] for _ in range(3)]
    status, body = await readyz(relay)

    assert statuses == [429, 429, 429]
    assert status == 503 and "pipeline.memory_limit_mib is 1" in body["reason"], body
    refused = {
        reason: relay.telemetry.value("receiver_refused_requests", transport="http", signal="traces", reason=reason)
        for reason in ("memory_limit", "queue_full")
    }
    assert refused == {"memory_limit": 3, "queue_full": 0}
    said = [r.getMessage() for r in caplog.records if r.name == "glassbox.admission"]
    assert len(said) == 1, said  # when refusing starts, not once per request
    assert said[0].startswith("refusing new data: the relay uses ") and "pipeline.memory_limit_mib (1 MiB)" in said[0]
