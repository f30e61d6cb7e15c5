"""One ``glassbox bench`` run: build the workload, fork the clients, start the intake stand-in and the relay,
send, wait until every span is delivered, and measure."""

from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glassbox.collector.bench import chat, measure, workloads
from glassbox.collector.bench.intake import Intake
from glassbox.collector.bench.load import Load, LoadError, Plan
from glassbox.collector.bench.otlp import PoolRequest, unstamp
from glassbox.collector.bench.relay import BenchError, RelayProcess, write_config

# Spans of distinct content generated per workload (a chat span is ~5 KB with its history): beyond, the pool is
# sent again with new ids, and the report says how many times (repeated content may hit the relay's caches).
POOL_CAP = {"chat": 30_000, "agent": 60_000, "passthrough": 100_000}
DELIVERY_TIMEOUT = 180.0  # seconds after the last request for the rest to be delivered


@dataclass(frozen=True)
class Options:
    config: str | None = None
    duration: float = 10.0
    rate: float | None = None  # None: --max
    transport: str = "http"
    workload: str = "chat"
    processors: str | None = None
    exporter: str = "datadog"
    intake_latency_ms: float = 0.0
    clients: int = 4
    batch: int = 50
    seed: int = 7

    def check(self) -> None:
        for flag, value, ok in (
            ("--duration", self.duration, self.duration > 0),
            ("--rate", self.rate, self.rate is None or self.rate > 0),
            ("--clients", self.clients, 1 <= self.clients <= 64),
            ("--batch", self.batch, 1 <= self.batch <= 10_000),
            ("--intake-latency", self.intake_latency_ms, self.intake_latency_ms >= 0),
        ):
            if not ok:
                raise BenchError(f"{flag} {value}: out of range (duration and rate > 0, 1-64 clients, 1-10000 spans "
                                 "per request, latency >= 0 ms)")  # fmt: skip
        if self.config and not Path(self.config).is_file():
            raise BenchError(f"-c {self.config}: no such file")
        if self.exporter == "null" and self.intake_latency_ms:
            raise BenchError("--intake-latency needs --exporter datadog (the null exporter sends nothing)")


def run(options: Options, progress: Any = None) -> dict[str, Any]:
    """The measurements as one dict (``report`` renders it); raises BenchError."""
    options.check()
    say = progress or (lambda message: None)
    wanted = options.rate * options.duration if options.rate else POOL_CAP[options.workload]
    pool = workloads.pool(options.workload, min(math.ceil(wanted), POOL_CAP[options.workload]), options.seed,
                          options.batch)  # fmt: skip
    plan = Plan(options.transport, options.clients, pool, options.duration, options.rate)
    load = Load(plan)  # forked before any thread of this process starts
    intake = Intake(options.intake_latency_ms)
    relay = None
    try:
        with tempfile.TemporaryDirectory(prefix="glassbox-bench-") as tmp:
            workdir = Path(tmp)
            intake.start()
            setup = write_config(options.config, workdir, options.processors, options.exporter, intake.origin,
                                 chat.PROMPTS_YAML)  # fmt: skip
            relay = RelayProcess(setup, workdir, options.config)
            say(f"starting the relay ({', '.join(setup.chain) or 'no processor'} → {setup.exporter})")
            relay.wait_ready()
            port = setup.grpc_port if options.transport == "grpc" else setup.http_port
            cpu_before, _ = measure.cpu_and_peak_rss(relay.pid)
            started = time.monotonic() + 0.05
            load.go(port, started)
            say(f"sending {options.workload} spans over {options.transport} for {options.duration:g} s "
                f"({f'{options.rate:g} spans/s' if options.rate else 'as fast as acknowledged'})")  # fmt: skip
            while not load.finished():
                relay.check_alive()
                time.sleep(0.05)  # polling the clients, with the relay watched
            try:
                sent_at, spans_sent = load.results()
            except LoadError as exc:
                raise BenchError(f"{exc}\n{relay.log_tail()}") from None
            sent_requests = [pool[k % len(pool)] for k in sent_at]
            genai = sum(r.genai for r in sent_requests)
            delivered, finished = _wait_delivered(relay, intake, setup.exporter, spans_sent, genai)
            cpu_after, peak = measure.cpu_and_peak_rss(relay.pid)
            metrics = relay.metrics()
    finally:
        load.stop()
        if relay is not None:
            relay.stop()
        intake.stop()
    seconds = finished - started
    stages = measure.stage_seconds(metrics)
    total_stage = sum(stages.values()) or 1.0
    return {
        "workload": options.workload,
        "transport": options.transport,
        "processors": setup.chain,
        "exporter": setup.exporter,
        "rate": options.rate or "max",
        "duration_s": options.duration,
        "clients": options.clients,
        "spans_per_request": options.batch,
        "spans_sent": spans_sent,
        "spans_delivered": delivered,
        "genai_spans_sent": genai,
        "spans_at_intake": intake.spans if setup.exporter == "datadog" else 0,
        "evaluations_at_intake": intake.evaluations,
        "seconds": round(seconds, 3),
        "spans_per_s": round(delivered / seconds, 1),
        "cpu_s_per_1000_spans": round((cpu_after - cpu_before) / max(delivered, 1) * 1000, 4),
        "latency_ms": _latency(intake, pool, sent_at) if setup.exporter == "datadog" else None,
        "peak_rss_mib": round(peak / (1 << 20), 1),
        "stages": [
            {
                "stage": name,
                "seconds": round(value, 4),
                "ms_per_1000_spans": round(value / max(delivered, 1) * 1e6, 3),
                "share": round(value / total_stage, 4),
            }
            for name, value in _ordered(stages, setup.chain)
        ],
        "pool_spans": sum(len(r.seqs) for r in pool),
        "pool_sends": round(len(sent_at) / len(pool), 2),
        "intake_latency_ms": options.intake_latency_ms,
        "exporters_left_out": setup.left_out,
        "cpus": os.cpu_count(),
    }


def _wait_delivered(relay: RelayProcess, intake: Intake, exporter: str, sent: int, genai: int) -> tuple[int, float]:
    """Poll until every sent span went through: GenAI spans at the stand-in and the rest through the pipeline
    (``datadog``: the exporter sends no other span), or every span sent by the ``null`` exporter."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    delivered = 0
    while True:
        metrics = relay.metrics()
        if exporter == "datadog":
            delivered = intake.spans + int(measure.counter(metrics, "glassbox_pipeline_spans_total", kind="other"))
        else:
            delivered = int(measure.counter(metrics, "glassbox_exporter_sent_items_total", exporter="null"))
        if delivered >= sent:
            return delivered, time.monotonic()
        if time.monotonic() > deadline:
            rejected = measure.counter(metrics, "glassbox_receiver_rejected_spans_total")
            dropped = measure.counter(metrics, "glassbox_exporter_dropped_items_total")
            raise BenchError(
                f"only {delivered} of {sent} spans delivered {DELIVERY_TIMEOUT:.0f} s after the last request "
                f"(relay: {rejected:.0f} spans rejected, {dropped:.0f} items dropped; see its /metrics)"
            )
        time.sleep(0.02)  # polling delivery, with a deadline


def _latency(intake: Intake, pool: list[PoolRequest], sent_at: dict[int, float]) -> dict[str, float] | None:
    """Percentiles of (stand-in received the span) - (its request was sent), in ms, over GenAI spans."""
    request_of = {seq: index for index, request in enumerate(pool) for seq in request.seqs}
    values = []
    for arrived, ids in intake.arrivals:
        for span_id in ids:
            _, round_, seq = unstamp(span_id)
            sent = sent_at.get(round_ * len(pool) + request_of[seq]) if seq in request_of else None
            if sent is not None:
                values.append((arrived - sent) * 1000)
    if not values:
        return None
    values.sort()
    return {f"p{q}": round(values[min(len(values) - 1, math.ceil(q / 100 * len(values)) - 1)], 1) for q in (50, 95, 99)}


def _ordered(stages: dict[str, float], chain: list[str]) -> list[tuple[str, float]]:
    """decode, normalize, the processors in chain order, then encode and send per exporter."""
    order = ["decode", "normalize", *(f"processor:{name}" for name in chain)]
    ranked = [(name, stages[name]) for name in order if name in stages]
    rest = sorted((n, v) for n, v in stages.items() if n not in order)
    return ranked + sorted(rest, key=lambda item: (not item[0].startswith("encode"), item[0]))
