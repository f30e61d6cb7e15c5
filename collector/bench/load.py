"""The load: client processes (forked, so the pool of pre-encoded requests is shared, not copied) send OTLP
requests over HTTP or gRPC, paced to ``rate`` spans/s or as fast as the relay acknowledges.

The requests form one sequence (``k`` = 0, 1, 2, ...: pool request ``k % len(pool)``, round ``k // len(pool)``);
client ``c`` of ``n`` sends every ``k`` with ``k % n == c``, each stamped with its client and round so ids stay
unique when the pool repeats. Each client reports when it sent each ``k`` (the attempt the relay accepted).
"""

from __future__ import annotations

import http.client
import multiprocessing
import multiprocessing.connection
import time
from dataclasses import dataclass
from itertools import accumulate

from glassbox.collector.bench.otlp import MAX_ROUNDS, PoolRequest, stamp

GRPC_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
GIVE_UP_AFTER = 60.0  # seconds of refusals (429/503, UNAVAILABLE) in a row before a client gives up


class LoadError(Exception):
    """A client could not deliver its requests (the relay refused them for good, or went away)."""


@dataclass(frozen=True)
class Plan:
    transport: str  # http | grpc
    clients: int
    pool: list[PoolRequest]
    duration: float
    rate: float | None  # spans/s over all clients; None: as fast as acknowledged, for `duration` seconds

    def requests_for_rate(self) -> int:
        """How many requests carry ``rate * duration`` spans (at least one)."""
        assert self.rate is not None
        wanted, total, k = self.rate * self.duration, 0, 0
        while total < wanted:
            total += len(self.pool[k % len(self.pool)].seqs)
            k += 1
        return max(k, 1)


class HttpSender:
    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def send(self, body: bytes) -> str | None:
        """None when accepted; the reason when refused for now (retry); raises when refused for good."""
        self.connection.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
        response = self.connection.getresponse()
        text = response.read()
        if response.status == 200:
            return None
        if response.status in (429, 503):
            return f"HTTP {response.status}"
        raise LoadError(f"the relay refused a request: HTTP {response.status} {text[:300]!r}")


class GrpcSender:
    def __init__(self, port: int) -> None:
        import grpc  # only in the client process: gRPC must not be running in a process that forks

        self.grpc = grpc
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.export = self.channel.unary_unary(GRPC_METHOD)  # bytes in, bytes out: the request is pre-encoded

    def send(self, body: bytes) -> str | None:
        try:
            self.export(body, timeout=60)
        except self.grpc.RpcError as exc:
            code = exc.code()
            if code in (self.grpc.StatusCode.UNAVAILABLE, self.grpc.StatusCode.RESOURCE_EXHAUSTED):
                return code.name
            raise LoadError(f"the relay refused a request: {code.name} {exc.details()}") from None
        return None


def _client(plan: Plan, client: int, conn: multiprocessing.connection.Connection) -> None:
    try:
        port, start_at = conn.recv()  # the relay's port is known only after the clients were forked
        sender = GrpcSender(port) if plan.transport == "grpc" else HttpSender(port)
        size = len(plan.pool)
        prefix = [0, *accumulate(len(r.seqs) for r in plan.pool)]
        last = plan.requests_for_rate() if plan.rate else None
        sent: list[tuple[int, float]] = []
        spans = 0
        k = client
        while True:
            if last is not None:
                if k >= last:
                    break
                due = start_at + ((k // size) * prefix[-1] + prefix[k % size]) / plan.rate  # type: ignore[operator]
                if due > time.monotonic():
                    time.sleep(due - time.monotonic())  # pacing the load, not waiting for a result
            elif time.monotonic() >= start_at + plan.duration:
                break
            round_, request = k // size, plan.pool[k % size]
            if round_ > MAX_ROUNDS:
                break
            body = stamp(request.body, client, round_)
            refused_since = None
            while True:
                at = time.monotonic()
                refusal = sender.send(body)
                if refusal is None:
                    break
                refused_since = refused_since or at
                if time.monotonic() - refused_since > GIVE_UP_AFTER:
                    raise LoadError(f"the relay refused requests for {GIVE_UP_AFTER:.0f} s in a row ({refusal})")
                time.sleep(0.05)  # backing off a refusal, as an OTLP exporter does
            sent.append((k, at))
            spans += len(request.seqs)
            k += plan.clients
        conn.send(("ok", sent, spans))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which prints it
        conn.send(("error", f"{type(exc).__name__}: {exc}" if not isinstance(exc, LoadError) else str(exc), 0))


class Load:
    """Client processes forked before the parent starts any thread; ``go`` starts them together."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        context = multiprocessing.get_context("fork")
        self.pipes: list[multiprocessing.connection.Connection] = []
        self.processes = []
        for client in range(plan.clients):
            parent, child = context.Pipe()
            process = context.Process(target=_client, args=(plan, client, child), daemon=True)
            process.start()
            child.close()
            self.pipes.append(parent)
            self.processes.append(process)

    def go(self, port: int, start_at: float) -> None:
        for pipe in self.pipes:
            pipe.send((port, start_at))

    def finished(self) -> bool:
        return all(pipe.poll() for pipe in self.pipes)

    def results(self) -> tuple[dict[int, float], int]:
        """(send time per sequence index ``k``, spans sent) once ``finished``; raises the first client error."""
        sent_at: dict[int, float] = {}
        spans = 0
        for pipe in self.pipes:
            status, sent, count = pipe.recv()
            if status == "error":
                raise LoadError(sent)
            sent_at.update(sent)
            spans += count
        return sent_at, spans

    def stop(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join(5)
