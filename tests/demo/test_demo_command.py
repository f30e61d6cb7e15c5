"""The quickstart's first command: `glassbox demo` runs offline, fast, and shows redacted, evaluated spans."""

from __future__ import annotations

import os
import subprocess
import sys
import time


def test_glassbox_demo_runs_offline_and_shows_what_would_reach_datadog(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_", "TRACELOOP_"))}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "glassbox.collector.cli", "--log-level", "WARNING", "demo"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "What would reach Datadog LLM Observability (11 span events)" in out
    assert out.count("openai.chat") == 6 and "openai.embeddings" in out and "lookup_order" in out
    assert "eval customer_satisfied = 1.0 pass" in out
    assert "redacted: credit_card, email_address" in out
    assert "(<EMAIL_ADDRESS>)" in out and "jane.doe@example.com" not in out
    assert "6 LLM calls" in out and "3 sessions" in out
    assert elapsed < 60, f"the demo took {elapsed:.0f}s; the quickstart promises under a minute"
    assert not list(tmp_path.iterdir()), "the demo must leave nothing behind in the working directory"
