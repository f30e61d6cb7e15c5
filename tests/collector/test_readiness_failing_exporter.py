"""/readyz is unready while an exporter fails every send (a bad API key: every POST answered 403), says which
exporter and why, and is ready again once the destination accepts. Real relay, real capture server."""

from __future__ import annotations

import aiohttp
import orjson

from tests.conftest import agentless_at, fixture_files, post_otlp, signal_of
from tests.support.capture_server import CaptureServer


async def readyz(relay) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{relay.admin_port}/readyz") as resp:
            return resp.status, orjson.loads(await resp.read())


async def send_one(relay, path) -> None:
    status, _, _ = await post_otlp(relay, signal_of(path), path.read_bytes())
    assert status == 200
    assert await relay.flush(timeout=20)


async def test_a_destination_refusing_every_send_makes_the_relay_unready_until_it_accepts(make_relay):
    path = next(p for p in fixture_files("ll_events") if signal_of(p) == "traces")
    with CaptureServer() as intake:
        intake.set_default(403, body=b'{"errors": ["Forbidden"]}')
        relay = await make_relay(agentless_at(intake.url, api_key="not-a-real-key"))
        await send_one(relay, path)
        assert (await readyz(relay))[0] == 200  # one refusal is not a failing exporter
        for _ in range(2):
            await send_one(relay, path)

        status, body = await readyz(relay)
        assert status == 503 and body["ready"] is False
        assert body["reason"].startswith("exporter datadog: the last 3 sends failed (") and "403" in body["reason"]
        assert "not-a-real-key" not in body["reason"]

        intake.set_default(202, body=b"{}")
        await send_one(relay, path)
        assert await readyz(relay) == (200, {"ready": True})
