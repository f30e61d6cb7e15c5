"""The README's "Wire your app" section, run verbatim: each instrumentation's env block and code against a real
``glassbox run`` and the fake OpenAI server, and each install line against what the tests really installed.

A span counts only when it reached the local store with everything Datadog needs: the service, the model, the
question and the answer, the session and the user. An app that tries to reach anything but 127.0.0.1 fails.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from glassbox.collector.demo.fake_openai import FakeOpenAI
from tests.wiring.harness import JS_DIR, RUNTIMES, WIRING, Relay, Run, Runtime, installed_versions, run_snippet
from tests.wiring.readme import snippets

SERVICE = "support-bot"
SESSION = "conv-8231"
USER = "customer-42"
QUESTION = "Where is my order 48213?"
MODEL = "gpt-4o-mini"
NO_CONTENT_WARNING = f"service '{SERVICE}' sends llm spans without any message content"
SUFFIX = {"python": ".py", "javascript": ".js"}


@dataclass(frozen=True)
class Case:
    """One instrumentation as the README wires it: which blocks, and where they run."""

    name: str
    runtime: str
    install: str
    env: str
    app: str


CASES = [
    Case("glassbox-instrument", "instrument", "instrument-install", "instrument-env", "instrument-app"),
    Case("openllmetry", "dev", "openllmetry-install", "openllmetry-env", "openllmetry-app"),
    Case("openai-v2 span mode", "dev", "openai-v2-install", "openai-v2-span-env", "openai-v2-app"),
    Case("openai-v2 event mode", "dev", "openai-v2-install", "openai-v2-event-env", "openai-v2-app"),
    Case("openlit", "openlit", "openlit-install", "openlit-env", "openlit-app"),
    Case("traceloop-sdk", "traceloop", "traceloop-install", "traceloop-env", "traceloop-app"),
    Case("javascript", "javascript", "js-install", "js-env", "js-app"),
]
# The README's "if you get it wrong" notes: the env block with one setting changed, and what the README says follows:
# no content (JavaScript: messages with roles and empty text) and the relay's warning.
WRONG = [
    ("openllmetry", "TRACELOOP_TRACE_CONTENT=true", "TRACELOOP_TRACE_CONTENT=false", "warning"),
    ("openai-v2 span mode", "CAPTURE_MESSAGE_CONTENT=span_only", "CAPTURE_MESSAGE_CONTENT=true", "warning"),
    ("openai-v2 event mode", "CAPTURE_MESSAGE_CONTENT=event_only", "CAPTURE_MESSAGE_CONTENT=true", "warning"),
    ("javascript", "export OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true\n", "", "empty text and warning"),
]
INSTALLS = list({c.install: c for c in CASES}.values())  # openai-v2's two modes share one install line
_PIN = re.compile(r"(?:^|\s)((?:@[\w.-]+/)?[\w.-]+)(?:==|@)(\d[\w.]*)(?=\s|$)")


def case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def run_case(wiring: Case, env_block: str, relay: Relay, fake_openai: FakeOpenAI, workdir: Path) -> Run:
    blocks = snippets()
    app = blocks[wiring.app]
    run = run_snippet(
        RUNTIMES[wiring.runtime],
        env_block,
        app.text,
        SUFFIX[app.lang],
        relay=relay,
        openai_base_url=fake_openai.base_url,
        workdir=workdir,
    )
    assert run.returncode == 0, f"the README's {wiring.name} snippet failed:\n{run.describe()}"
    assert not run.refused_network, f"{wiring.name} tried to leave the machine: {run.refused_network}"
    return run


@pytest.mark.parametrize("wiring", CASES, ids=[c.name for c in CASES])
def test_snippet_delivers_a_complete_llm_span(wiring: Case, relay: Relay, fake_openai: FakeOpenAI, tmp_path: Path):
    run = run_case(wiring, snippets()[wiring.env].text, relay, fake_openai, tmp_path)
    answer = run.stdout.strip().splitlines()[-1]
    assert answer, f"the app printed no answer:\n{run.describe()}"

    row = relay.wait_for_llm_span()
    event = row["event"]
    meta = event["meta"]
    tags = set(event["tags"])
    assert f"service:{SERVICE}" in tags, tags
    assert meta["model_name"].startswith(MODEL), meta["model_name"]
    inputs = [m["content"] for m in meta.get("input", {}).get("messages", [])]
    outputs = [m["content"] for m in meta.get("output", {}).get("messages", [])]
    assert QUESTION in inputs, f"input messages: {meta.get('input')}\n{relay.output}"
    assert answer in outputs, f"output messages: {meta.get('output')}\n{relay.output}"
    assert event.get("session_id") == SESSION and f"session_id:{SESSION}" in tags, (event.get("session_id"), tags)
    assert f"user_id:{USER}" in tags, tags
    assert NO_CONTENT_WARNING not in relay.output


@pytest.mark.parametrize(("name", "right", "wrong", "expect"), WRONG, ids=[w[0] for w in WRONG])
def test_wrong_content_setting_does_what_the_readme_says(
    name: str, right: str, wrong: str, expect: str, relay: Relay, fake_openai: FakeOpenAI, tmp_path: Path
):
    wiring = case(name)
    env_block = snippets()[wiring.env].text
    assert right in env_block, f"the README's {wiring.env} block no longer says {right!r}"
    run_case(wiring, env_block.replace(right, wrong), relay, fake_openai, tmp_path)

    meta = relay.wait_for_llm_span()["event"]["meta"]
    if expect == "warning":
        assert "input" not in meta and "output" not in meta, meta
        relay.wait_for_log(NO_CONTENT_WARNING)
    else:
        texts = [m["content"] for io in ("input", "output") for m in meta[io]["messages"]]
        assert texts == ["", ""], meta
        relay.wait_for_log(NO_CONTENT_WARNING)


def test_readme_quotes_the_warning_the_relay_logs():
    text = (WIRING.parents[1] / "README.md").read_text()
    assert NO_CONTENT_WARNING in text


def install_pins(name: str) -> dict[str, str]:
    """``package==version`` (pip) or ``package@version`` (npm) from an install block."""
    return dict(_PIN.findall(snippets()[name].text))


@pytest.mark.parametrize("wiring", INSTALLS, ids=[c.install for c in INSTALLS])
def test_install_line_pins_what_the_test_ran(wiring: Case):
    pins = install_pins(wiring.install)
    assert pins, f"{wiring.install}: no pinned packages found"
    installed = installed_versions(RUNTIMES[wiring.runtime], list(pins))
    differ = {name: (pin, installed[name]) for name, pin in pins.items() if installed[name] != pin}
    target = RUNTIMES[wiring.runtime].make_target
    assert not differ, (
        f"README {wiring.install} pins differ from what `make {target}` installed (pinned, installed): {differ}; "
        "run the snippet with the new versions and update the README or the requirements"
    )


def test_requirements_files_are_the_readme_pins():
    for name in ("openlit", "traceloop"):
        lines = (WIRING / f"requirements-{name}.txt").read_text().splitlines()
        required = dict(line.split("==") for line in lines if line and not line.startswith("#"))
        assert required == install_pins(f"{name}-install"), name
    package = json.loads((JS_DIR / "package.json").read_text())
    assert package["dependencies"] == install_pins("js-install")


def test_every_marked_snippet_is_run():
    used = {n for c in CASES for n in (c.install, c.env, c.app)}
    assert set(snippets()) == used


def test_a_missing_runtime_names_the_make_target_that_creates_it(tmp_path: Path):
    missing = Runtime("OpenLIT", "wiring-openlit", tmp_path / "nope" / "bin" / "python")
    with pytest.raises(RuntimeError, match=r"run `make wiring-openlit`"):
        missing.require()
