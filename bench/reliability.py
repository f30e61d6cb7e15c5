"""Reliability scenarios against a real relay process (issue #4): outage, crash, throttling, full queue, shutdown.

Every scenario runs ``glassbox run -c <tmp>/relay.yaml`` as a subprocess on ports chosen free on 127.0.0.1 in
advance, with a capture server standing in for Datadog's agentless intake (``override_origin``) and a load client
that uses the real OTel SDK exporters. Each span carries ``gen_ai.conversation.id = "seq-<n>"``, which the relay
forwards as the event's ``session_id``, so deliveries are counted from the stand-in's bodies:

* **sent**: spans handed to an exporter's ``export()``;
* **acknowledged**: spans in a batch whose ``export()`` returned SUCCESS (the relay answered 200 / OK);
* **delivered**: distinct seq ids the stand-in accepted (2xx answers only);
* **duplicated**: accepted deliveries beyond the first of each seq id;
* **lost**: acknowledged spans never delivered (must be 0).

Run from the repo root::

    .venv/bin/python -m bench.reliability [--spans N] [--scenario NAME]

Synchronisation is by conditions with deadlines (stand-in has the spans, relay metrics say so, the client has
so many acknowledged batches), never by fixed sleeps.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from tests.support.capture_server import CaptureServer
from tests.support.net import free_ports

SPAN_PATH = "/api/v2/llmobs"
MODEL = "gpt-4o-mini"
READY_LINE = "glassbox relay ready"
STRIPPED_ENV = ("DD_", "OTEL_", "TRACELOOP_")
REPO = Path(__file__).resolve().parent.parent


# --- small helpers --------------------------------------------------------------------------------------------


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds passed; returns whether it held."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def clean_env() -> dict[str, str]:
    """The environment for child processes: no Datadog / OTel / Traceloop settings of the developer's."""
    return {k: v for k, v in os.environ.items() if not k.startswith(STRIPPED_ENV)}


def glassbox_command() -> list[str]:
    script = Path(sys.executable).parent / "glassbox"
    return [str(script)] if script.exists() else [sys.executable, "-m", "glassbox.collector.cli"]


def seq_of(value: str) -> int | None:
    return int(value[4:]) if isinstance(value, str) and value.startswith("seq-") and value[4:].isdigit() else None


# --- the Datadog stand-in ---------------------------------------------------------------------------------------


class DatadogStandIn:
    """A capture server on a fixed port that counts accepted span events per seq id."""

    def __init__(self, port: int):
        self.server = CaptureServer(port=port)
        self.url = self.server.url
        self.counts: Counter[int] = Counter()  # accepted deliveries per seq
        self.posts: list[tuple[float, int, int]] = []  # (received_at, status, events) per span POST, in order
        self._seen = 0
        self._lock = threading.Lock()
        self.running = False

    def start(self) -> None:
        self.server.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.server.stop()
            self.running = False

    def refresh(self) -> None:
        with self._lock:
            requests = list(self.server.requests)
            for request in requests[self._seen :]:
                if request.path != SPAN_PATH:
                    continue
                seqs = [seq_of(event.get("session_id")) for envelope in request.json() for event in envelope["spans"]]
                self.posts.append((request.received_at, request.response_status, len(seqs)))
                if 200 <= request.response_status < 300:
                    self.counts.update(s for s in seqs if s is not None)
            self._seen = len(requests)

    def delivered(self) -> Counter[int]:
        self.refresh()
        with self._lock:
            return Counter(self.counts)

    def statuses(self) -> list[int]:
        self.refresh()
        with self._lock:
            return [status for _, status, _ in self.posts]


# --- the relay subprocess ---------------------------------------------------------------------------------------


class RelayFailed(Exception):
    pass


class RelayProcess:
    """``glassbox run -c relay.yaml`` as a child process; one log file per start."""

    def __init__(self, workdir: Path, config: dict[str, Any], admin_port: int):
        self.workdir = workdir
        self.config_path = workdir / "relay.yaml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.admin_port = admin_port
        self.proc: subprocess.Popen | None = None
        self.logs: list[Path] = []
        self.exits: list[dict[str, Any]] = []  # how each run ended: signal, exit code, seconds to exit

    @property
    def command(self) -> list[str]:
        return [*glassbox_command(), "run", "-c", str(self.config_path)]

    def start(self, timeout: float = 30.0) -> None:
        log_path = self.workdir / f"relay-{len(self.logs) + 1}.log"
        self.logs.append(log_path)
        with open(log_path, "wb") as log_file:
            proc = self.proc = subprocess.Popen(
                self.command,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=clean_env(),
                cwd=self.workdir,
                start_new_session=True,
            )
        if not wait_until(lambda: READY_LINE in self.log() or proc.poll() is not None, timeout):
            self.kill()
            raise RelayFailed(f"relay not ready within {timeout}s:\n{self.log()[-3000:]}")
        if proc.poll() is not None:
            raise RelayFailed(f"relay exited with {proc.returncode} at start:\n{self.log()[-3000:]}")

    def log(self, run: int = -1) -> str:
        try:
            return self.logs[run].read_text(errors="replace")
        except (IndexError, OSError):
            return ""

    def all_logs(self) -> str:
        return "".join(
            f"--- {path.name} ---\n{path.read_text(errors='replace')}" for path in self.logs if path.exists()
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """``kill -9``: no chance to drain, flush or close anything."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            self.exits.append({"signal": "SIGKILL", "code": proc.returncode})

    def terminate(self, timeout: float = 40.0) -> dict[str, Any]:
        """SIGTERM and wait for the exit; a relay that does not exit within ``timeout`` is killed and reported."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return {"signal": None, "code": proc.returncode if proc else None}
        started = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(timeout)
            outcome = {"signal": "SIGTERM", "code": code, "seconds": round(time.monotonic() - started, 2)}
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            outcome = {"signal": "SIGTERM", "code": None, "hung": True, "seconds": timeout}
        self.exits.append(outcome)
        return outcome

    def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        """The admin ``/metrics`` as name → [(labels, value)]; empty when the relay does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=5) as resp:
                text = resp.read().decode()
        except OSError:
            return {}
        out: dict[str, list[tuple[dict[str, str], float]]] = {}
        for line in text.splitlines():
            match = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$", line)
            if not match:
                continue
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            out.setdefault(match.group(1), []).append((labels, float(match.group(3))))
        return out

    def metric(self, name: str, **labels: str) -> float | None:
        """Sum of a metric's samples whose labels include ``labels``; None when the relay does not answer."""
        samples = self.metrics()
        if not samples:
            return None
        return sum(value for have, value in samples.get(name, []) if all(have.get(k) == v for k, v in labels.items()))

    def queue_empty(self) -> bool:
        return self.metric("glassbox_exporter_queue_size", exporter="datadog") == 0

    def table_counts(self) -> dict[str, int]:
        """Rows per table of the queue database (read while the relay is stopped or killed)."""
        path = self.workdir / "storage" / "queue.db"
        if not path.exists():
            return {}
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return {
                table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("items", "journal", "dead_letters")
            }
        finally:
            db.close()

    def cli(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
        """Another ``glassbox`` command on the same config (e.g. ``deadletter list``)."""
        return subprocess.run(
            [*glassbox_command(), *args, "-c", str(self.config_path)],
            capture_output=True,
            text=True,
            env=clean_env(),
            cwd=self.workdir,
            timeout=timeout,
        )

    def problems(self) -> list[str]:
        """Log lines worth a look: errors and tracebacks (expected ones are filtered by the caller)."""
        lines = []
        for path in self.logs:
            for line in path.read_text(errors="replace").splitlines() if path.exists() else ():
                if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback"):
                    lines.append(f"{path.name}: {line}")
        return lines


def relay_config(
    ports: dict[str, int], standin_url: str, storage: Path, sync: str = "full", **datadog: Any
) -> dict[str, Any]:
    return {
        "receivers": {
            "otlp": {
                "grpc": {"endpoint": f"127.0.0.1:{ports['grpc']}"},
                "http": {"endpoint": f"127.0.0.1:{ports['http']}"},
            }
        },
        "exporters": {
            "datadog": {
                "transport": "agentless",
                "api_key": "bench-not-a-real-key",
                "site": "datadoghq.com",
                "override_origin": standin_url,
                "flush_interval": 0.1,
                "batch_max_items": 100,
                "retry_initial_interval": 0.1,
                "retry_max_interval": 0.5,
                "retry_max_elapsed": 300,
                "timeout": 5,
                **datadog,
            }
        },
        "pipeline": {"exporters": ["datadog"], "join_timeout": 0.3, "send_unredacted": True},  # delivery only
        "storage": {"directory": str(storage), "sync": sync},
        "admin": {"endpoint": f"127.0.0.1:{ports['admin']}"},
    }


# --- the load client --------------------------------------------------------------------------------------------


def make_spans(count: int, *, held_every: int = 0, first: int = 0) -> list[Any]:
    """``count`` finished GenAI chat spans from the real SDK, each its own trace, ``seq-<n>`` as conversation id.

    Every ``held_every``-th span has no input/output messages, so the relay holds it for its log content (the
    join) and journals the request until the span is released by ``join_timeout``.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "reliability-bench"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("glassbox.bench.reliability")
    for n in range(first, first + count):
        with tracer.start_as_current_span(f"chat {MODEL}") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.provider.name", "openai")
            span.set_attribute("gen_ai.request.model", MODEL)
            span.set_attribute("gen_ai.conversation.id", f"seq-{n}")
            span.set_attribute("gen_ai.usage.input_tokens", 12)
            span.set_attribute("gen_ai.usage.output_tokens", 3)
            if not (held_every and n % held_every == 0):
                span.set_attribute(
                    "gen_ai.input.messages", f'[{{"role":"user","parts":[{{"type":"text","content":"question {n}"}}]}}]'
                )
                span.set_attribute(
                    "gen_ai.output.messages",
                    '[{"role":"assistant","parts":[{"type":"text","content":"ok"}],"finish_reason":"stop"}]',
                )
    spans = list(memory.get_finished_spans())
    provider.shutdown()
    return spans


class SdkLog(logging.Handler):
    """Collects the OTel exporters' own log records (their retries show up as "Transient error ..." warnings)."""

    LOGGER = "opentelemetry.exporter.otlp"

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(f"{record.levelname} {record.getMessage()}")
        except Exception:  # a bad log record must not break the client
            pass

    def __enter__(self) -> SdkLog:
        logging.getLogger(self.LOGGER).addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger(self.LOGGER).removeHandler(self)

    @property
    def retries(self) -> int:
        return sum("Transient error" in m for m in self.messages)


class LoadClient:
    """Exports pre-made spans in batches with the real OTel SDK exporter, from ``threads`` threads."""

    def __init__(
        self,
        spans: list[Any],
        *,
        transport: str,
        port: int,
        batch_size: int = 10,
        timeout: float = 30.0,
        threads: int = 1,
    ):
        self.transport = transport
        self.port = port
        self.timeout = timeout
        self.threads = threads
        self.batches = [spans[i : i + batch_size] for i in range(0, len(spans), batch_size)]
        self.sent: set[int] = set()
        self.acked: set[int] = set()
        self.failed: set[int] = set()
        self.batches_acked = 0
        self.batches_failed = 0
        self._next = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._exporters: list[Any] = []

    def _exporter(self) -> Any:
        if self.transport == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

            return GrpcExporter(
                endpoint=f"127.0.0.1:{self.port}",
                insecure=True,
                timeout=self.timeout,
                channel_options=cast(Any, (("grpc.enable_http_proxy", 0),)),  # grpc takes ints; the stub says str
            )
        import requests
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        session = requests.Session()
        session.trust_env = False  # 127.0.0.1 only: never through a proxy from the environment
        return OTLPSpanExporter(
            endpoint=f"http://127.0.0.1:{self.port}/v1/traces", timeout=self.timeout, session=session
        )

    def _work(self) -> None:
        from opentelemetry.sdk.trace.export import SpanExportResult

        exporter = self._exporter()
        with self._cond:
            self._exporters.append(exporter)
        try:
            while not self._stop.is_set():
                with self._cond:
                    if self._next >= len(self.batches):
                        return
                    batch = self.batches[self._next]
                    self._next += 1
                    seqs = [
                        seq for span in batch if (seq := seq_of(span.attributes["gen_ai.conversation.id"])) is not None
                    ]
                    self.sent.update(seqs)
                result = exporter.export(batch)
                with self._cond:
                    if result == SpanExportResult.SUCCESS:
                        self.acked.update(seqs)
                        self.batches_acked += 1
                    else:
                        self.failed.update(seqs)
                        self.batches_failed += 1
                    self._cond.notify_all()
        finally:
            try:
                exporter.shutdown()
            except Exception:
                pass
            with self._cond:
                self._cond.notify_all()

    def start(self) -> LoadClient:
        for i in range(self.threads):
            thread = threading.Thread(target=self._work, name=f"load-client-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def done(self) -> bool:
        return all(not t.is_alive() for t in self._threads)

    def snapshot(self) -> tuple[set[int], set[int]]:
        """(sent, acknowledged) seq ids so far, copied under the lock the client threads update them with."""
        with self._cond:
            return set(self.sent), set(self.acked)

    def join(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return self.done()

    def wait_acked_batches(self, count: int, timeout: float) -> bool:
        with self._cond:
            return (
                self._cond.wait_for(lambda: self.batches_acked >= count or self.done(), timeout)
                and self.batches_acked >= count
            )

    def abort(self) -> None:
        """Stop taking batches and cut short any retry wait (used on failure paths only)."""
        self._stop.set()
        with self._cond:
            exporters = list(self._exporters)
        for exporter in exporters:
            try:
                exporter.shutdown()
            except Exception:
                pass
        self.join(15)


# --- results ------------------------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: str
    sent: int = 0
    acknowledged: int = 0
    delivered: int = 0
    duplicated: int = 0
    lost: int = 0
    seconds: float = 0.0
    command: str = ""
    relay_command: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    workdir: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors and self.lost == 0

    def row(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in ("scenario", "sent", "acknowledged", "delivered", "duplicated", "lost", "seconds")
        }


def render_table(results: list[Result]) -> str:
    heads = ["scenario", "sent", "acknowledged", "delivered", "duplicated", "lost", "seconds"]
    rows = [
        [r.scenario, r.sent, r.acknowledged, r.delivered, r.duplicated, r.lost, f"{r.seconds:.1f}"] for r in results
    ]
    widths = [max(len(str(h)), *(len(str(row[i])) for row in rows)) for i, h in enumerate(heads)]

    def line(cells: list[Any]) -> str:
        padded = (str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
        return "| " + " | ".join(padded) + " |"

    out = [line(heads), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(row) for row in rows)
    return "\n".join(out)


class Harness:
    """Ports, stand-in, relay, clients and the result of one scenario; cleans everything up on exit."""

    def __init__(self, scenario: str, spans: int, workdir: Path | None, sync: str = "full", **datadog: Any):
        self.started = time.monotonic()
        self.own_dir = workdir is None
        self.workdir = (
            Path(tempfile.mkdtemp(prefix=f"glassbox-reliability-{scenario}-")) if workdir is None else Path(workdir)
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        grpc_port, http_port, admin_port, standin_port = free_ports(4)
        self.ports = {"grpc": grpc_port, "http": http_port, "admin": admin_port, "standin": standin_port}
        self.standin = DatadogStandIn(standin_port)
        self.relay = RelayProcess(
            self.workdir,
            relay_config(self.ports, self.standin.url, self.workdir / "storage", sync, **datadog),
            admin_port,
        )
        self.clients: list[LoadClient] = []
        self.sdk_log = SdkLog()
        self.result = Result(
            scenario,
            command=f"{sys.executable} -m bench.reliability --scenario {scenario} --spans {spans}",
            relay_command=" ".join(self.relay.command),
            workdir=str(self.workdir),
        )

    def client(self, spans: list[Any], transport: str = "http", **kwargs: Any) -> LoadClient:
        port = self.ports["grpc"] if transport == "grpc" else self.ports["http"]
        client = LoadClient(spans, transport=transport, port=port, **kwargs)
        self.clients.append(client)
        return client

    def check(self, condition: bool, message: str) -> bool:
        if not condition:
            self.result.errors.append(message)
        return condition

    def acked(self) -> set[int]:
        return set().union(*(c.snapshot()[1] for c in self.clients))

    def wait_delivered(self, timeout: float = 60.0, what: str = "every acknowledged span delivered") -> bool:
        """Until every acknowledged span is delivered and the relay's queue is empty (so no resend is pending)."""
        ok = wait_until(
            lambda: self.acked() <= set(self.standin.delivered()) and self.relay.queue_empty(), timeout, interval=0.1
        )
        return self.check(
            ok,
            f"timed out after {timeout}s waiting for {what} "
            f"(missing {len(self.acked() - set(self.standin.delivered()))}, "
            f"queue size {self.relay.metric('glassbox_exporter_queue_size', exporter='datadog')})",
        )

    def stop_relay(self) -> None:
        if self.relay.alive():
            outcome = self.relay.terminate()
            self.check(not outcome.get("hung"), f"relay did not exit within 40s of SIGTERM (killed): {outcome}")
            self.check(outcome.get("code") == 0, f"relay exited with {outcome.get('code')} after SIGTERM")

    def __enter__(self) -> Harness:
        self.sdk_log.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc is not None:
                self.result.errors.append(f"{type(exc).__name__}: {exc}")
            for client in self.clients:
                if not client.done():
                    client.abort()
            self.stop_relay()
            self.standin.stop()
        finally:
            self.sdk_log.__exit__()
        r = self.result
        delivered = self.standin.delivered()
        acked = self.acked()
        r.sent = len(set().union(*(c.snapshot()[0] for c in self.clients)))
        r.acknowledged = len(acked)
        r.delivered = len(delivered)
        r.duplicated = sum(n - 1 for n in delivered.values())
        r.lost = len(acked - set(delivered))
        r.seconds = round(time.monotonic() - self.started, 1)
        r.details.setdefault("relay_exits", self.relay.exits)
        r.details.setdefault("client_failed_batches", sum(c.batches_failed for c in self.clients))
        r.details.setdefault("client_sdk_retries", self.sdk_log.retries)
        r.details["relay_log_problems"] = self.relay.problems()
        if r.lost:
            r.details["lost_seqs"] = sorted(acked - set(delivered))[:50]
        if r.errors or r.lost:
            r.details["relay_logs_tail"] = self.relay.all_logs()[-6000:]
        elif self.own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return None  # errors are reported in the result, not raised


# --- the scenarios ------------------------------------------------------------------------------------------


def outage(spans: int = 500, workdir: Path | None = None) -> Result:
    """The stand-in accepts the first tenth, then is down (connections refused) while the rest is sent, then up."""
    with Harness("outage", spans, workdir) as h:
        made = make_spans(spans)
        first = max(1, spans // 10)
        h.standin.start()
        h.relay.start()
        warmup = h.client(made[:first]).start()
        h.check(warmup.join(60), "warm-up client did not finish within 60s")
        h.check(wait_until(lambda: warmup.acked <= set(h.standin.delivered()), 30), "warm-up spans not delivered")
        h.standin.stop()
        retries_before = h.relay.metric("glassbox_exporter_retries_total", exporter="datadog") or 0
        load = h.client(made[first:]).start()
        h.check(load.join(60), "client did not finish within 60s while the stand-in was down")
        h.result.details["acknowledged_while_down"] = len(load.acked)
        # The relay must have met the outage: at least one failed attempt since the stand-in went down.
        h.check(
            wait_until(
                lambda: (h.relay.metric("glassbox_exporter_retries_total", exporter="datadog") or 0) > retries_before,
                30,
            ),
            "the relay never retried while the stand-in was down",
        )
        h.result.details["delivered_while_down"] = len(set(h.standin.delivered()) & load.acked)
        h.standin.start()
        up = time.monotonic()
        h.wait_delivered(60)
        h.result.details["seconds_to_deliver_after_up"] = round(time.monotonic() - up, 2)
        h.result.details["relay_retries"] = h.relay.metric("glassbox_exporter_retries_total", exporter="datadog")
        h.stop_relay()
    return h.result


def crash(
    spans: int = 500,
    workdir: Path | None = None,
    kill_at: tuple[float, ...] = (0.3, 0.7),
    held_every: int = 4,
    sync: str = "full",
    name: str = "crash",
) -> Result:
    """``kill -9`` mid-load, once per fraction in ``kill_at`` (after that share of the client's batches was
    acknowledged), each time restarting on the same storage while the client keeps exporting.

    The second kill lands while the restarted relay is re-sending what the first one left. Every
    ``held_every``-th span waits for log content, so journaled requests are on disk when a kill lands; the
    stand-in answers a little late, so POSTs to it are in flight too.
    """
    with Harness(name, spans, workdir, sync=sync, batch_max_items=50) as h:
        made = make_spans(spans, held_every=held_every)
        h.standin.server.set_default(202, {"Content-Type": "application/json"}, b"{}", delay=0.02)
        h.standin.start()
        h.relay.start()
        client = h.client(made, batch_size=10, threads=2, timeout=30).start()
        load_started = time.monotonic()
        kills = []
        for fraction in kill_at:
            target = max(1, int(len(client.batches) * fraction))
            if not h.check(
                client.wait_acked_batches(target, 60), f"client did not get {target} batches acknowledged within 60s"
            ):
                break
            h.relay.kill()
            acked, delivered = client.snapshot()[1], set(h.standin.delivered())
            kill = {
                "after_seconds": round(time.monotonic() - load_started, 2),
                "acknowledged": len(acked),
                "acknowledged_not_yet_delivered": len(acked - delivered),
                "on_disk": h.relay.table_counts(),
            }
            h.relay.start()
            replayed = re.search(r"replayed (\d+) journaled request", h.relay.log())
            kill["journal_replayed_requests"] = int(replayed.group(1)) if replayed else 0
            kills.append(kill)
        h.result.details["kills"] = kills
        h.check(client.join(90), "client did not finish within 90s after the restarts")
        h.wait_delivered(60)
        h.stop_relay()
        twice = sorted(seq for seq, n in h.standin.delivered().items() if n > 1)
        held = sum(1 for seq in twice if held_every and seq % held_every == 0)
        h.result.details["duplicated_spans_held_for_join"] = held
        h.result.details["duplicated_spans_ready_at_intake"] = len(twice) - held
    return h.result


def crash_sync_normal(spans: int = 500, workdir: Path | None = None) -> Result:
    return crash(spans, workdir, sync="normal", name="crash-sync-normal")


def throttling(spans: int = 300, workdir: Path | None = None, retry_after: int = 1) -> Result:
    """429 + Retry-After, then 503s, then 400s: retried, retried, dead-lettered; then replayed once accepted."""
    with Harness(
        "throttling", spans, workdir, batch_max_items=500, flush_interval=0.3, retry_initial_interval=0.2
    ) as h:
        made = make_spans(spans)
        script = [
            (429, {"Retry-After": str(retry_after)}, b'{"errors":["rate limited"]}'),
            (503, {}, b'{"errors":["unavailable"]}'),
            (503, {}, b'{"errors":["unavailable"]}'),
        ]
        h.standin.server.respond_with(script)
        h.standin.server.set_default(400, {"Content-Type": "application/json"}, b'{"errors":["bad request"]}')
        h.standin.start()
        h.relay.start()
        client = h.client(made, batch_size=50).start()
        h.check(client.join(60), "client did not finish within 60s")
        acked = len(client.acked)
        dead = lambda: h.relay.metric("glassbox_exporter_dead_letters_total", exporter="datadog") or 0  # noqa: E731
        h.check(wait_until(lambda: dead() >= acked, 60), f"only {dead()} of {acked} spans dead-lettered in 60s")
        statuses = h.standin.statuses()
        posts = list(h.standin.posts)
        h.result.details["stand_in_statuses"] = _runs(statuses)
        h.check(
            statuses[:3] == [429, 503, 503] and set(statuses[3:]) == {400},
            f"unexpected answer sequence at the stand-in: {_runs(statuses)}",
        )
        if len(posts) >= 2:
            gap = posts[1][0] - posts[0][0]
            h.result.details["seconds_between_429_and_retry"] = round(gap, 3)
            h.check(gap >= retry_after * 0.95, f"retried {gap:.2f}s after a 429 with Retry-After: {retry_after}")
        # The first batch went 429 → 503 → 503 → 400: the same events each time (retried, not split or lost).
        h.result.details["events_per_post"] = [n for _, _, n in posts[:6]]
        listing = h.relay.cli("deadletter", "list", "-n", str(spans + 100))
        letters = [line for line in listing.stdout.splitlines() if re.match(r"^\s*\d+\s", line)]
        h.result.details["deadletter_list_rc"] = listing.returncode
        h.result.details["dead_letters_listed"] = len(letters)
        h.result.details["dead_letters_http_400"] = sum(" http_400: " in line for line in letters)
        h.result.details["deadletter_list_head"] = listing.stdout.splitlines()[:3]
        h.check(
            listing.returncode == 0 and len(letters) == acked and all(" http_400: " in letter for letter in letters),
            f"`glassbox deadletter list` shows {len(letters)} letters (want {acked}, all http_400): "
            f"{listing.stdout[:500]}{listing.stderr[:500]}",
        )
        h.check(not h.standin.delivered(), "the stand-in accepted something while answering 400")
        # The intake is fixed: replay the dead letters into the running relay's queue.
        h.standin.server.set_default(202, {"Content-Type": "application/json"}, b"{}")
        replay = h.relay.cli("deadletter", "replay")
        h.result.details["deadletter_replay_output"] = replay.stdout.strip() or replay.stderr.strip()
        h.check(
            replay.returncode == 0 and f"moved {acked} dead letter" in replay.stdout,
            f"`glassbox deadletter replay` said: {replay.stdout}{replay.stderr}",
        )
        h.wait_delivered(60, "the replayed dead letters delivered")
        after = h.relay.cli("deadletter", "list")
        h.check("no dead letters" in after.stdout, f"dead letters left after the replay: {after.stdout[:300]}")
        h.stop_relay()
    return h.result


def full_queue(spans: int = 300, workdir: Path | None = None, transport: str = "http") -> Result:
    """A tiny queue and an intake answering 503: the relay refuses (429 / UNAVAILABLE); the OTel SDK exporter
    retries; once the intake accepts again and the queue drains, the retries succeed."""
    name = f"full-queue-{transport}"
    with Harness(name, spans, workdir, queue_max_items=100, batch_max_items=50) as h:
        made = make_spans(spans)
        h.standin.server.set_default(503, {}, b'{"errors":["unavailable"]}')
        h.standin.start()
        h.relay.start()
        client = h.client(made, transport=transport, batch_size=20, timeout=60).start()

        def refused() -> float:
            return (
                h.relay.metric("glassbox_receiver_refused_requests_total", transport=transport, reason="queue_full")
                or 0
            )

        h.check(wait_until(lambda: refused() >= 1, 60), "the relay never refused a request with its queue full")
        # Refused at least once while full; the SDK exporter is now in its retry wait. Let the intake recover.
        h.result.details["acknowledged_before_recovery"] = len(client.acked)
        h.standin.server.set_default(202, {"Content-Type": "application/json"}, b"{}")
        h.check(client.join(90), "client did not finish within 90s")
        h.result.details["relay_refused_requests"] = refused()
        h.result.details["client_failed_batches"] = client.batches_failed
        h.check(
            client.batches_failed == 0,
            f"{client.batches_failed} batch(es) failed for good at the client "
            f"(the SDK gave up retrying): {h.sdk_log.messages[-3:]}",
        )
        h.check(h.sdk_log.retries >= 1, "the OTel SDK exporter never logged a retry")
        h.result.details["client_sdk_retry_log"] = [m for m in h.sdk_log.messages if "Transient error" in m][:3]
        h.wait_delivered(60)
        h.stop_relay()
    return h.result


def full_queue_http(spans: int = 300, workdir: Path | None = None) -> Result:
    return full_queue(spans, workdir, "http")


def full_queue_grpc(spans: int = 300, workdir: Path | None = None) -> Result:
    return full_queue(spans, workdir, "grpc")


def shutdown(
    spans: int = 500, workdir: Path | None = None, intake_down: bool = False, term_after: float = 0.4
) -> Result:
    """SIGTERM under load. With the intake up the relay drains before it exits; with it answering 503
    (``intake_down``) the drain times out and the rest stays on disk — delivered after the restart either way."""
    name = "shutdown-on-disk" if intake_down else "shutdown-drain"
    with Harness(name, spans, workdir, batch_max_items=50) as h:
        made = make_spans(spans, held_every=4)
        h.standin.start()
        h.relay.start()
        client = h.client(made, batch_size=10, threads=2, timeout=40).start()
        target = max(1, int(len(client.batches) * term_after))
        h.check(client.wait_acked_batches(target, 60), f"client did not get {target} batches acknowledged in 60s")
        if intake_down:
            h.standin.server.set_default(503, {}, b'{"errors":["unavailable"]}')
        outcome = h.relay.terminate()
        acked_at_exit = client.snapshot()[1]
        delivered_at_exit = set(h.standin.delivered())
        h.result.details["sigterm_exit"] = outcome
        h.check(not outcome.get("hung"), f"relay did not exit within 40s of SIGTERM: {outcome}")
        h.check(outcome.get("code") == 0, f"relay exited with {outcome.get('code')} after SIGTERM")
        h.result.details["acknowledged_at_exit"] = len(acked_at_exit)
        h.result.details["undelivered_at_exit"] = len(acked_at_exit - delivered_at_exit)
        left = re.search(r"(\d+) item\(s\) left on disk", h.relay.log())
        h.result.details["left_on_disk_logged"] = int(left.group(1)) if left else 0
        if not intake_down:
            h.check(
                acked_at_exit <= delivered_at_exit,
                f"{len(acked_at_exit - delivered_at_exit)} acknowledged span(s) not drained before exit "
                f"with the intake up",
            )
        else:
            h.check(h.result.details["left_on_disk_logged"] > 0, "the relay did not log what it left on disk")
            h.standin.server.set_default(202, {"Content-Type": "application/json"}, b"{}")
        h.relay.start()
        h.check(client.join(90), "client did not finish within 90s after the restart")
        h.wait_delivered(60)
        h.stop_relay()
    return h.result


def shutdown_drain(spans: int = 500, workdir: Path | None = None) -> Result:
    return shutdown(spans, workdir, intake_down=False)


def shutdown_on_disk(spans: int = 500, workdir: Path | None = None) -> Result:
    return shutdown(spans, workdir, intake_down=True)


def _runs(values: list[int]) -> list[str]:
    """[429, 503, 503, 400, 400] → ['429', '503×2', '400×2']"""
    out: list[str] = []
    for value in values:
        if out and out[-1].split("×")[0] == str(value):
            head, _, count = out[-1].partition("×")
            out[-1] = f"{head}×{int(count or 1) + 1}"
        else:
            out.append(str(value))
    return out


SCENARIOS: dict[str, Callable[..., Result]] = {
    "outage": outage,
    "crash": crash,
    "crash-sync-normal": crash_sync_normal,
    "throttling": throttling,
    "full-queue-http": full_queue_http,
    "full-queue-grpc": full_queue_grpc,
    "shutdown-drain": shutdown_drain,
    "shutdown-on-disk": shutdown_on_disk,
}


def run(names: list[str] | None = None, spans: int = 1000) -> list[Result]:
    """Run the named scenarios (all by default) one after the other; returns their results."""
    return [SCENARIOS[name](spans) for name in names or list(SCENARIOS)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability", description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=1000, help="spans per scenario (default 1000)")
    parser.add_argument(
        "--scenario", action="append", choices=list(SCENARIOS), help="run only this scenario (repeatable; default: all)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print every scenario's details")
    args = parser.parse_args(argv)
    for var in [k for k in os.environ if k.startswith(STRIPPED_ENV)]:
        os.environ.pop(var)  # the SDK exporters in this process read OTEL_* too
    results = []
    for name in args.scenario or list(SCENARIOS):
        print(f"running {name} ({args.spans} spans)...", file=sys.stderr, flush=True)
        results.append(SCENARIOS[name](args.spans))
    print(render_table(results))
    for r in results:
        if args.verbose or not r.ok:
            print(f"\n{r.scenario}: {'ok' if r.ok else 'FAILED'}  (reproduce: {r.command})")
            print(f"  relay: {r.relay_command}")
            for error in r.errors:
                print(f"  error: {error}")
            for key, value in r.details.items():
                if key != "relay_logs_tail":
                    print(f"  {key}: {value}")
            if not r.ok:
                print(f"  workdir kept: {r.workdir}\n  relay log tail:\n{r.details.get('relay_logs_tail', '')}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
