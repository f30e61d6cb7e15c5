"""Dead letters replayed from the viewer's Relay page, in the real browser: a destination refuses a batch for
good, the page lists it, "Replay all" moves it back and the destination (now accepting) gets it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.collector.delivery.test_exact_acks import plain_traces
from tests.conftest import post_otlp
from tests.support.capture_server import CaptureServer
from tests.viewer.conftest import OUTPUT

pytestmark = pytest.mark.timeout(60)


def replay_on_the_page(browser: Any, url: str) -> str:
    """Blocking browser steps (run in a thread: the relay serving the page shares the test's event loop)."""
    browser.get(f"{url}/#/relay")
    row = WebDriverWait(browser, 8).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#dead-letters td")))
    assert "http_400" in row.find_element(By.XPATH, "..").text
    browser.find_element(By.ID, "replay-all").click()
    WebDriverWait(browser, 8).until(EC.text_to_be_present_in_element((By.ID, "replayed"), "moved 1 dead letter"))
    browser.save_screenshot(str(OUTPUT / "relay_replayed.png"))
    return browser.find_element(By.ID, "app").text


async def test_replay_all_from_the_relay_page(browser: Any, make_relay, tmp_path) -> None:
    with CaptureServer() as capture:
        capture.set_default(400, {}, b"refused")
        relay = await make_relay(
            {
                "local": {"path": str(tmp_path / "spans.db")},
                "otlp": {"endpoint": capture.url, "flush_interval": 0.05, "compression": "none"},
            }
        )
        assert (await post_otlp(relay, "traces", plain_traces([0x61])))[0] == 200
        assert await relay.flush(timeout=10)
        capture.set_default(200, {}, b"")

        text = await asyncio.to_thread(replay_on_the_page, browser, f"http://127.0.0.1:{relay.admin_port}")
        assert "Dead letters" in text and "none" in text.split("Dead letters", 1)[1]
        deadline = time.monotonic() + 10
        while not any(r.response_status == 200 for r in capture.requests):
            assert time.monotonic() < deadline, [(r.path, r.response_status) for r in capture.requests]
            await asyncio.sleep(0.05)
