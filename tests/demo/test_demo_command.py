"""The quickstart's first command: `glassbox demo` runs offline, fast, prints the same summary every run (redaction,
cost, prompt version, evaluations), keeps the logs in a file, and leaves spans that `glassbox spans` finds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

GLASSBOX = [sys.executable, "-m", "glassbox.collector.cli"]


def glassbox(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_", "TRACELOOP_", "GLASSBOX_"))}
    started = time.monotonic()
    result = subprocess.run([*GLASSBOX, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    return result, time.monotonic() - started


def test_the_demo_prints_the_same_summary_every_run_and_leaves_spans_to_browse(tmp_path):
    first, elapsed = glassbox("demo", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert elapsed < 60, f"the demo took {elapsed:.0f}s; the quickstart promises under a minute"
    second, _ = glassbox("demo", cwd=tmp_path)  # same folder: the store now holds the first run's spans too
    assert second.returncode == 0, second.stderr[-3000:]

    assert second.stdout == first.stdout, "two runs printed different summaries"
    out = first.stdout
    assert "What would reach Datadog LLM Observability (13 span events)" in out
    assert out.count("openai.chat") == 7 and "openai.embeddings" in out and "lookup_order" in out
    assert "7 LLM calls" in out and "4 sessions" in out
    # redaction: what was found, and the text as it would leave
    assert "redacted: credit_card, email_address" in out
    assert "(<EMAIL_ADDRESS>)" in out and "jane.doe@example.com" not in out
    # cost: per call, per conversation and in total
    assert re.search(r"^llm .* gpt-4o-mini-2024-07-18 +\d+ +\d+ 0\.0000\d\d ", out, re.MULTILINE), out
    assert re.search(r"^conversation sess-1002: 5 span\(s\), \$0\.0000\d\d$", out, re.MULTILINE), out
    assert re.search(r"\$0\.000\d+ estimated", out), out
    # prompt name and version, from the prompts registry
    assert out.count("prompt nordhaven-support version 2026-03") == 7
    # evaluations: the app's own, built-ins passing, and the injection attempt's failures
    assert "eval customer_satisfied = 1.0 pass" in out
    assert "passed truncated, empty_answer, pii_in_output, failure_to_answer, prompt_injection" in out
    assert "eval failure_to_answer = refusal fail" in out
    assert "eval prompt_injection = instruction_override fail" in out
    # nothing that changes between runs, and no line wider than the table's 120 columns
    assert not re.search(r"\d\d:\d\d:\d\d|\d+(\.\d+)?m?s\b|127\.0\.0\.1:(?!13133/)", out), out
    assert max(len(line) for line in out.splitlines()) <= 120

    # the logs went to the file the summary names, not the terminal
    assert first.stderr == "" and second.stderr == ""
    assert "Relay and library logs: .glassbox/demo/demo.log\n" in out
    log = (tmp_path / ".glassbox" / "demo" / "demo.log").read_text()
    assert re.search(r"OTLP/HTTP receiver listening on 127\.0\.0\.1:\d+", log), log
    assert "fake OpenAI at http://127.0.0.1:" in log

    # the spans are where `glassbox spans` looks by default, and the summary says so
    command = re.search(r"^Browse the stored spans \(glassbox\.db\): (.+) spans$", out, re.MULTILINE)
    assert command, out
    assert re.search(r"^Or in the viewer: .+ run, then open http://127\.0\.0\.1:13133/$", out, re.MULTILINE), out
    spans, _ = glassbox("spans", cwd=tmp_path)
    assert spans.returncode == 0, spans.stderr
    assert "(26 span events)" in spans.stdout  # both runs
    assert spans.stdout.count("eval prompt_injection = instruction_override fail") == 2
