"""``glassbox-instrument`` and the helpers, run as a user runs them: an unmodified script (the real ``openai``
client against the project's fake OpenAI server) under the real CLI, spans arriving at a real relay. The app's
exit status and stdout must be its own whatever happens to telemetry."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from glassbox.collector.demo.fake_openai import FakeOpenAI
from tests.support.net import free_ports
from tests.support.schemas import validate_span_events
from tests.support.testagent import TestAgent
from tests.wiring.harness import Relay

INSTRUMENT = Path(sys.executable).parent / "glassbox-instrument"
QUESTION = "Where is my order 8231?"
PLAIN_APP = f"""
from openai import OpenAI

answer = OpenAI().chat.completions.create(
    model="gpt-4o-mini", messages=[{{"role": "user", "content": {QUESTION!r}}}]
).choices[0].message.content
print("answer:", answer)
raise SystemExit(3)
"""


def app_env(fake_openai: FakeOpenAI, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DD_", "TRACELOOP_", "GLASSBOX_"))}
    env.update(OPENAI_BASE_URL=fake_openai.base_url, OPENAI_API_KEY="sk-test", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run_app(tmp_path: Path, source: str, env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run(
        [*command, sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def relay_env(relay: Relay, fake_openai: FakeOpenAI, **extra: str) -> dict[str, str]:
    return app_env(fake_openai, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{relay.http_port}", **extra)


def test_an_unmodified_script_sends_its_llm_call_with_content_and_keeps_its_exit_status(
    tmp_path: Path, relay: Relay, fake_openai: FakeOpenAI
):
    env = relay_env(relay, fake_openai, DD_SERVICE="support-bot", DD_ENV="staging", DD_VERSION="1.4.2")
    env["DD_LLMOBS_ML_APP"] = "nordhaven-support"
    bare = run_app(tmp_path, PLAIN_APP, app_env(fake_openai))
    wrapped = run_app(tmp_path, PLAIN_APP, env, str(INSTRUMENT))

    assert (wrapped.returncode, wrapped.stdout) == (bare.returncode, bare.stdout) == (3, bare.stdout)
    assert bare.stdout.startswith("answer: ")
    assert wrapped.stderr == "", wrapped.stderr
    row = relay.wait_for_llm_span()
    event = row["event"]
    tags = set(event["tags"])
    assert {"service:support-bot", "env:staging", "version:1.4.2", "ml_app:nordhaven-support"} <= tags, tags
    assert [m["content"] for m in event["meta"]["input"]["messages"]] == [QUESTION]
    assert event["meta"]["output"]["messages"][0]["content"] == bare.stdout.removeprefix("answer: ").strip()
    # the instrumentation's own metrics (token usage, duration) were flushed at exit too
    assert accepted_spans(relay, "glassbox_receiver_accepted_metric_points") > 0


def test_without_a_relay_the_app_runs_says_one_line_and_exits_within_the_shutdown_bound(
    tmp_path: Path, fake_openai: FakeOpenAI
):
    (closed,) = free_ports(1)  # nothing listens there
    env = app_env(fake_openai, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{closed}", GLASSBOX_SHUTDOWN_TIMEOUT="1")
    bare = run_app(tmp_path, PLAIN_APP, app_env(fake_openai))
    started = time.monotonic()
    wrapped = run_app(tmp_path, PLAIN_APP, env, str(INSTRUMENT))
    elapsed = time.monotonic() - started

    assert (wrapped.returncode, wrapped.stdout) == (3, bare.stdout)
    lines = wrapped.stderr.splitlines()
    assert len(lines) <= 1 and all(line.startswith("glassbox-instrument: cannot export") for line in lines), lines
    assert elapsed < 1 + 8, f"exit took {elapsed:.1f}s"  # the flush bound plus interpreter start-up, generously


def test_a_bad_variable_is_one_line_and_the_spans_still_arrive(tmp_path: Path, relay: Relay, fake_openai: FakeOpenAI):
    env = relay_env(relay, fake_openai, OTEL_EXPORTER_OTLP_PROTOCOL="http/jason", GLASSBOX_SHUTDOWN_TIMEOUT="soon")
    wrapped = run_app(tmp_path, PLAIN_APP, env, str(INSTRUMENT))

    assert wrapped.returncode == 3 and wrapped.stdout.startswith("answer: ")
    assert wrapped.stderr.splitlines() == [
        "glassbox-instrument: OTEL_EXPORTER_OTLP_PROTOCOL='http/jason' is not one of http/protobuf, grpc; "
        "using http/protobuf",
        "glassbox-instrument: GLASSBOX_SHUTDOWN_TIMEOUT='soon' is not a number of seconds; using 3",
    ]
    relay.wait_for_llm_span()


def test_an_instrumentation_that_raises_on_import_is_skipped_with_one_line(
    tmp_path: Path, relay: Relay, fake_openai: FakeOpenAI
):
    # A real installed-package layout: a dist-info registering an `anthropic` instrumentor whose module raises.
    site = tmp_path / "site"
    (site / "broken_instrumentation").mkdir(parents=True)
    (site / "broken_instrumentation" / "__init__.py").write_text("raise RuntimeError('broken on purpose')\n")
    info = site / "broken_instrumentation-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-instrumentation\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[opentelemetry_instrumentor]\nanthropic = broken_instrumentation:Instrumentor\n"
    )
    env = relay_env(relay, fake_openai, PYTHONPATH=str(site))
    wrapped = run_app(tmp_path, PLAIN_APP, env, str(INSTRUMENT))

    assert wrapped.returncode == 3 and wrapped.stdout.startswith("answer: ")
    assert wrapped.stderr.splitlines() == [
        "glassbox-instrument: broken-instrumentation not turned on (RuntimeError: broken on purpose)"
    ]
    relay.wait_for_llm_span()  # the OpenAI instrumentation still works


HELPERS_APP = f"""
import asyncio
from openai import AsyncOpenAI, OpenAI
from glassbox import instrumentation as gb

client = OpenAI()


@gb.tool("lookup_order")
def lookup_order(order_id):
    gb.annotate(input={{"order_id": order_id}}, output={{"status": "shipped"}})
    return "shipped"


async def answer_async():
    async with gb.task("double_check"):
        response = await AsyncOpenAI().chat.completions.create(
            model="gpt-4o-mini", messages=[{{"role": "user", "content": "And when will it arrive?"}}]
        )
    return response.choices[0].message.content


with gb.workflow("support_conversation"), gb.session("conv-8231", user_id="customer-42"):
    gb.annotate(metadata={{"channel": "chat"}}, tags={{"feature": "order_status"}})
    with gb.retrieval("faq_search"):
        gb.annotate(input="order status", output=["Orders ship in 2 days."])
    lookup_order("8231")
    template = "Answer about {{{{topic}}}}"
    with gb.prompt("support", version="2026-03", template=template, variables={{"topic": "orders"}}):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": {QUESTION!r}}}])
    assert gb.submit_evaluation("helpfulness", 0.9, assessment="pass", reasoning="answered the question")
    assert gb.feedback(True, comment="thanks")
    asyncio.run(answer_async())
print("done")
"""


def test_every_helper_arrives_mapped_to_what_datadog_shows(tmp_path: Path, relay: Relay, fake_openai: FakeOpenAI):
    wrapped = run_app(
        tmp_path, HELPERS_APP, relay_env(relay, fake_openai, OTEL_SERVICE_NAME="support-bot"), str(INSTRUMENT)
    )
    assert (wrapped.returncode, wrapped.stdout, wrapped.stderr) == (0, "done\n", "")

    rows = wait_for(
        relay, lambda rows: sum(r["kind"] == "llm" for r in rows) == 2 and any(r["evaluations"] for r in rows)
    )
    by_name = {row["name"]: row for row in rows}
    assert {by_name[n]["kind"] for n in ("support_conversation", "lookup_order", "faq_search", "double_check")} == {
        "workflow",
        "tool",
        "retrieval",
        "task",
    }
    workflow = by_name["support_conversation"]["event"]
    assert workflow["meta"]["metadata"]["channel"] == "chat" and "feature:order_status" in workflow["tags"]
    tool = by_name["lookup_order"]["event"]["meta"]
    assert '"order_id"' in tool["input"]["value"] and "shipped" in tool["output"]["value"]
    llm = [r for r in rows if r["kind"] == "llm"]
    for row in llm:  # session and user reach every span inside, the async one included
        assert row["event"]["session_id"] == "conv-8231" and "user_id:customer-42" in row["event"]["tags"]
    prompted = next(r for r in llm if r["event"]["meta"]["input"]["messages"][0]["content"] == QUESTION)
    prompt = prompted["event"]["meta"]["input"]["prompt"]
    assert (prompt["name"], prompt["version"], prompt["variables"]) == ("support", "2026-03", {"topic": "orders"})
    evaluations = {e["label"]: e for r in rows for e in r["evaluations"]}
    assert evaluations["helpfulness"]["score_value"] == 0.9 and evaluations["helpfulness"]["assessment"] == "pass"
    assert evaluations["feedback"]["score_value"] == 1.0 and evaluations["feedback"]["assessment"] == "pass"
    # both were about the last model call before them: the prompted one
    assert {e["join_on"]["span"]["span_id"] for e in evaluations.values()} == {prompted["event"]["span_id"]}


OWN_SETUP_APP = f"""
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from openai import OpenAI

mine = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(mine))
trace.set_tracer_provider(provider)
INIT

OpenAI().chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": {QUESTION!r}}}])
print("my exporter saw", sorted(span.name for span in mine.get_finished_spans()))
"""


@pytest.mark.parametrize("how", ["glassbox-instrument", "init() after the app's setup"])
def test_the_apps_own_otel_setup_keeps_working(how: str, tmp_path: Path, relay: Relay, fake_openai: FakeOpenAI):
    env = relay_env(relay, fake_openai, OTEL_SERVICE_NAME="support-bot")
    if how == "glassbox-instrument":
        result = run_app(tmp_path, OWN_SETUP_APP.replace("INIT", ""), env, str(INSTRUMENT))
    else:
        source = OWN_SETUP_APP.replace(
            "INIT", "from glassbox import instrumentation as gb\ngb.init()\ngb.init()  # idempotent"
        )
        result = run_app(tmp_path, source, env)
    assert result.returncode == 0, result.stderr
    assert "Overriding of current TracerProvider" not in result.stderr
    assert result.stdout.strip() == "my exporter saw ['openai.chat']", result.stdout
    # The app flushed before exiting, so everything it sent is accepted by now: exactly one copy of its one span.
    assert accepted_spans(relay) == 1
    wait_for(relay, lambda rows: [r["kind"] for r in rows] == ["llm"])


def accepted_spans(relay: Relay, family: str = "glassbox_receiver_accepted_spans") -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{relay.admin_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(family))


def wait_for(relay: Relay, done, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = relay.spans()
        if done(rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"not in the relay after {timeout}s: {[(r['kind'], r['name']) for r in relay.spans()]}")


async def test_through_the_relay_to_datadogs_test_agent(tmp_path: Path, make_relay, fake_openai: FakeOpenAI):
    """The whole path a user deploys: glassbox-instrument → relay (default chain) → the Datadog Agent."""
    with TestAgent() as agent:
        relay = await make_relay(
            {"datadog": {"transport": "agent", "agent_url": agent.url, "flush_interval": 0.1}},
            processors={"redaction": {"workers": 0}, "cost": {}, "evals": {}},
            pipeline={"processors": ["redaction", "cost", "evals"]},
        )
        env = app_env(
            fake_openai,
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{relay.http_port}",
            OTEL_SERVICE_NAME="support-bot",
            DD_ENV="staging",
        )
        result = await asyncio.to_thread(run_app, tmp_path, HELPERS_APP, env, str(INSTRUMENT))
        assert (result.returncode, result.stderr) == (0, ""), result.stderr
        assert await relay.flush(timeout=30)
        spans = [s for body in agent.llmobs_span_payloads() for envelope in body for s in envelope["spans"]]
        evals = [m for body in agent.eval_metric_payloads() for m in body["data"]["attributes"]["metrics"]]
        for body in agent.llmobs_span_payloads():
            validate_span_events(body)

    kinds = sorted(s["meta"]["span"]["kind"] for s in spans)
    assert kinds == ["llm", "llm", "retrieval", "task", "tool", "workflow"], kinds
    llm = [s for s in spans if s["meta"]["span"]["kind"] == "llm"]
    for span in llm:
        assert span["session_id"] == "conv-8231"
        assert {"service:support-bot", "env:staging", "user_id:customer-42"} <= set(span["tags"])
        assert span["metrics"]["total_cost"] > 0  # the cost processor ran on it
    labels = {m["label"] for m in evals}
    assert {"helpfulness", "feedback", "truncated", "prompt_injection"} <= labels, labels


def test_the_overhead_benchmark_runs_and_each_mode_sends_its_telemetry(capsys):
    from bench import instrument as bench

    bench.main(["--calls", "20", "--warmup", "5", "--rounds", "1"])
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split("  ")[0].strip(): line for line in lines[2:]}
    assert set(rows) == {"uninstrumented", "glassbox-instrument"}, lines
    assert "/v1/traces" in rows["glassbox-instrument"] and rows["uninstrumented"].rstrip().endswith("-")


def test_the_quality_dashboard_reads_the_label_feedback_sends():
    import inspect
    import re

    from glassbox.instrumentation import feedback

    dashboard = (Path(__file__).resolve().parents[2] / "deploy" / "datadog" / "dashboards" / "quality.json").read_text()
    label = inspect.signature(feedback).parameters["label"].default
    assert f"eval_label:{label}" in dashboard, re.findall(r"eval_label:\w+", dashboard)
