"""The fake OpenAI server's judge mode (``collector/demo/fake_openai.py``): a chat request whose system message
carries ``glassbox-judge/`` gets a JSON verdict steered by ``fake-judge:`` directives; every other request is
answered exactly as before."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from glassbox.collector.demo.fake_openai import JUDGE_MARKER, FakeOpenAI, reply_for
from glassbox.processors.evals.judge import PROMPT_VERSION


@pytest.fixture
def server():
    srv = FakeOpenAI.start_in_thread()
    yield srv
    srv.stop()


async def chat(server: FakeOpenAI, user: str, *, judge: bool = True) -> tuple[int, dict]:
    messages = [{"role": "user", "content": user}]
    if judge:
        messages.insert(0, {"role": "system", "content": f"{PROMPT_VERSION}\nGrade the answer."})
    body = {"model": "gpt-4o-mini", "messages": messages}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.base_url}/chat/completions", json=body) as response:
            return response.status, await response.json()


def content(reply: dict) -> str:
    return reply["choices"][0]["message"]["content"]


def test_the_marker_is_the_judges_prompt_version():
    assert PROMPT_VERSION.startswith(JUDGE_MARKER)


async def test_requests_without_the_marker_are_answered_as_before(server):
    text = "fake-judge:score=0.1 when will my sofa be delivered?"
    status, reply = await chat(server, text, judge=False)
    assert status == 200 and content(reply) == reply_for(text)
    assert server.judge_requests == 0


async def test_a_default_verdict_and_a_scripted_score(server):
    status, reply = await chat(server, "<answer>It ships Friday.</answer>")
    assert status == 200
    verdict = json.loads(content(reply))
    assert verdict["score"] == 1.0 and verdict["label"] == "pass" and verdict["reasoning"].startswith("fake judge:")
    assert reply["model"] == "gpt-4o-mini-2024-07-18" and reply["usage"]["prompt_tokens"] > 0
    _, reply = await chat(server, "fake-judge:score=0.25")
    assert json.loads(content(reply))["score"] == 0.25 and json.loads(content(reply))["label"] == "fail"
    assert server.judge_requests == 2


@pytest.mark.parametrize(
    "kind, check",
    [
        ("not_json", lambda c: c == "The answer looks fine to me."),
        ("missing_score", lambda c: "score" not in json.loads(c)),
        ("out_of_range", lambda c: json.loads(c)["score"] == 7),
        ("bad_label", lambda c: json.loads(c)["label"] == "maybe"),
        ("fenced", lambda c: c.startswith("```json\n") and json.loads(c[8:-4])["score"] == 1.0),
    ],
)
async def test_malformed_replies(server, kind, check):
    _, reply = await chat(server, f"fake-judge:malformed={kind}")
    assert check(content(reply))


async def test_no_choices_errors_and_fail_first(server):
    _, reply = await chat(server, "fake-judge:malformed=no_choices")
    assert reply["choices"] == []
    status, reply = await chat(server, "fake-judge:error=429")
    assert status == 429 and reply["error"]["type"] == "server_error"
    statuses = [(await chat(server, "fake-judge:fail-first=2"))[0] for _ in range(3)]
    assert statuses == [500, 500, 200]


async def test_delays_end_on_release_and_in_flight_is_tracked(server):
    started = time.monotonic()
    pending = [asyncio.create_task(chat(server, f"fake-judge:delay=30 request {i}")) for i in range(3)]
    deadline = time.monotonic() + 10
    while server.judge_in_flight < 3:
        assert time.monotonic() < deadline, "the delayed requests never arrived"
        await asyncio.sleep(0.005)
    assert not any(task.done() for task in pending)
    server.release_judges()
    results = await asyncio.wait_for(asyncio.gather(*pending), 10)
    assert [status for status, _ in results] == [200, 200, 200]
    assert time.monotonic() - started < 10
    assert server.judge_in_flight == 0 and server.judge_max_in_flight == 3
