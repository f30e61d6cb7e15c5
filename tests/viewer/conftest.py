"""The viewer's browser tests: the demo's real data (``glassbox demo``) plus bulk and hostile traces written
through the local exporter, served by a real relay (``glassbox run``, 127.0.0.1 only), driven in Debian's
headless chromium through its chromedriver. Selenium Manager is never used: nothing is downloaded."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.viewer import data

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
OUTPUT = Path(__file__).parent / "output"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, deadline_s: float, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the relay exited ({proc.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)  # polling interval of a deadline-bounded wait, not a fixed wait for an outcome
    raise AssertionError(f"{url} did not answer within {deadline_s}s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def viewer_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A relay serving a store with: the demo's 4 conversations, 2,000 bulk traces (10,000 spans) and the
    hostile trace (the newest)."""
    work = tmp_path_factory.mktemp("viewer")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_", "GLASSBOX_"))}
    demo = subprocess.run(
        [str(BIN / "glassbox"), "demo"], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    store = work / "glassbox.db"
    now = time.time_ns()
    data.write(store, data.bulk_items(2000, 5, now - 3_600_000_000_000))
    data.write(store, data.hostile_items(now))
    port = free_port()
    config = {
        "receivers": {"otlp": {"http": {"endpoint": f"127.0.0.1:{free_port()}"}}},
        "exporters": {"local": {"path": str(store), "max_spans": 200_000}},
        "pipeline": {"exporters": ["local"], "processors": []},
        "storage": {"directory": str(work / "storage")},
        "admin": {"endpoint": f"127.0.0.1:{port}"},
    }
    (work / "relay.yaml").write_text(yaml.safe_dump(config))
    log = work / "relay.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BIN / "glassbox"), "run", "-c", str(work / "relay.yaml")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", 30, proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists() and not shutil.which(Path(p).name)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: apt-get install -y chromium chromium-driver (Debian packages)")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never reach the network
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(10)
    OUTPUT.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
