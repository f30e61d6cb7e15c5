"""Relay throughput benchmark: spans/s, CPU seconds per 1,000 spans, ack and delivery latency, peak RSS.

    python -m bench.relay [--spans 20000] [--batch 50] [--clients 4] [--sync full|normal] [--runs 3]
                          [--workload single|chat] [--chains CHAIN ...]

Starts ``glassbox run`` as a subprocess (datadog exporter, agentless, pointed at an in-process stand-in for the
intake on 127.0.0.1), sends GenAI chat spans over OTLP/HTTP from concurrent clients, and waits until the stand-in
has every span. CPU and peak RSS are the relay's with its child processes (redaction workers), from /proc.
Each ``--chains`` entry is a processor chain (comma-separated, e.g. ``redaction,cost,prompts,evals``; ``none``
for no processor); runs alternate between chains so machine noise hits them alike, and the table ends with each
chain's CPU per span relative to the first. A second table splits each chain's CPU per span by where it ran (the
relay's event-loop thread, its other threads, its workers) and gives the share of it the first chain does not
spend (what issue 8's 15 % is about). Medians over ``--runs``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import aiohttp
from aiohttp import web
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from glassbox.collector.bench import chat as workload
from glassbox.collector.bench.otlp import add_attributes, new_request
from glassbox.collector.bench.relay import free_ports

PROMPT = ("You are Nova, the support assistant of Nordhaven Furniture. Be warm and concise. " * 4).strip()


def make_request(first: int, count: int) -> bytes:
    """One OTLP request with ``count`` chat spans, ids derived from ``first`` so every span is unique."""
    request, scope = new_request("bench-app")
    now = time.time_ns()
    for n in range(first, first + count):
        span = scope.spans.add()
        span.trace_id = n.to_bytes(16, "big")
        span.span_id = (n + 1).to_bytes(8, "big")
        span.name = "chat gpt-4o-mini"
        span.kind = Span.SPAN_KIND_CLIENT
        span.start_time_unix_nano = now
        span.end_time_unix_nano = now + 1_000_000
        messages = [
            {"role": "system", "parts": [{"type": "text", "content": PROMPT}]},
            {"role": "user", "parts": [{"type": "text", "content": f"Where is order {n}? My email is a{n}@x.io"}]},
        ]
        answer = [
            {"role": "assistant", "parts": [{"type": "text", "content": "It ships tomorrow."}], "finish_reason": "stop"}
        ]
        add_attributes(
            span,
            (
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.provider.name", "openai"),
                ("gen_ai.request.model", "gpt-4o-mini"),
                ("gen_ai.input.messages", json.dumps(messages)),
                ("gen_ai.output.messages", json.dumps(answer)),
            ),
            (("gen_ai.usage.input_tokens", 120), ("gen_ai.usage.output_tokens", 9)),
        )
    return request.SerializeToString()


class Intake:
    """Stand-in for Datadog's agentless intake: counts span events, remembers when each batch arrived."""

    def __init__(self) -> None:
        self.events = 0
        self.arrivals: list[tuple[float, int]] = []
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        count = body.count(b'"_dd.stage"')
        self.events += count
        self.arrivals.append((time.monotonic(), count))
        return web.Response(status=202, text="{}")

    def start(self) -> None:
        def run() -> None:
            self._loop = asyncio.new_event_loop()
            app = web.Application(client_max_size=64 << 20)
            app.router.add_post("/api/v2/llmobs", self._handle)
            app.router.add_post("/api/intake/llm-obs/v2/eval-metric", self._handle)
            runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self._ready.set()
            self._loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        self._ready.wait(10)


def proc_stats(pid: int) -> tuple[float, int, dict[str, float]]:
    """(CPU seconds, peak RSS bytes) of the relay and its child processes (redaction workers), from /proc, and
    the CPU split by where it ran: the relay's event-loop thread, its other threads (queue writer, redaction feed),
    its workers. py-spy cannot show that split: the queue thread's time is in SQLite's C code, without the GIL."""
    ticks = os.sysconf("SC_CLK_TCK")
    cpu, peak = 0.0, 0
    split = {"loop": 0.0, "threads": 0.0, "workers": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(entry.name) != pid and int(fields[1]) != pid:  # fields[1] is the parent pid
                continue
            used = (int(fields[11]) + int(fields[12])) / ticks
            cpu += used
            peak += next(
                int(line.split()[1]) * 1024
                for line in (entry / "status").read_text().splitlines()
                if line.startswith("VmHWM:")
            )
            if int(entry.name) != pid:
                split["workers"] += used
                continue
            for task in (entry / "task").iterdir():
                own = (task / "stat").read_text().rsplit(")", 1)[1].split()
                split["loop" if task.name == entry.name else "threads"] += (int(own[11]) + int(own[12])) / ticks
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    return cpu, peak, split


def start_relay(folder: Path, intake_port: int, sync: str, chain: list[str]) -> tuple[subprocess.Popen, int]:
    http, admin = free_ports(2)
    config = folder / "relay.yaml"
    (folder / "prompts.yaml").write_text(workload.PROMPTS_YAML)
    unredacted = "false" if "redaction" in chain else "true"  # chains without redaction are measured on purpose
    config.write_text(f"""
receivers: {{otlp: {{grpc: {{endpoint: "127.0.0.1:0"}}, http: {{endpoint: "127.0.0.1:{http}"}}}}}}
exporters:
  datadog: {{transport: agentless, api_key: bench, override_origin: "http://127.0.0.1:{intake_port}",
            batch_max_items: 1000, flush_interval: 0.05}}
processors: {{{"prompts: {registry: prompts.yaml}" if "prompts" in chain else ""}}}
pipeline: {{exporters: [datadog], processors: [{", ".join(chain)}], send_unredacted: {unredacted}}}
storage: {{directory: "{folder / "queue"}", sync: {sync}}}
admin: {{endpoint: "127.0.0.1:{admin}"}}
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "glassbox.collector.cli", "--log-level", "WARNING", "run", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return proc, http
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("relay did not become ready")


def bodies(kind: str, total: int, batch: int) -> list[bytes]:
    if kind == "single":
        return [make_request(i * batch + 1, batch) for i in range(total // batch)]
    calls = workload.chat_spans(total)
    return [workload.request(calls[i : i + batch], i + 1) for i in range(0, len(calls), batch)]


async def load(port: int, requests: list[bytes], clients: int) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue = asyncio.Queue()
    for body in requests:
        queue.put_nowait(body)

    async def client(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            while True:
                started = time.monotonic()
                async with session.post(
                    f"http://127.0.0.1:{port}/v1/traces", data=body, headers={"Content-Type": "application/x-protobuf"}
                ) as resp:
                    await resp.read()
                    if resp.status == 200:
                        latencies.append(time.monotonic() - started)
                        break
                    await asyncio.sleep(float(resp.headers.get("Retry-After", "0.1")))

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    return latencies


def run_once(requests: list[bytes], spans: int, clients: int, sync: str, intake: Intake, chain: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="glassbox-bench-") as tmp:
        relay, port = start_relay(Path(tmp), intake.port, sync, chain)
        try:
            cpu_before, _, split_before = proc_stats(relay.pid)
            intake.events, intake.arrivals = 0, []
            started = time.monotonic()
            latencies = asyncio.run(load(port, requests, clients))
            acked = time.monotonic()
            deadline = time.monotonic() + 120
            while intake.events < spans and time.monotonic() < deadline:
                time.sleep(0.01)
            delivered = time.monotonic()
            cpu_after, peak, split_after = proc_stats(relay.pid)
        finally:
            relay.terminate()
            relay.wait(30)
    if intake.events < spans:
        raise RuntimeError(f"only {intake.events} of {spans} spans delivered")
    latencies.sort()
    return {
        "spans_per_s": spans / (delivered - started),
        "ack_spans_per_s": spans / (acked - started),
        "cpu_s_per_1000": (cpu_after - cpu_before) / spans * 1000,
        "ack_p50_ms": latencies[len(latencies) // 2] * 1000,
        "ack_p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "drain_after_last_ack_ms": (delivered - acked) * 1000,
        "peak_rss_mib": peak / (1 << 20),
        **{f"{where}_us": (split_after[where] - split_before[where]) / spans * 1e6 for where in split_after},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=50, help="spans per OTLP request")
    parser.add_argument("--clients", type=int, default=4, help="concurrent OTLP/HTTP clients")
    parser.add_argument("--sync", choices=["full", "normal"], default="full")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workload", choices=["single", "chat"], default="single")
    parser.add_argument(
        "--chains",
        nargs="+",
        default=["none"],
        help="processor chains to compare, e.g. redaction redaction,cost,prompts,evals",
    )
    args = parser.parse_args(argv)
    chains = [[] if chain == "none" else chain.split(",") for chain in args.chains]
    requests = bodies(args.workload, args.spans, args.batch)
    spans = args.spans if args.workload == "chat" else args.spans // args.batch * args.batch
    intake = Intake()
    intake.start()
    print(
        f"{spans} spans ({args.workload}), {args.batch} per request, {args.clients} clients, "
        f"storage.sync {args.sync}, median of {args.runs} runs, chains alternating"
    )
    results: list[list[dict]] = [[] for _ in chains]
    for _ in range(args.runs):
        for i, chain in enumerate(chains):
            results[i].append(run_once(requests, spans, args.clients, args.sync, intake, chain))
    header = (
        f"{'chain':<34}{'spans/s':>9}{'CPU s/1k':>10}{'ack p50 ms':>11}{'ack p99 ms':>11}{'drain ms':>10}"
        f"{'RSS MiB':>9}{'CPU vs 1st':>11}"
    )
    print(header)
    medians = [{key: statistics.median(run[key] for run in runs) for key in runs[0]} for runs in results]
    for chain, runs, med in zip(args.chains, results, medians):
        ratios = [r["cpu_s_per_1000"] / b["cpu_s_per_1000"] for r, b in zip(runs, results[0])]
        print(
            f"{chain:<34}{med['spans_per_s']:>9.0f}{med['cpu_s_per_1000']:>10.3f}{med['ack_p50_ms']:>11.1f}"
            f"{med['ack_p99_ms']:>11.1f}{med['drain_after_last_ack_ms']:>10.0f}{med['peak_rss_mib']:>9.0f}"
            f"{statistics.median(ratios):>10.2f}x"
        )
    title = "CPU per span by where it ran (us, medians)"
    print(f"\n{title:<44}{'event loop':>12}{'threads':>9}{'workers':>9}{'added':>8}")
    for chain, med in zip(args.chains, medians):
        added = 1 - medians[0]["cpu_s_per_1000"] / med["cpu_s_per_1000"]
        print(
            f"{chain:<44}{med['loop_us']:>12.0f}{med['threads_us']:>9.0f}{med['workers_us']:>9.0f}{added * 100:>7.1f}%"
        )
    print("(added: the share of the chain's CPU per span that the first chain does not spend; ticks are 10 ms)")


if __name__ == "__main__":
    main()
