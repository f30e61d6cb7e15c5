"""The LLM judge against the fake OpenAI server (judge mode) on 127.0.0.1: results arrive later through
``Context.submit`` and never delay the batch; timeouts, retries, malformed replies, sampling, the concurrency bound,
the refusal of unredacted spans, the queue bound and ``drain``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from glassbox.collector.demo.fake_openai import FakeOpenAI
from glassbox.processors import model as M
from glassbox.processors.base import Context
from glassbox.processors.evals.config import EvalsConfig
from glassbox.processors.evals.judge import PROMPT_VERSION, parse_verdict, sampled
from glassbox.processors.evals.processor import EvalsProcessor
from tests.processors.evals.spans import TRACE, llm, span_id
from tests.support.net import free_ports

OFF = {name: False for name in EvalsConfig().builtins.enabled()}
RUBRIC = "The answer addresses the customer's question."


class Submitted:
    """``Context.submit``: keeps what the judge hands in and lets a test wait for it."""

    def __init__(self) -> None:
        self.batches: list[M.Batch] = []
        self.changed = asyncio.Event()

    def __call__(self, batch: M.Batch) -> None:
        self.batches.append(batch)
        self.changed.set()

    @property
    def evaluations(self) -> list[M.DetachedEvaluation]:
        return [d for batch in self.batches for d in batch.evaluations]

    async def wait_for(self, count: int, timeout: float = 10) -> list[M.DetachedEvaluation]:
        async def enough() -> None:
            while len(self.evaluations) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(enough(), timeout)
        return self.evaluations


async def until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        await asyncio.sleep(0.005)


@pytest.fixture
def server():
    srv = FakeOpenAI.start_in_thread()
    yield srv
    srv.release_judges()
    srv.stop()


def judge_processor(
    server_url: str, submitted: Submitted, *, rubrics: dict[str, str] | None = None, **judge: Any
) -> EvalsProcessor:
    settings = {"base_url": server_url, "model": "gpt-4o-mini", "rubrics": rubrics or {"helpfulness": RUBRIC}}
    settings.update({"backoff": 0.01, **judge})
    config = EvalsConfig.model_validate({"builtins": OFF, "judge": settings})
    processor = EvalsProcessor(config, Context(submit=submitted))
    processor.start()
    return processor


def judge_requests(server: FakeOpenAI) -> list[dict]:
    return [body for path, body in server.requests if path == "/v1/chat/completions"]


async def test_a_good_verdict_is_submitted_later_joined_to_its_span(server):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted, api_key="sk-test-123")
    span = llm("Where is my order? Contact me at <EMAIL_ADDRESS>.", "fake-judge:delay=30 It ships on Friday.")
    batch = M.Batch(spans=[span])

    assert await processor.process(batch) is batch  # at once: the judge is still waiting on the server
    await until(lambda: server.judge_in_flight == 1)
    assert submitted.evaluations == [] and span.evaluations == []
    server.release_judges()
    (detached,) = await submitted.wait_for(1)

    assert (detached.trace_id, detached.span_id, detached.service) == (TRACE, span.span_id, "shop-bot")
    evaluation = detached.evaluation
    assert (evaluation.label, evaluation.metric_type, evaluation.value, evaluation.assessment) == (
        "helpfulness",
        "score",
        1.0,
        "pass",
    )
    assert evaluation.reasoning.startswith("fake judge:")
    assert evaluation.tags == {"glassbox.evaluator": "judge", "judge_model": "gpt-4o-mini"}
    assert abs(evaluation.timestamp_ms - time.time() * 1000) < 60_000
    (request,) = judge_requests(server)
    system, user = request["messages"]
    assert system["role"] == "system" and system["content"].startswith(PROMPT_VERSION + "\n")
    assert RUBRIC in system["content"] and '"score"' in system["content"]
    assert "[user] Where is my order? Contact me at <EMAIL_ADDRESS>." in user["content"]
    assert "<answer>\n[assistant] fake-judge:delay=30 It ships on Friday.\n</answer>" in user["content"]
    assert "[system] You are Nordhaven" in user["content"]
    assert (request["temperature"], request["response_format"]) == (0, {"type": "json_object"})
    counters = processor.counters
    assert counters.value("evals_judge_requests", outcome="ok") == 1
    assert counters.value("evals_evaluations", label="helpfulness", assessment="pass") == 1
    assert counters.value("evals_judge_tokens", model="gpt-4o-mini", type="input") > 100
    assert counters.value("evals_judge_tokens", model="gpt-4o-mini", type="output") > 5
    assert 0 < counters.value("evals_judge_cost_usd", model="gpt-4o-mini") < 0.001  # priced by genai-prices
    await processor.drain(5)


async def test_the_api_key_is_sent_as_a_bearer_token_and_never_in_the_body(server):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted, api_key="sk-test-123")
    await processor.process(M.Batch(spans=[llm()]))
    await submitted.wait_for(1)
    (request,) = judge_requests(server)
    assert "sk-test-123" not in json.dumps(request)
    assert "sk-test-123" not in repr(processor.config)
    await processor.drain(5)


async def test_each_rubric_is_one_request_and_a_failing_score(server):
    submitted = Submitted()
    rubrics = {"helpfulness": RUBRIC, "tone": "The answer is polite."}
    processor = judge_processor(server.base_url, submitted, rubrics=rubrics)
    await processor.process(M.Batch(spans=[llm(answer="fake-judge:score=0.2 Friday.")]))
    results = await submitted.wait_for(2)
    assert sorted((d.evaluation.label, d.evaluation.value, d.evaluation.assessment) for d in results) == [
        ("helpfulness", 0.2, "fail"),
        ("tone", 0.2, "fail"),
    ]
    assert processor.counters.value("evals_evaluations", label="tone", assessment="fail") == 1
    await processor.drain(5)


async def test_a_timeout_is_retried_then_counted(server):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted, timeout=0.2, retries=1)
    await processor.process(M.Batch(spans=[llm(answer="fake-judge:delay=30 Friday.")]))
    await until(lambda: processor.counters.value("evals_errors", label="helpfulness", reason="timeout") == 1)
    assert processor.counters.value("evals_judge_requests", outcome="timeout") == 2  # the first try and one retry
    assert submitted.evaluations == []
    await processor.drain(5)


@pytest.mark.parametrize("kind", ["not_json", "missing_score", "out_of_range", "bad_label", "no_choices"])
async def test_a_malformed_reply_is_an_evaluation_error_not_retried_never_a_crash(server, kind):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted, retries=3)
    await processor.process(M.Batch(spans=[llm(answer=f"fake-judge:malformed={kind} Friday.")]))
    await until(lambda: processor.counters.value("evals_errors", label="helpfulness", reason="malformed_reply") == 1)
    assert processor.counters.value("evals_judge_requests", outcome="malformed") == 1
    assert len(judge_requests(server)) == 1  # a malformed reply is not retried
    assert processor.counters.value("evals_judge_tokens", model="gpt-4o-mini", type="input") > 0  # still spent
    assert submitted.evaluations == []
    await processor.drain(5)


async def test_a_fenced_verdict_is_accepted(server):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted)
    await processor.process(M.Batch(spans=[llm(answer="fake-judge:malformed=fenced Friday.")]))
    (detached,) = await submitted.wait_for(1)
    assert detached.evaluation.value == 1.0
    await processor.drain(5)


async def test_server_errors_are_retried_with_backoff_client_errors_are_not(server):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted, retries=2)
    await processor.process(M.Batch(spans=[llm(answer="fake-judge:fail-first=2 Friday.")]))
    await submitted.wait_for(1)
    assert processor.counters.value("evals_judge_requests", outcome="http_error") == 2
    assert processor.counters.value("evals_judge_requests", outcome="ok") == 1
    await processor.process(M.Batch(spans=[llm(answer="fake-judge:error=400 Friday.")]))
    await until(lambda: processor.counters.value("evals_errors", label="helpfulness", reason="http_error") == 1)
    assert processor.counters.value("evals_judge_requests", outcome="http_error") == 3  # 400: one try only
    await processor.drain(5)


async def test_an_unreachable_endpoint_is_a_connection_error():
    (port,) = free_ports(1)
    submitted = Submitted()
    processor = judge_processor(f"http://127.0.0.1:{port}/v1", submitted, retries=1)
    await processor.process(M.Batch(spans=[llm()]))
    await until(lambda: processor.counters.value("evals_errors", label="helpfulness", reason="connection_error") == 1)
    assert processor.counters.value("evals_judge_requests", outcome="connection_error") == 2
    await processor.drain(5)


def test_sampling_is_deterministic_by_span_id():
    ids = [span_id(n) for n in range(1, 4001)]
    half = [i for i in ids if sampled(i, 0.5)]
    assert 0.46 < len(half) / len(ids) < 0.54
    assert half == [i for i in ids if sampled(i, 0.5)]  # the same decision every time
    assert set(i for i in ids if sampled(i, 0.1)) <= set(half)  # a lower rate keeps a subset
    assert all(sampled(i, 1.0) for i in ids) and not any(sampled(i, 0.0) for i in ids)


async def test_only_sampled_spans_are_judged(server):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted, sample_rate=0.3)
    spans = [llm(sid=span_id(n)) for n in range(5000, 5040)]
    expected = {s.span_id for s in spans if sampled(s.span_id, 0.3)}
    assert 3 <= len(expected) <= 25
    await processor.process(M.Batch(spans=spans))
    await submitted.wait_for(len(expected))
    await processor.drain(10)
    assert {d.span_id for d in submitted.evaluations} == expected
    assert processor.counters.value("evals_judge_skipped_spans", reason="sampled_out") == 40 - len(expected)


async def test_concurrency_is_bounded(server):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted, concurrency=2)
    await processor.process(M.Batch(spans=[llm(answer=f"fake-judge:delay=30 answer {i}") for i in range(6)]))
    await until(lambda: server.judge_in_flight == 2)
    assert processor.judge is not None and processor.judge.pending == 6  # four wait for a slot
    server.release_judges()
    await submitted.wait_for(6)
    assert server.judge_max_in_flight == 2
    await processor.drain(5)


async def test_unredacted_spans_are_refused(server, caplog):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted)
    await processor.process(M.Batch(spans=[llm(redaction=None), llm(redaction=None)]))
    await processor.drain(5)
    assert judge_requests(server) == [] and submitted.evaluations == []
    assert processor.counters.value("evals_judge_skipped_spans", reason="unredacted") == 2
    assert len([r for r in caplog.records if "put redaction before evals" in r.getMessage()]) == 1


async def test_spans_without_an_answer_or_redacted_fail_closed_or_already_judged_by_the_app(server):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted, rubrics={"helpfulness": RUBRIC, "tone": "Polite."})
    failed_closed = llm(redaction=M.RedactionSummary(failed_closed=1))
    app_judged = llm()
    app_judged.evaluations.append(M.Evaluation("helpfulness", "score", 0.7, "pass"))
    await processor.process(M.Batch(spans=[llm(answer=None), failed_closed, app_judged]))
    (detached,) = await submitted.wait_for(1)
    await processor.drain(5)
    assert (detached.span_id, detached.evaluation.label) == (app_judged.span_id, "tone")
    counters = processor.counters
    assert counters.value("evals_judge_skipped_spans", reason="no_answer") == 1
    assert counters.value("evals_judge_skipped_spans", reason="failed_closed") == 1
    assert counters.value("evals_superseded", label="helpfulness") == 1
    assert len(judge_requests(server)) == 1


async def test_the_queue_is_bounded(server):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted, max_pending=3)
    await processor.process(M.Batch(spans=[llm(answer=f"fake-judge:delay=30 {i}") for i in range(5)]))
    assert processor.judge is not None and processor.judge.pending == 3
    assert processor.counters.value("evals_judge_skipped_spans", reason="queue_full") == 2
    server.release_judges()
    await submitted.wait_for(3)
    await processor.drain(5)


async def test_drain_finishes_what_is_in_flight(server):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted)
    await processor.process(M.Batch(spans=[llm(answer=f"fake-judge:delay=0.3 {i}") for i in range(3)]))
    assert submitted.evaluations == []
    await processor.drain(10)
    assert len(submitted.evaluations) == 3
    assert processor.judge is not None and processor.judge.pending == 0


async def test_drain_abandons_what_does_not_finish_in_time(server):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted)
    await processor.process(M.Batch(spans=[llm(answer="fake-judge:delay=30 slow")]))
    await until(lambda: server.judge_in_flight == 1)
    started = time.monotonic()
    await processor.drain(0.2)
    assert time.monotonic() - started < 5
    assert processor.counters.value("evals_errors", label="helpfulness", reason="abandoned") == 1
    assert processor.judge is not None and processor.judge.pending == 0 and submitted.evaluations == []
    # the processor keeps working after a drain (the relay's flush drains too)
    await processor.process(M.Batch(spans=[llm(answer="quick")]))
    await submitted.wait_for(1)
    await processor.drain(5)


async def test_shutdown_cancels_what_is_left_and_refuses_new_work(server):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted)
    await processor.process(M.Batch(spans=[llm(answer="fake-judge:delay=30 slow")]))
    await until(lambda: server.judge_in_flight == 1)
    processor.shutdown()
    await until(lambda: processor.judge is not None and processor.judge.pending == 0)
    await processor.process(M.Batch(spans=[llm()]))
    assert processor.counters.value("evals_judge_skipped_spans", reason="shut_down") == 1
    assert processor.counters.value("evals_errors", label="helpfulness", reason="abandoned") == 1


async def test_a_submit_that_fails_is_counted():
    def refuse(batch: M.Batch) -> None:
        raise RuntimeError("this component was created outside a relay")

    srv = FakeOpenAI.start_in_thread()
    try:
        config = EvalsConfig.model_validate(
            {"builtins": OFF, "judge": {"base_url": srv.base_url, "model": "m", "rubrics": {"helpfulness": RUBRIC}}}
        )
        processor = EvalsProcessor(config, Context(submit=refuse))
        await processor.process(M.Batch(spans=[llm()]))
        await processor.drain(10)
        assert processor.counters.value("evals_errors", label="helpfulness", reason="submit_failed") == 1
        assert processor.counters.value("evals_judge_unpriced_replies", model="m") == 1  # "m" has no price
    finally:
        srv.stop()


@pytest.mark.parametrize(
    "content, error",
    [
        (None, "no message content"),
        ("  ", "no message content"),
        ("[1, 2]", "not a JSON object"),
        ('{"score": "0.5", "label": "pass"}', "missing or non-numeric score"),
        ('{"score": true, "label": "pass"}', "missing or non-numeric score"),
        ('{"score": -0.1, "label": "pass"}', "score out of range 0..1"),
        ('{"score": 0.5}', "label is not pass or fail"),
        ('{"score": 0.5, "label": "pass", "reasoning": 3}', "reasoning is not a string"),
    ],
)
def test_parse_verdict_refuses(content, error):
    with pytest.raises(ValueError, match=error):
        parse_verdict(content)


def test_parse_verdict_accepts():
    assert parse_verdict('{"score": 1, "label": "PASS"}') == (1.0, "pass", None)
    long = "x" * 2000
    score, label, reasoning = parse_verdict(json.dumps({"score": 0, "label": "fail", "reasoning": long}))
    assert (score, label, len(reasoning or "")) == (0.0, "fail", 500)


async def test_judgments_abandoned_before_their_request_are_counted_too(server):
    submitted = Submitted()
    processor = judge_processor(server.base_url, submitted, rubrics={"helpfulness": RUBRIC, "tone": "Polite."})
    await processor.process(M.Batch(spans=[llm(), llm()]))
    await processor.drain(0)  # no time at all: none of the four gets to send its request
    assert processor.counters.value("evals_errors", label="helpfulness", reason="abandoned") == 2
    assert processor.counters.value("evals_errors", label="tone", reason="abandoned") == 2
    assert judge_requests(server) == [] and submitted.evaluations == []
