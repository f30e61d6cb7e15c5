"""App-side overhead per LLM call: uninstrumented vs ``glassbox-instrument`` vs ``ddtrace-run`` with LLM Observability.

    python -m bench.instrument [--calls 3000] [--rounds 3] [--ddtrace-python PATH]

Each mode runs the same script (the real ``openai`` client, ``chat.completions.create`` against the project's fake
OpenAI server, warm-up calls first) in its own process and times every call inside the app with
``perf_counter_ns``. Telemetry goes to stand-ins on 127.0.0.1 that accept everything, so what is measured is the
app's own cost (instrumentation, span building, export threads), not a network. Modes alternate round by round;
the table gives each mode's median per call and the time it adds to the uninstrumented run of the same Python.

ddtrace is not a dependency of glassbox: give ``--ddtrace-python`` a Python that has ``ddtrace`` and the same
``openai`` installed (e.g. ``python3 -m venv /tmp/dd && /tmp/dd/bin/pip install ddtrace openai==2.54.0``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from glassbox.collector.demo.fake_openai import FakeOpenAI

APP = """
import json, sys, time
from openai import OpenAI

client = OpenAI()
messages = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Where is my order 48213? It was due yesterday."}]
for _ in range(WARMUP):
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
times = []
for _ in range(CALLS):
    started = time.perf_counter_ns()
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    times.append(time.perf_counter_ns() - started)
print(json.dumps(times))
"""


class _Accept(BaseHTTPRequestHandler):
    """Any POST or PUT gets 200 and an empty JSON object (OTLP, Datadog intakes, the trace agent); the paths are
    counted, so the table can show that each mode really sent its telemetry."""

    paths: dict[str, int] = {}

    def _ok(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        path = self.path.split("?")[0]
        _Accept.paths[path] = _Accept.paths.get(path, 0) + 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_POST = do_PUT = _ok

    def log_message(self, format: str, *args: object) -> None:
        return None


def sink() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def base_env(openai_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DD_", "TRACELOOP_", "GLASSBOX_"))}
    env.update(OPENAI_BASE_URL=openai_url, OPENAI_API_KEY="sk-bench", PYTHONUNBUFFERED="1")
    return env


def modes(python: str, ddtrace_python: str | None, sink_url: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    """name -> (command prefix before the script, extra environment)."""
    instrument = str(Path(sys.executable).parent / "glassbox-instrument")
    out = {
        "uninstrumented": ([python], {}),
        "glassbox-instrument": (
            [instrument, python],
            {"OTEL_EXPORTER_OTLP_ENDPOINT": sink_url, "OTEL_SERVICE_NAME": "bench-app"},
        ),
    }
    if ddtrace_python:
        ddtrace_run = str(Path(ddtrace_python).parent / "ddtrace-run")
        out["uninstrumented (ddtrace's Python)"] = ([ddtrace_python], {})
        out["ddtrace-run, LLM Observability"] = (
            [ddtrace_run, ddtrace_python],
            {
                "DD_LLMOBS_ENABLED": "1",
                "DD_LLMOBS_ML_APP": "bench-app",
                "DD_LLMOBS_AGENTLESS_ENABLED": "1",
                "DD_API_KEY": "0" * 32,
                "DD_LLMOBS_OVERRIDE_ORIGIN": sink_url,
                "DD_TRACE_AGENT_URL": sink_url,
                "DD_SERVICE": "bench-app",
                "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
                "DD_REMOTE_CONFIGURATION_ENABLED": "false",
            },
        )
    return out


def run_mode(command: list[str], env: dict[str, str], script: Path) -> list[int]:
    proc = subprocess.run([*command, str(script)], env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000, help="timed calls per mode and round")
    parser.add_argument("--warmup", type=int, default=200, help="untimed calls first")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; modes alternate within each")
    parser.add_argument("--ddtrace-python", help="a Python with ddtrace and openai installed (optional)")
    args = parser.parse_args(argv)

    server = FakeOpenAI.start_in_thread()
    accept = sink()
    sink_url = f"http://127.0.0.1:{accept.server_address[1]}"
    table = modes(sys.executable, args.ddtrace_python, sink_url)
    samples: dict[str, list[int]] = {name: [] for name in table}
    received: dict[str, dict[str, int]] = {name: {} for name in table}
    try:
        with tempfile.TemporaryDirectory(prefix="glassbox-bench-") as tmp:
            script = Path(tmp) / "app.py"
            script.write_text(APP.replace("WARMUP", str(args.warmup)).replace("CALLS", str(args.calls)))
            for _ in range(args.rounds):
                for name, (command, extra) in table.items():
                    _Accept.paths = {}
                    samples[name] += run_mode(command, {**base_env(server.base_url), **extra}, script)
                    for path, count in _Accept.paths.items():
                        received[name][path] = received[name].get(path, 0) + count
    finally:
        server.stop()
        accept.shutdown()

    medians = {name: statistics.median(values) / 1000 for name, values in samples.items()}
    print(f"{args.calls} calls x {args.rounds} rounds per mode (median of all calls, microseconds per call)")
    print(f"{'mode':<34}{'median µs':>11}{'added µs':>10}  telemetry received (path: requests)")
    for name, median in medians.items():
        base = (
            medians["uninstrumented (ddtrace's Python)"]
            if name.startswith("ddtrace-run")
            else medians["uninstrumented"]
        )
        added = "" if name.startswith("uninstrumented") else f"{median - base:.0f}"
        sent = ", ".join(f"{path}: {n}" for path, n in sorted(received[name].items())) or "-"
        print(f"{name:<34}{median:>11.0f}{added:>10}  {sent}")
    if "ddtrace-run, LLM Observability" in medians:
        ours = medians["glassbox-instrument"] - medians["uninstrumented"]
        theirs = medians["ddtrace-run, LLM Observability"] - medians["uninstrumented (ddtrace's Python)"]
        print(f"glassbox adds {ours / theirs:.2f}x the time ddtrace adds per call" if theirs > 0 else "")


if __name__ == "__main__":
    main()
