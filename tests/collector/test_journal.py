"""Spans held for their log content are acknowledged only once they are on disk (the journal), so a kill -9
while they wait loses nothing: the next start replays the journal and joins them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from glassbox.collector.exporters.local.store import LocalStore
from tests.conftest import fixture_files, signal_of


def start_relay(config: Path, cwd: Path) -> tuple[subprocess.Popen, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "glassbox.collector.cli", "run", "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=cwd,
    )
    for line in proc.stdout:
        if "OTLP/HTTP receiver listening" in line:
            return proc, int(line.rsplit(":", 1)[1])
    raise AssertionError(f"relay did not start: {proc.wait(10)}")


def post(port: int, path: Path) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/{signal_of(path)}",
        data=path.read_bytes(),
        headers={"Content-Type": "application/x-protobuf"},
    )
    return urllib.request.urlopen(request, timeout=10).status


def write_config(folder: Path, join_timeout: float) -> Path:
    config = folder / "relay.yaml"
    config.write_text(f"""
receivers: {{otlp: {{grpc: {{endpoint: "127.0.0.1:0"}}, http: {{endpoint: "127.0.0.1:0"}}}}}}
exporters: {{local: {{path: "{folder / "spans.db"}"}}}}
pipeline: {{exporters: [local], join_timeout: {join_timeout}}}
storage: {{directory: "{folder / "queue"}"}}
admin: {{endpoint: "127.0.0.1:0"}}
""")
    return config


def test_kill_9_while_spans_wait_for_their_logs(tmp_path):
    # openai-v2 event mode: spans carry no content and wait for their log records, which we never send
    # before the crash; their traces are acknowledged all the same.
    traces = [p for p in fixture_files("v2_latest_event_only") if signal_of(p) == "traces"]
    logs = [p for p in fixture_files("v2_latest_event_only") if signal_of(p) == "logs"]
    relay, port = start_relay(write_config(tmp_path, join_timeout=60), tmp_path)
    try:
        assert all(post(port, path) == 200 for path in traces)
    finally:
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
    store = LocalStore(tmp_path / "spans.db")
    assert [r for r in store.recent(100) if r["kind"] == "llm"] == []  # they were still waiting

    # After the restart the replayed spans wait again (their parents, seen before the crash, are not in memory
    # any more: they are released when the shorter join timeout ends, with the OTel parent as parent).
    relay, port = start_relay(write_config(tmp_path, join_timeout=2), tmp_path)
    try:
        assert all(post(port, path) == 200 for path in logs)  # the content arrives after the restart
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            llm = [r for r in store.recent(100) if r["kind"] == "llm"]
            if len(llm) == 5:
                break
            time.sleep(0.05)  # poll interval; the deadline bounds the wait
        assert len(llm) == 5, "delivered while running, not only by the shutdown flush"
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(20)
    llm = [r for r in store.recent(100) if r["kind"] == "llm"]
    assert len(llm) == 5 and len({r["span_id"] for r in llm}) == 5, "each held span delivered exactly once"
    assert all(r["event"]["meta"]["input"]["messages"] for r in llm), "joined with the logs sent after restart"
