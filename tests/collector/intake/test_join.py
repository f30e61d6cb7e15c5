"""The joiner on its own: model spans and ``LogContent`` built directly, the clock passed in (no sleeping), real
``Telemetry``. Plus one end-to-end check (a real relay process, kill -9) of what the journal bookkeeping is for."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from glassbox.collector import telemetry as T
from glassbox.collector.exporters.datadog import format as F
from glassbox.collector.exporters.local.store import LocalStore
from glassbox.collector.intake import normalize
from glassbox.collector.intake.join import Joiner, JournalRef
from glassbox.collector.intake.normalize import LogContent
from glassbox.processors import model as M
from glassbox.processors.wire import set_value
from tests.support.schemas import validate_span_events

TRACE = "0af7651916cd43dd8448eb211c80319c"


def sid(n: int) -> str:
    return f"{n:016x}"


def span(
    n: int,
    parent: int | None = None,
    *,
    kind: str | None = M.LLM,
    content: bool = True,
    session: str | None = None,
    user: str | None = None,
) -> M.Span:
    """A span as normalize makes it: ``kind`` None is a plain (not GenAI) span; an LLM span with ``content``
    carries its messages (nothing to wait for), without them it expects log content."""
    s = M.Span(
        trace_id=TRACE,
        span_id=sid(n),
        parent_id=sid(parent) if parent else None,
        name=f"span-{n}",
        kind=kind,
        start_ns=1,
        duration_ns=1,
        session_id=session,
        user_id=user,
    )
    if kind == M.LLM and content:
        s.input.messages = [M.Message("user", f"question {n}")]
        s.output.messages = [M.Message("assistant", f"answer {n}")]
    return s


def key(n: int) -> tuple[str, str]:
    return TRACE, sid(n)


def output_content(n: int, **extra) -> LogContent:
    return LogContent(
        inputs=[M.Message("user", f"logged question {n}")],
        outputs=[M.Message("assistant", f"logged answer {n}")],
        complete=True,
        **extra,
    )


def evaluation(label: str = "relevance") -> M.Evaluation:
    return M.Evaluation(label=label, metric_type="score", value=0.75)


def make(join_timeout: float = 30.0, max_pending: int = 100) -> tuple[Joiner, T.Telemetry]:
    telemetry = T.Telemetry()
    return Joiner(telemetry, join_timeout=join_timeout, max_pending=max_pending), telemetry


def ids(spans: list[M.Span]) -> list[str]:
    return [s.span_id for s in spans]


# --- content in log records ----------------------------------------------------------------------------------


def test_a_span_without_content_waits_and_is_released_when_its_output_arrives():
    joiner, telemetry = make()
    ref = JournalRef()
    waiting = span(1, content=False)
    assert joiner.admit([waiting], ref) == []
    assert joiner.pending_count == 1
    assert (ref.held, ref.journaled, ref.spans, ref.done) == (1, True, [waiting], False)

    inputs_only = JournalRef()
    released, detached = joiner.join_logs({key(1): LogContent(inputs=[M.Message("user", "q")])}, inputs_only)
    assert (released, detached) == ([], [])  # inputs alone do not complete a call: keep waiting
    assert joiner.pending_count == 1

    logs_ref = JournalRef()
    released, detached = joiner.join_logs(
        {key(1): LogContent(outputs=[M.Message("assistant", "a")], complete=True)}, logs_ref
    )
    assert ids(released) == [sid(1)] and detached == []
    assert released[0].input.messages == [M.Message("user", "q")]  # both log requests' content, merged
    assert released[0].output.messages == [M.Message("assistant", "a")]
    assert joiner.pending_count == 0
    assert (ref.held, ref.done) == (0, True)
    assert (logs_ref.held, logs_ref.journaled) == (0, False)  # its content left with the span at once
    assert telemetry.value(T.PIPELINE_JOINED_SPANS) == 1
    assert telemetry.total(T.PIPELINE_JOIN_RELEASED) == 0


def test_content_that_arrives_first_waits_for_its_span_and_is_merged_at_admission():
    joiner, telemetry = make()
    logs_ref = JournalRef()
    content = output_content(1, evaluations=[evaluation()])
    assert joiner.join_logs({key(1): content}, logs_ref) == ([], [])
    assert (logs_ref.held, logs_ref.journaled, logs_ref.done) == (1, True, False)
    logs_ref.id = 11  # the pipeline journaled the logs request

    traces_ref = JournalRef()
    (ready,) = joiner.admit([span(1, content=False)], traces_ref)
    assert ready.input.messages == content.inputs and ready.output.messages == content.outputs
    assert ready.evaluations == [evaluation()]
    assert (traces_ref.held, traces_ref.journaled) == (0, False)  # nothing of the traces request waits
    assert (logs_ref.held, logs_ref.done) == (0, True)
    assert joiner.finished_journal == [11]  # the logs request's journal row can go
    assert telemetry.value(T.PIPELINE_JOINED_SPANS) == 1


def test_content_already_on_the_span_wins_over_log_content():
    joiner, _ = make()
    joiner.join_logs({key(1): output_content(1)}, JournalRef())
    (ready,) = joiner.admit([span(1)], JournalRef())
    assert ready.input.messages == [M.Message("user", "question 1")]
    assert ready.output.messages == [M.Message("assistant", "answer 1")]


def test_streamed_output_logged_under_a_plain_parent_goes_to_its_llm_child():
    joiner, _ = make()
    joiner.admit([span(1, kind=None)], JournalRef())  # the app's span around a streamed call
    assert joiner.admit([span(2, parent=1, content=False)], JournalRef()) == []
    released, _ = joiner.join_logs({key(1): output_content(2)}, JournalRef())
    assert ids(released) == [sid(2)]
    assert released[0].output.messages == [M.Message("assistant", "logged answer 2")]


# --- timeouts and bounds -----------------------------------------------------------------------------------


def test_expiry_releases_waiting_spans_after_the_deadline_only():
    joiner, telemetry = make(join_timeout=5.0)
    ref = JournalRef()
    before = time.monotonic()
    joiner.admit([span(1, content=False), span(2, content=False)], ref)
    after = time.monotonic()
    assert joiner.expired(before + 4.9) == ([], [])  # not yet
    assert joiner.pending_count == 2
    released, detached = joiner.expired(after + 5.0)
    assert sorted(ids(released)) == [sid(1), sid(2)] and detached == []
    assert released[0].input == M.IO() and released[0].output == M.IO()  # released without content
    assert telemetry.value(T.PIPELINE_JOIN_RELEASED, reason="timeout") == 2
    assert (ref.held, ref.done) == (0, True)
    assert joiner.pending_count == 0


def test_orphan_content_expires_and_its_evaluations_are_detached():
    joiner, telemetry = make(join_timeout=5.0)
    ref = JournalRef()
    ev = evaluation("faithfulness")
    joiner.join_logs(
        {
            key(1): output_content(1, evaluations=[ev], service="shop-bot"),
            key(2): LogContent(evaluations=[evaluation("toxicity")]),
        },
        ref,
    )
    ref.id = 3
    assert joiner.expired(time.monotonic() + 4.0) == ([], [])
    released, detached = joiner.expired(time.monotonic() + 5.1)
    assert released == []
    assert sorted((d.span_id, d.service, d.evaluation.label) for d in detached) == [
        (sid(1), "shop-bot", "faithfulness"),
        (sid(2), None, "toxicity"),
    ]
    assert all(d.trace_id == TRACE for d in detached)
    assert telemetry.value(T.PIPELINE_ORPHAN_LOG_CONTENT, reason="no_span") == 1  # only key 1 had messages
    assert (ref.held, ref.done) == (0, True) and joiner.finished_journal == [3]


def test_everything_is_released_at_shutdown_with_its_own_reason():
    joiner, telemetry = make()
    joiner.admit([span(1, content=False)], JournalRef())
    released, _ = joiner.expired(time.monotonic(), everything=True)
    assert ids(released) == [sid(1)]
    assert telemetry.value(T.PIPELINE_JOIN_RELEASED, reason="shutdown") == 1
    assert telemetry.value(T.PIPELINE_JOIN_RELEASED, reason="timeout") == 0


def test_max_pending_releases_the_oldest_waiting_span():
    joiner, telemetry = make(max_pending=2)
    refs = [JournalRef() for _ in range(3)]
    assert joiner.admit([span(1, content=False)], refs[0]) == []
    assert joiner.admit([span(2, content=False)], refs[1]) == []
    overflow = joiner.admit([span(3, content=False)], refs[2])
    assert ids(overflow) == [sid(1)]
    assert joiner.pending_count == 2
    assert telemetry.value(T.PIPELINE_JOIN_RELEASED, reason="overflow") == 1
    assert [(r.held, r.done) for r in refs] == [(0, True), (1, False), (1, False)]
    released, _ = joiner.join_logs({key(2): output_content(2), key(3): output_content(3)}, JournalRef())
    assert sorted(ids(released)) == [sid(2), sid(3)]


def test_max_pending_evicts_the_oldest_orphan_content():
    joiner, telemetry = make(max_pending=2)
    refs = [JournalRef() for _ in range(3)]
    for n, ref in enumerate(refs, start=1):
        _, detached = joiner.join_logs({key(n): output_content(n, evaluations=[evaluation(f"e{n}")])}, ref)
    assert [d.evaluation.label for d in detached] == ["e1"]  # the oldest orphan gave up waiting
    assert telemetry.value(T.PIPELINE_ORPHAN_LOG_CONTENT, reason="overflow") == 1
    assert [(r.held, r.done) for r in refs] == [(0, True), (1, False), (1, False)]


# --- parents -------------------------------------------------------------------------------------------------


def test_a_child_waits_for_its_unseen_parent_and_skips_plain_spans_to_its_genai_ancestor():
    joiner, telemetry = make()
    # agent 1 → plain HTTP span 2 → LLM call 3; the child ends (and is exported) first
    child_ref = JournalRef()
    assert joiner.admit([span(3, parent=2)], child_ref) == []
    assert (child_ref.held, child_ref.journaled) == (1, True)
    ready = joiner.admit([span(2, parent=1, kind=None)], JournalRef())
    # the plain parent is known now; its own parent (1) is not, and is assumed to be the GenAI ancestor
    assert ids(ready) == [sid(2), sid(3)]
    assert ready[1].llm_parent_id == sid(1)
    assert (child_ref.held, child_ref.done) == (0, True)

    (agent,) = joiner.admit([span(1, kind=M.AGENT)], JournalRef())
    assert agent.llm_parent_id is None  # a root
    (later,) = joiner.admit([span(4, parent=2)], JournalRef())  # another call under the same wrapper
    assert later.llm_parent_id == sid(1)  # the agent, skipping the plain span
    assert telemetry.total(T.PIPELINE_JOIN_RELEASED) == 0


def test_parent_resolution_within_one_request_and_up_to_a_plain_root():
    joiner, _ = make()
    ready = joiner.admit([span(3, parent=2), span(2, parent=1, kind=M.WORKFLOW), span(1, kind=None)], JournalRef())
    by_id = {s.span_id: s for s in ready}
    assert set(by_id) == {sid(1), sid(2), sid(3)}
    assert by_id[sid(3)].llm_parent_id == sid(2)  # nearest GenAI ancestor
    assert by_id[sid(2)].llm_parent_id is None  # only a plain span above: a root for Datadog


def test_session_and_user_ids_are_inherited_from_ancestors():
    joiner, _ = make()
    joiner.admit([span(1, kind=None, session="s-1", user="u-1")], JournalRef())
    ready = joiner.admit(
        [span(2, parent=1, kind=M.AGENT), span(3, parent=2), span(4, parent=2, session="own", user=None)], JournalRef()
    )
    by_id = {s.span_id: s for s in ready}
    assert (by_id[sid(2)].session_id, by_id[sid(2)].user_id) == ("s-1", "u-1")
    assert (by_id[sid(3)].session_id, by_id[sid(3)].user_id) == ("s-1", "u-1")  # through two levels
    assert (by_id[sid(4)].session_id, by_id[sid(4)].user_id) == ("own", "u-1")  # its own id wins


def test_an_all_zero_parent_id_means_a_root_span():
    """Some exporters write 8 zero bytes instead of leaving ``parent_span_id`` empty on a root span (the OTLP spec
    says empty; zero is never a valid span id). Read through the relay's own intake, such a span must not wait
    for a parent that cannot exist, and must reach Datadog as a root (``parent_id`` "undefined"), not "0"."""
    request = ExportTraceServiceRequest()
    otlp_span = request.resource_spans.add().scope_spans.add().spans.add()
    otlp_span.trace_id, otlp_span.span_id = bytes.fromhex(TRACE), bytes.fromhex(sid(5))
    otlp_span.parent_span_id = bytes(8)  # all zero: a root span, badly written
    otlp_span.name = "chat"
    _kv(otlp_span.attributes, {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"})
    (model_span,) = normalize.spans(request)
    model_span.input.messages = [M.Message("user", "hi")]  # complete: nothing to wait for but the parent
    model_span.output.messages = [M.Message("assistant", "hello")]
    joiner, _ = make()
    released = joiner.admit([model_span], JournalRef())
    assert ids(released) == [sid(5)], f"held, waiting for parent {model_span.parent_id}"
    (ready,) = released
    assert ready.llm_parent_id is None
    event = F.span_event(ready, ml_app="app")
    assert event["parent_id"] == F.ROOT_PARENT_ID
    validate_span_events([json.loads(F.encode_event(event))])


# --- journal references ----------------------------------------------------------------------------------------


def test_a_journaled_request_is_finished_when_its_last_held_part_is_released():
    joiner, _ = make()
    ref = JournalRef()
    assert ids(joiner.admit([span(1, content=False), span(2, content=False), span(3)], ref)) == [sid(3)]
    assert ref.held == 2 and ref.journaled and ids(ref.spans) == [sid(1), sid(2)]
    ref.id = 42  # what the pipeline does once the request is on disk
    joiner.join_logs({key(1): output_content(1)}, JournalRef())
    assert (ref.held, ref.done, joiner.finished_journal) == (1, False, [])
    joiner.join_logs({key(2): output_content(2)}, JournalRef())
    assert (ref.held, ref.done, joiner.finished_journal) == (0, True, [42])


def test_a_request_released_before_its_journal_id_is_known_is_done_without_an_id():
    """The pipeline commits the journal row after ``admit``; if everything was released meanwhile, the ref is
    done with no id yet (the pipeline then deletes the row itself)."""
    joiner, _ = make()
    ref = JournalRef()
    joiner.admit([span(1, content=False)], ref)
    joiner.join_logs({key(1): output_content(1)}, JournalRef())
    assert (ref.done, ref.id, joiner.finished_journal) == (True, None, [])


def test_log_content_for_a_span_that_keeps_waiting_is_held_by_its_request():
    """The call's content arrives complete, but the call still waits (its parent is not here yet). That content
    now exists only in memory: the logs request that carried it must count as held (and be journaled) until the
    span leaves, like content that arrives before its span does. Otherwise a crash loses acknowledged content
    (see the kill -9 test below)."""
    joiner, _ = make()
    traces_ref = JournalRef()
    assert joiner.admit([span(2, parent=1, content=False)], traces_ref) == []
    traces_ref.id = 1
    logs_ref = JournalRef()
    released, _ = joiner.join_logs({key(2): output_content(2)}, logs_ref)
    assert released == []  # still waiting for its parent
    assert logs_ref.journaled and logs_ref.held == 1
    logs_ref.id = 2
    ready = joiner.admit([span(1, kind=M.AGENT)], JournalRef())
    assert ids(ready) == [sid(1), sid(2)]
    assert ready[1].output.messages == [M.Message("assistant", "logged answer 2")]
    assert traces_ref.done and logs_ref.done
    assert sorted(joiner.finished_journal) == [1, 2]


def test_a_span_delivered_twice_while_waiting_leaves_no_journal_row_behind():
    """An OTLP client retries a request the relay had accepted (its answer was lost): the same waiting span is
    admitted again under a second journaled request. When the span leaves, both requests are finished;
    otherwise the first one's journal row stays until the next start, which replays it and sends the span
    again."""
    joiner, _ = make()
    first, retry = JournalRef(), JournalRef()
    joiner.admit([span(1, content=False)], first)
    first.id = 1
    joiner.admit([span(1, content=False)], retry)
    retry.id = 2
    assert joiner.pending_count == 1
    released, _ = joiner.join_logs({key(1): output_content(1)}, JournalRef())
    assert ids(released) == [sid(1)]
    assert first.done and retry.done
    assert sorted(joiner.finished_journal) == [1, 2]


# --- evaluations of spans that already left -------------------------------------------------------------------


def test_evaluations_for_a_span_already_sent_come_back_detached():
    joiner, telemetry = make()
    (sent,) = joiner.admit([span(1)], JournalRef())  # complete: it left at once
    ref = JournalRef()
    ev = evaluation("late-eval")
    released, detached = joiner.join_logs({key(1): LogContent(evaluations=[ev], service="shop-bot")}, ref)
    assert released == []
    assert [(d.trace_id, d.span_id, d.service, d.evaluation) for d in detached] == [(TRACE, sid(1), "shop-bot", ev)]
    assert (ref.held, ref.journaled) == (0, False)  # nothing waits
    assert telemetry.total(T.PIPELINE_ORPHAN_LOG_CONTENT) == 0  # no messages were dropped
    _, detached = joiner.join_logs({key(1): output_content(1)}, JournalRef())  # messages too late for the span
    assert detached == []
    assert telemetry.value(T.PIPELINE_ORPHAN_LOG_CONTENT, reason="span_already_sent") == 1


# --- end to end: what the bookkeeping protects --------------------------------------------------------------


def _kv(target, values: dict) -> None:
    for k, v in values.items():
        item = target.add()
        item.key = k
        set_value(item.value, v)


def start_relay(folder: Path, join_timeout: float) -> tuple[subprocess.Popen, int]:
    """The real CLI in a child process (so it can be killed with -9), local exporter, its port when ready."""
    config = folder / "relay.yaml"
    config.write_text(f"""
receivers: {{otlp: {{grpc: {{endpoint: "127.0.0.1:0"}}, http: {{endpoint: "127.0.0.1:0"}}}}}}
exporters: {{local: {{path: "{folder / "spans.db"}"}}}}
pipeline: {{exporters: [local], join_timeout: {join_timeout}}}
storage: {{directory: "{folder / "queue"}"}}
admin: {{endpoint: "127.0.0.1:0"}}
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "glassbox.collector.cli", "run", "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=folder,
    )
    for line in proc.stdout:
        if "OTLP/HTTP receiver listening" in line:
            return proc, int(line.rsplit(":", 1)[1])
    raise AssertionError(f"relay did not start: {proc.wait(10)}")


def _post(port: int, signal_name: str, body: bytes) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/{signal_name}", data=body, headers={"Content-Type": "application/x-protobuf"}
    )
    return urllib.request.urlopen(request, timeout=10).status


def test_kill_9_does_not_lose_log_content_of_a_span_waiting_for_its_parent(tmp_path: Path):
    """openai-v2 event mode: an LLM call (no content on the span) is exported before its parent (still
    running), then its log records (user message + choice) arrive and are acknowledged. The call still waits
    for its parent. kill -9, restart: the replayed call must come out with the content that was acknowledged."""
    trace_id, call, parent = bytes.fromhex(TRACE), (0x11).to_bytes(8, "big"), (0x99).to_bytes(8, "big")
    traces = ExportTraceServiceRequest()
    resource_spans = traces.resource_spans.add()
    _kv(resource_spans.resource.attributes, {"service.name": "crash-app"})
    otlp_span = resource_spans.scope_spans.add().spans.add()
    otlp_span.trace_id, otlp_span.span_id, otlp_span.parent_span_id = trace_id, call, parent
    otlp_span.name = "chat gpt-4o-mini"
    otlp_span.start_time_unix_nano = 1_700_000_000_000_000_000
    otlp_span.end_time_unix_nano = otlp_span.start_time_unix_nano + 1_000_000
    _kv(
        otlp_span.attributes,
        {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini"},
    )
    logs = ExportLogsServiceRequest()
    resource_logs = logs.resource_logs.add()
    _kv(resource_logs.resource.attributes, {"service.name": "crash-app"})
    scope_logs = resource_logs.scope_logs.add()
    for name, body in (
        ("gen_ai.user.message", {"content": "what is 2+2?"}),
        ("gen_ai.choice", {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "4"}}),
    ):
        record = scope_logs.log_records.add()
        record.trace_id, record.span_id, record.event_name = trace_id, call, name
        set_value(record.body, body)

    relay, port = start_relay(tmp_path, join_timeout=60)
    try:
        assert _post(port, "traces", traces.SerializeToString()) == 200
        assert _post(port, "logs", logs.SerializeToString()) == 200
    finally:
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)

    store = LocalStore(tmp_path / "spans.db")
    relay, port = start_relay(tmp_path, join_timeout=0.5)
    try:  # the replayed call waits for its parent again, for the (shorter) join timeout
        deadline = time.monotonic() + 10
        while not [r for r in store.recent(10) if r["kind"] == "llm"]:
            assert time.monotonic() < deadline, "the replayed call never left"
            time.sleep(0.05)  # poll interval; the deadline bounds the wait
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(20)
    (row,) = [r for r in store.recent(10) if r["kind"] == "llm"]
    meta = row["event"]["meta"]
    assert meta.get("input", {}).get("messages") == [{"role": "user", "content": "what is 2+2?"}], meta
    assert meta.get("output", {}).get("messages") == [{"role": "assistant", "content": "4"}], meta


def test_a_remembered_span_costs_at_most_340_bytes():
    """The joiner remembers up to RECENT_SPANS (200,000) spans; a busy relay holds that many within a minute. With
    one string per key (trace id / span id) an entry here is ~301 bytes; (trace, span) tuple keys took ~409."""
    import tracemalloc

    joiner, _ = make()
    count = 20_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(1, count + 1):
            one = span(n + 1, n, kind=None)
            one.trace_id = os.urandom(16).hex()  # ids as normalize makes them: a new string per span
            joiner.admit([one], JournalRef())
            del one
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    assert per_entry <= 340, per_entry
    assert joiner.pending_count == 0  # plain spans are not held: only what is remembered is counted
