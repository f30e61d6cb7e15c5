"""Dead letters replayed from the admin API (the viewer's Relay page): only with the custom header a page of
another site cannot send, ids validated, and the replayed items really sent again."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from glassbox.collector.delivery import deadletter
from tests.collector.delivery.test_exact_acks import plain_traces
from tests.conftest import post_otlp
from tests.support.capture_server import CaptureServer


async def test_replay_needs_the_header_validates_ids_and_sends_again(make_relay, tmp_path):
    with CaptureServer() as capture:
        capture.set_default(400, {}, b"refused")
        relay = await make_relay({"otlp": {"endpoint": capture.url, "flush_interval": 0.05, "compression": "none"}})
        assert (await post_otlp(relay, "traces", plain_traces([0x51, 0x52])))[0] == 200
        assert await relay.flush(timeout=10)
        queue = tmp_path / "storage" / "queue.db"
        letters = deadletter.list_letters(queue)
        assert len(letters) >= 1

        url = f"http://127.0.0.1:{relay.admin_port}/api/deadletters/replay"
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json={}) as response:  # what a cross-site form could send
                assert response.status == 400 and "X-Glassbox-Action" in (await response.json())["error"]
            headers = {"X-Glassbox-Action": "replay"}
            async with session.post(url, json={"ids": ["1; DROP TABLE"]}, headers=headers) as response:
                assert response.status == 400
            assert deadletter.list_letters(queue) == letters  # nothing moved by refused calls

            capture.set_default(200, {}, b"")
            before = len(capture.requests)
            async with session.post(url, json={"ids": [letters[0]["id"]]}, headers=headers) as response:
                assert response.status == 200 and (await response.json()) == {"moved": 1}
        deadline = time.monotonic() + 10  # the relay runs on this event loop: wait without blocking it
        while not any(r.response_status == 200 for r in capture.requests[before:]):
            assert time.monotonic() < deadline, [(r.path, r.response_status) for r in capture.requests]
            await asyncio.sleep(0.05)
        assert [row["id"] for row in deadletter.list_letters(queue)] == [row["id"] for row in letters[1:]]
