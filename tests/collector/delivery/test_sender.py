"""The sender on its own: a real ``QueueStore`` on disk, real ``Telemetry``, and either the real ``OtlpExporter``
posting to a capture server on 127.0.0.1, or ``ScriptedExporter`` (below) where a test needs an exporter whose
reports it controls to the index (including wrong reports, as a buggy third-party exporter could make)."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections import deque
from collections.abc import Collection
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from glassbox.collector import telemetry as T
from glassbox.collector.delivery import deadletter
from glassbox.collector.delivery.config import SendingConfig
from glassbox.collector.delivery.sender import Sender
from glassbox.collector.delivery.store import Item, QueueStore, Write
from glassbox.collector.errors import DeliveryError, PermanentError, RetryableError
from glassbox.collector.exporters.http import retry_after_seconds
from glassbox.collector.exporters.otlp.config import OtlpExporterConfig
from glassbox.collector.exporters.otlp.exporter import OtlpExporter
from glassbox.processors.model import Batch
from tests.support.capture_server import CaptureServer

FAST = {"flush_interval": 0.02, "retry_initial_interval": 0.01, "retry_max_interval": 0.05}


# --- a scripted exporter -------------------------------------------------------------------------------------


class ScriptedExporter:
    """An exporter (the ``Exporter`` protocol: render/send/start/shutdown) in front of an imaginary destination
    whose answers the test scripts, so a test can make it report any indices, right or wrong.

    Each ``send`` takes the next step of the script, ``(delivered, error)``: ``delivered`` are the indices of the
    given items the destination really took (``None``: all of them; out-of-range ones are ignored) and ``error``
    is raised after that (``None``: the send succeeds). When the script is used up, ``then`` is the step for
    every further send (by default: success). ``calls`` records the payloads of each send, ``delivered`` every
    payload the destination took, in order."""

    def __init__(
        self,
        script: list[tuple[Collection[int] | None, Exception | None]] = (),
        then: tuple[Collection[int] | None, Exception | None] = (None, None),
    ):
        self.script = deque(script)
        self.then = then
        self.calls: list[list[bytes]] = []
        self.delivered: list[bytes] = []
        self.started = self.stopped = 0

    def render(self, batch: Batch) -> list[Item]:
        return [("span", span.span_id.encode()) for span in batch.spans]

    async def send(self, items: list[Item]) -> None:
        self.calls.append([payload for _, payload in items])
        delivered, error = self.script.popleft() if self.script else self.then
        taken = range(len(items)) if delivered is None else [i for i in delivered if 0 <= i < len(items)]
        self.delivered.extend(items[i][1] for i in taken)
        if error is not None:
            raise error.with_traceback(None)  # the same instance may be raised again: no growing traceback

    async def start(self) -> None:
        self.started += 1

    async def shutdown(self) -> None:
        self.stopped += 1


# --- helpers -------------------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path):
    queue = QueueStore(tmp_path / "queue.db")
    queue.open()
    yield queue
    queue.close()


@pytest.fixture
def capture():
    with CaptureServer() as server:
        yield server


def sending(**settings) -> SendingConfig:
    return SendingConfig.model_validate({**FAST, **settings})


def otlp_sender(name: str, capture: CaptureServer, store: QueueStore, telemetry: T.Telemetry, **settings) -> Sender:
    config = OtlpExporterConfig.model_validate({"endpoint": capture.url, "compression": "none", **FAST, **settings})
    return Sender(name, OtlpExporter(config), config, telemetry, store)


async def enqueue(store: QueueStore, sender: Sender, items: list[Item]) -> None:
    await store.commit(Write(enqueue={sender.name: items}))
    sender.notify(len(items))


def traces_item(span_id: int) -> Item:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
    span.span_id = span_id.to_bytes(8, "big")
    span.name = f"span-{span_id}"
    return "traces", request.SerializeToString()


def logs_item(body: str) -> Item:
    request = ExportLogsServiceRequest()
    request.resource_logs.add().scope_logs.add().log_records.add().body.string_value = body
    return "logs", request.SerializeToString()


def metrics_item(name: str) -> Item:
    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = name
    metric.gauge.data_points.add().as_int = 1
    return "metrics", request.SerializeToString()


def letters(tmp_path: Path) -> list[dict]:
    """Dead letters oldest first, with their payloads."""
    rows = deadletter.list_letters(tmp_path / "queue.db", limit=1000)
    return [deadletter.show_letter(tmp_path / "queue.db", row["id"]) for row in reversed(rows)]


async def wait_until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def queued_payloads(store: QueueStore, name: str) -> list[bytes]:
    return [payload for _, _, payload in await store.peek(name, 0, 1000)]


# --- backoff -------------------------------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_between_half_and_full_base_and_is_capped(store):
    settings = sending(retry_initial_interval=0.1, retry_max_interval=1.0, retry_max_elapsed=300)
    sender = Sender("x", ScriptedExporter(), settings, T.Telemetry(), store)
    random.seed(20240601)
    bases = {1: 0.1, 2: 0.2, 3: 0.4, 4: 0.8, 5: 1.0, 6: 1.0, 12: 1.0, 60: 1.0}
    for attempt, base in bases.items():
        samples = [sender._backoff(attempt, None) for _ in range(400)]
        assert all(base / 2 <= s <= base for s in samples), (attempt, min(samples), max(samples))
        # jitter really spreads over the interval (400 uniform draws miss neither end by 10 %)
        assert min(samples) < base * 0.55 and max(samples) > base * 0.95, (attempt, min(samples), max(samples))


def test_backoff_never_overflows_for_long_retry_budgets(store):
    """A budget of a day with a 30 s cap reaches attempt 1025 after ~6 h of retries; ``2 ** 1024`` times a
    float does not fit a float. The delay must stay capped at ``retry_max_interval``."""
    settings = sending(retry_initial_interval=0.5, retry_max_interval=30.0, retry_max_elapsed=86_400)
    sender = Sender("x", ScriptedExporter(), settings, T.Telemetry(), store)
    for attempt in (1024, 1025, 1100, 5000):
        assert 15.0 <= sender._backoff(attempt, None) <= 30.0


def test_backoff_honours_retry_after_but_never_beyond_the_budget(store):
    settings = sending(retry_initial_interval=0.1, retry_max_interval=1.0, retry_max_elapsed=5.0)
    sender = Sender("x", ScriptedExporter(), settings, T.Telemetry(), store)
    random.seed(7)
    assert sender._backoff(1, 2.0) == 2.0  # longer than the backoff: the destination's word wins
    assert 0.5 <= sender._backoff(5, 0.01) <= 1.0  # shorter: the backoff still applies
    assert sender._backoff(1, 0.0) <= 0.1
    assert sender._backoff(1, 3600.0) == 5.0  # capped at retry_max_elapsed


async def test_retry_budget_is_enforced_even_after_a_thousand_attempts(store, tmp_path, caplog):
    """Retries every ~microsecond for a 1 s budget: more than 1024 attempts happen inside the budget. The batch
    must still be dead-lettered (``retries_exhausted``) once the budget is spent, not retried for ever."""
    caplog.set_level(logging.ERROR, logger="glassbox.sender")  # thousands of "retry n" warnings otherwise
    exporter = ScriptedExporter(then=([], RetryableError("busy")))
    settings = sending(retry_initial_interval=1e-6, retry_max_interval=1e-6, retry_max_elapsed=1.0)
    sender = Sender("x", exporter, settings, T.Telemetry(), store)
    await enqueue(store, sender, [("span", b"a")])
    await sender.start()
    try:
        assert await sender.flush(3.0), f"still queued after {len(exporter.calls)} attempts"
    finally:
        await sender.shutdown(0.5)
    assert [(row["payload"], row["reason"]) for row in letters(tmp_path)] == [(b"a", "retries_exhausted")]


# --- Retry-After over real HTTP -------------------------------------------------------------------------------


async def test_retry_after_in_seconds_is_honoured(capture, store):
    capture.respond_to("/v1/traces", [(429, {"Retry-After": "1"}, b"slow down")])
    capture.set_default_for("/v1/traces", 200)
    telemetry = T.Telemetry()
    sender = otlp_sender("otlp", capture, store, telemetry)
    await enqueue(store, sender, [traces_item(1)])
    await sender.start()
    assert await sender.flush(5)
    await sender.shutdown(1)
    first, second = capture.requests
    assert (first.response_status, second.response_status) == (429, 200)
    assert 0.9 <= second.received_at - first.received_at < 3.0
    assert second.body == first.body == traces_item(1)[1]
    assert telemetry.value(T.EXPORTER_RETRIES, exporter="otlp") == 1
    assert telemetry.value(T.EXPORTER_SENT_ITEMS, exporter="otlp") == 1


async def test_retry_after_as_an_http_date_is_honoured(capture, store):
    # HTTP dates have whole seconds: "now + 3 s" rounds down to at least 2 s after the first request.
    when = email.utils.formatdate(time.time() + 3, usegmt=True)
    capture.respond_to("/v1/traces", [(503, {"Retry-After": when}, b"")])
    capture.set_default_for("/v1/traces", 200)
    sender = otlp_sender("otlp", capture, store, T.Telemetry())
    await enqueue(store, sender, [traces_item(1)])
    await sender.start()
    assert await sender.flush(8)
    await sender.shutdown(1)
    first, second = capture.requests
    assert (first.response_status, second.response_status) == (503, 200)
    assert 1.5 <= second.received_at - first.received_at < 4.0


async def test_retry_after_beyond_the_budget_dead_letters_at_once(capture, store, tmp_path):
    """The destination asks for more time than ``retry_max_elapsed`` leaves: give up now (as the OTel Collector
    does) rather than wait past the budget."""
    capture.set_default_for("/v1/traces", 429, {"Retry-After": "10"})
    telemetry = T.Telemetry()
    sender = otlp_sender("otlp", capture, store, telemetry, retry_max_elapsed=1.0)
    await enqueue(store, sender, [traces_item(1)])
    await sender.start()
    assert await sender.flush(3)
    await sender.shutdown(1)
    assert [r.response_status for r in capture.requests] == [429]
    assert [(row["kind"], row["reason"]) for row in letters(tmp_path)] == [("traces", "retries_exhausted")]
    assert telemetry.value(T.EXPORTER_RETRIES, exporter="otlp") == 0


async def test_retries_stop_at_retry_max_elapsed_and_dead_letter_the_batch(capture, store, tmp_path):
    capture.set_default_for("/v1/traces", 503, {}, b"down")
    telemetry = T.Telemetry()
    sender = otlp_sender("otlp", capture, store, telemetry, retry_max_elapsed=0.3)
    items = [traces_item(1), traces_item(2), traces_item(3)]
    await enqueue(store, sender, items)
    await sender.start()
    assert await sender.flush(5)
    await sender.shutdown(1)
    posts = capture.requests
    assert len(posts) >= 2 and {r.response_status for r in posts} == {503}
    # No attempt after the budget. Attempts start before 0.3 s; the capture server's receipt times add its thread
    # scheduling (tens of ms on a loaded machine), hence the slack. A sender ignoring the budget keeps posting every
    # 0.05 s until the flush gives up after 5 s, far past it.
    assert posts[-1].received_at - posts[0].received_at <= 0.3 + 0.15
    assert all(r.body == b"".join(p for _, p in items) for r in posts)  # the whole batch each time
    dead = letters(tmp_path)
    assert [(row["payload"], row["reason"]) for row in dead] == [(p, "retries_exhausted") for _, p in items]
    assert "503" in dead[0]["error"]
    assert store.stats["otlp"].items == 0
    assert telemetry.value(T.EXPORTER_DEAD_LETTERS, exporter="otlp", reason="retries_exhausted") == 3
    assert telemetry.value(T.EXPORTER_RETRIES, exporter="otlp") == len(posts) - 1
    assert telemetry.value(T.EXPORTER_SENT_ITEMS, exporter="otlp") == 0


# --- permanent errors -------------------------------------------------------------------------------------


async def test_permanent_error_dead_letters_only_the_refused_items(capture, store, tmp_path):
    """Queue order metrics, logs, traces; the otlp exporter posts traces, then logs (400), and never got to
    metrics: traces acknowledged, logs dead-lettered, metrics sent in the next attempt."""
    capture.set_default_for("/v1/logs", 400, {}, b"no logs here")
    capture.set_default_for("/v1/traces", 200)
    capture.set_default_for("/v1/metrics", 200)
    telemetry = T.Telemetry()
    sender = otlp_sender("otlp", capture, store, telemetry)
    metrics, logs, traces = metrics_item("m"), logs_item("l"), traces_item(7)
    await enqueue(store, sender, [metrics, logs, traces])
    await sender.start()
    assert await sender.flush(5)
    await sender.shutdown(1)
    assert [(r.path, r.response_status, r.body) for r in capture.requests] == [
        ("/v1/traces", 200, traces[1]),
        ("/v1/logs", 400, logs[1]),
        ("/v1/metrics", 200, metrics[1]),
    ]
    assert [(row["kind"], row["payload"], row["reason"]) for row in letters(tmp_path)] == [
        ("logs", logs[1], "http_400")
    ]
    assert store.stats["otlp"].items == 0 and await queued_payloads(store, "otlp") == []
    assert telemetry.value(T.EXPORTER_SENT_ITEMS, exporter="otlp") == 2
    assert telemetry.value(T.EXPORTER_DEAD_LETTERS, exporter="otlp", reason="http_400") == 1
    assert telemetry.value(T.EXPORTER_RETRIES, exporter="otlp") == 0


async def test_partial_retryable_failure_resends_exactly_the_unaccepted_items(store, tmp_path):
    exporter = ScriptedExporter([([3, 1], RetryableError("half", accepted=[3, 1]))])
    sender = Sender("x", exporter, sending(), T.Telemetry(), store)
    await enqueue(store, sender, [("span", b"a"), ("eval", b"b"), ("span", b"c"), ("eval", b"d")])
    await sender.start()
    assert await sender.flush(5)
    await sender.shutdown(1)
    assert exporter.calls == [[b"a", b"b", b"c", b"d"], [b"a", b"c"]]
    assert sorted(exporter.delivered) == [b"a", b"b", b"c", b"d"]
    assert letters(tmp_path) == []


async def test_wrong_indices_never_acknowledge_an_item_the_exporter_was_not_given(store, tmp_path):
    """The exporter delivered item 0 of [a, b] but reports indices 0 (twice), 2 (c: queued, not in this batch),
    7 and -1 (b, if taken as a Python index). Only a may leave the queue; b is sent again, c in its own batch."""
    exporter = ScriptedExporter([([0], RetryableError("odd report", accepted=[0, 0, 2, 7, -1]))])
    sender = Sender("x", exporter, sending(batch_max_items=2), T.Telemetry(), store)
    await enqueue(store, sender, [("span", b"a"), ("span", b"b"), ("span", b"c")])
    await sender.start()
    assert await sender.flush(5)
    await sender.shutdown(1)
    assert exporter.calls == [[b"a", b"b"], [b"b"], [b"c"]]
    assert exporter.delivered == [b"a", b"b", b"c"]  # every acknowledged item was delivered, once
    assert letters(tmp_path) == []


async def test_wrong_indices_in_a_permanent_error_refuse_only_given_items(store, tmp_path):
    """accepted [5, -1] names nothing that was given; refused [9, 1, 1] names b (once). b is dead-lettered; a was
    neither accepted nor refused, so it is sent again; c, not in the batch, is untouched by the report."""
    exporter = ScriptedExporter([([], PermanentError("http_422", "bad b", accepted=[5, -1], refused=[9, 1, 1]))])
    sender = Sender("x", exporter, sending(batch_max_items=2), T.Telemetry(), store)
    await enqueue(store, sender, [("span", b"a"), ("span", b"b"), ("span", b"c")])
    await sender.start()
    assert await sender.flush(5)
    await sender.shutdown(1)
    assert exporter.calls == [[b"a", b"b"], [b"a"], [b"c"]]
    assert exporter.delivered == [b"a", b"c"]
    assert [(row["payload"], row["reason"]) for row in letters(tmp_path)] == [(b"b", "http_422")]


async def test_refused_none_means_every_item_not_accepted(store, tmp_path):
    exporter = ScriptedExporter([([1], PermanentError("http_400", "rest refused", accepted=[1], refused=None))])
    telemetry = T.Telemetry()
    sender = Sender("x", exporter, sending(), telemetry, store)
    await enqueue(store, sender, [("span", b"a"), ("span", b"b"), ("span", b"c")])
    await sender.start()
    assert await sender.flush(5)
    await sender.shutdown(1)
    assert exporter.calls == [[b"a", b"b", b"c"]]
    assert [row["payload"] for row in letters(tmp_path)] == [b"a", b"c"]
    assert telemetry.value(T.EXPORTER_SENT_ITEMS, exporter="x") == 1
    assert telemetry.value(T.EXPORTER_DEAD_LETTERS, exporter="x", reason="http_400") == 2


@pytest.mark.parametrize("refused", [(), (5,), None], ids=["empty", "out_of_range", "none"])
async def test_permanent_error_without_progress_does_not_loop(store, tmp_path, refused):
    exporter = ScriptedExporter(then=([], PermanentError("stuck", "refuses everything", accepted=(), refused=refused)))
    sender = Sender("x", exporter, sending(), T.Telemetry(), store)
    await enqueue(store, sender, [("span", b"a"), ("span", b"b")])
    await sender.start()
    assert await sender.flush(3)
    assert exporter.calls == [[b"a", b"b"]]  # one attempt, then the batch is refused as a whole
    await enqueue(store, sender, [("span", b"c")])  # the sender carries on with the next batch
    assert await sender.flush(3)
    await sender.shutdown(1)
    assert exporter.calls == [[b"a", b"b"], [b"c"]]
    assert [(row["payload"], row["reason"]) for row in letters(tmp_path)] == [
        (b"a", "stuck"),
        (b"b", "stuck"),
        (b"c", "stuck"),
    ]


async def test_an_exporter_crash_keeps_the_batch_queued_and_retries_it(store, tmp_path):
    """An exception that is not a ``DeliveryError`` (an exporter bug) must neither drop nor dead-letter."""
    exporter = ScriptedExporter([([], ValueError("exporter bug"))])
    sender = Sender("x", exporter, sending(), T.Telemetry(), store)
    await enqueue(store, sender, [("span", b"a")])
    await sender.start()
    assert await sender.flush(5)
    await sender.shutdown(1)
    assert exporter.calls == [[b"a"], [b"a"]]
    assert exporter.delivered == [b"a"]
    assert letters(tmp_path) == []
    assert issubclass(RetryableError, DeliveryError) and issubclass(PermanentError, DeliveryError)


# --- shutdown ------------------------------------------------------------------------------------------------


async def test_items_survive_a_shutdown_during_a_retry_wait(capture, store, tmp_path):
    """Shut down while waiting out a 30 s Retry-After: shutdown returns promptly, nothing is acknowledged or
    dead-lettered, and a sender started later on the same file delivers everything once."""
    capture.set_default_for("/v1/traces", 503, {"Retry-After": "30"}, b"down")
    sender = otlp_sender("otlp", capture, store, T.Telemetry())
    items = [traces_item(1), traces_item(2)]
    await enqueue(store, sender, items)
    await sender.start()
    await wait_until(lambda: len(capture.requests) == 1)
    started = time.monotonic()
    await sender.shutdown(0.2)
    assert time.monotonic() - started < 2.0
    assert store.stats["otlp"].items == 2
    assert letters(tmp_path) == []
    store.close()

    reopened = QueueStore(tmp_path / "queue.db")
    reopened.open()
    try:
        assert reopened.stats["otlp"].items == 2
        assert await queued_payloads(reopened, "otlp") == [p for _, p in items]
        capture.set_default_for("/v1/traces", 200)
        capture.clear()
        again = otlp_sender("otlp", capture, reopened, T.Telemetry())
        await again.start()
        assert await again.flush(5)
        await again.shutdown(1)
        assert [(r.response_status, r.body) for r in capture.requests] == [(200, b"".join(p for _, p in items))]
        assert reopened.stats["otlp"].items == 0
    finally:
        reopened.close()
        store.open()  # the fixture closes it


async def test_items_survive_a_shutdown_between_fast_retries(capture, store, tmp_path):
    capture.set_default_for("/v1/traces", 503, {}, b"down")
    sender = otlp_sender("otlp", capture, store, T.Telemetry())
    await enqueue(store, sender, [traces_item(1)])
    await sender.start()
    await wait_until(lambda: len(capture.requests) >= 3)
    await sender.shutdown(0.1)
    posts = len(capture.requests)
    assert store.stats["otlp"].items == 1
    assert await queued_payloads(store, "otlp") == [traces_item(1)[1]]
    assert letters(tmp_path) == []
    assert sender._task.done()  # no retry can follow the shutdown
    assert len(capture.requests) == posts


async def test_shutdown_without_start_and_with_an_empty_queue(store):
    exporter = ScriptedExporter()
    idle = Sender("x", exporter, sending(), T.Telemetry(), store)
    await idle.shutdown(0.1)  # never started: nothing to drain, nothing raised
    assert exporter.stopped == 0
    sender = Sender("y", exporter, sending(), T.Telemetry(), store)
    await sender.start()
    started = time.monotonic()
    await sender.shutdown(1)
    assert time.monotonic() - started < 1.0
    assert (exporter.started, exporter.stopped, exporter.calls) == (1, 1, [])


# --- Retry-After parsing -----------------------------------------------------------------------------------


def test_retry_after_seconds():
    assert retry_after_seconds("5") == 5.0
    assert retry_after_seconds(" 2.5 ") == 2.5
    assert retry_after_seconds("0") == 0.0
    assert retry_after_seconds("-3") == 0.0  # never negative
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: now
    future = retry_after_seconds(email.utils.formatdate(time.time() + 120, usegmt=True))
    assert future is not None and 118.0 <= future <= 120.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("") is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Mon, 99 Foo 2024 99:99:99 GMT") is None
