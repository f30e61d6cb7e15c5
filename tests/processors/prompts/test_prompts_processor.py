"""The ``prompts`` processor: the app's prompt identity from every convention in use, the registry otherwise, on
redacted text, into ``meta.input.prompt``, ``prompt_name``/``prompt_version`` tags and the OTLP copy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from glassbox.processors import semconv as S
from glassbox.processors.prompts.config import PromptsConfig
from glassbox.processors.prompts.processor import PromptsProcessor
from tests.conftest import post_otlp
from tests.processors.conftest import chat_span, otlp_copy, trace_request
from tests.support.schemas import validate_span_events

SYSTEM = "You are Nova, the support assistant of Nordhaven. The customer is ana@example.com."
REGISTRY = """
prompts:
  - name: nordhaven-support
    version: "4"
    template: "You are {{assistant}}, the support assistant of Nordhaven. The customer is {{customer}}."
    label: production
    tags: {team: support}
"""


def system_span(span_id: int, system: str, **attributes) -> dict:
    messages = [
        {"role": "system", "parts": [{"type": "text", "content": system}]},
        {"role": "user", "parts": [{"type": "text", "content": "Where is my sofa?"}]},
    ]
    return chat_span(
        span_id, "unused", "On its way.", attributes={"gen_ai.input.messages": json.dumps(messages), **attributes}
    )


def processed(*specs: dict, config: PromptsConfig | None = None, base_dir: Path | None = None) -> list[M.Span]:
    processor = PromptsProcessor(config or PromptsConfig(), base_dir)
    processor.start()
    return processor.process(M.Batch(spans=normalize.spans(trace_request(list(specs))))).spans


CONVENTIONS = [
    ({S.DD_PROMPT_TRACKING: json.dumps({"id": "support", "name": "support", "version": "7"})}, "support", "7"),
    ({"gen_ai.prompt.name": "support", "gen_ai.prompt.version": "7"}, "support", "7"),
    ({"traceloop.prompt.key": "support", "traceloop.prompt.version": 7}, "support", "7"),
    ({"langfuse.observation.prompt.name": "support", "langfuse.observation.prompt.version": 7}, "support", "7"),
    ({"langfuse.prompt.name": "support", "langfuse.prompt.version": "7"}, "support", "7"),
    ({"llm.prompt_name": "support", "llm.prompt_version": "v7"}, "support", "v7"),
    (
        {
            "llm.prompt_template.template": "Help {{q}}",
            "llm.prompt_template.version": "7",
            "llm.prompt_template.variables": json.dumps({"q": "me"}),
        },
        None,
        "7",
    ),
]


@pytest.mark.parametrize("attributes, name, version", CONVENTIONS, ids=[next(iter(c[0])) for c in CONVENTIONS])
def test_the_apps_prompt_identity_is_read_from_every_convention(attributes, name, version):
    [span] = processed(system_span(1, SYSTEM, **attributes))

    assert (span.prompt.name, span.prompt.version, span.prompt.source) == (name, version, "app")
    assert span.tags.get("prompt_version") == version
    assert span.tags.get("prompt_name", None) == (name or span.prompt.id)


def test_everything_datadog_prompt_tracking_carries_goes_through():
    tracking = {
        "id": "rag-answer",
        "version": "2",
        "label": "canary",
        "tags": {"team": "search"},
        "chat_template": [
            {"role": "system", "content": "Use {{context}}"},
            {"role": "user", "content": "{{q}}"},
        ],
        "variables": {"context": "doc text", "q": "why?"},
        "rag_context_variables": ["context"],
        "rag_query_variables": ["q"],
    }
    [span] = processed(system_span(1, SYSTEM, **{S.DD_PROMPT_TRACKING: json.dumps(tracking)}))

    from glassbox.collector.exporters.datadog import format as F

    event = F.span_event(span, ml_app="app")
    assert event["meta"]["input"]["prompt"] == {
        "id": "rag-answer",
        "ml_app": "app",
        "version": "2",
        "label": "canary",
        "tags": {"team": "search"},
        "chat_template": tracking["chat_template"],
        "variables": tracking["variables"],
        "_dd_context_variable_keys": ["context"],
        "_dd_query_variable_keys": ["q"],
    }
    assert "prompt_version:2" in event["tags"] and "prompt_name:rag-answer" in event["tags"]


def test_an_app_prompt_without_a_version_gets_its_templates_hash():
    [first] = processed(system_span(1, SYSTEM, **{"gen_ai.prompt.name": "p", "gen_ai.prompt.template": "Be brief"}))
    [edited] = processed(system_span(1, SYSTEM, **{"gen_ai.prompt.name": "p", "gen_ai.prompt.template": "Be kind"}))

    assert first.prompt.version and edited.prompt.version and first.prompt.version != edited.prompt.version
    assert first.tags["prompt_version"] == first.prompt.version


def test_the_registry_names_a_call_the_app_did_not(tmp_path):
    (tmp_path / "prompts.yaml").write_text(REGISTRY)
    [span, other] = processed(
        system_span(1, SYSTEM),
        system_span(2, "Something else entirely."),
        config=PromptsConfig(registry="prompts.yaml"),
        base_dir=tmp_path,
    )

    assert (span.prompt.name, span.prompt.version, span.prompt.label, span.prompt.source) == (
        "nordhaven-support",
        "4",
        "production",
        "registry",
    )
    assert span.prompt.variables == {"assistant": "Nova", "customer": "ana@example.com"}
    assert (span.tags["prompt_name"], span.tags["prompt_version"]) == ("nordhaven-support", "4")
    attributes = {kv.key: kv.value.string_value for kv in otlp_copy(span).attributes}
    assert (attributes["gen_ai.prompt.name"], attributes["gen_ai.prompt.version"]) == ("nordhaven-support", "4")
    assert other.prompt is None and "prompt_name" not in other.tags


def test_a_tie_is_tagged_and_no_prompt_is_guessed(tmp_path):
    (tmp_path / "prompts.yaml").write_text("""
prompts:
  - {name: a, template: "You are {{who}}, the support assistant of Nordhaven. The customer is {{c}}."}
  - {name: b, template: "You are {{x}}, the support assistant of Nordhaven. The customer is {{y}}."}
""")
    processor = PromptsProcessor(PromptsConfig(registry=str(tmp_path / "prompts.yaml")))
    processor.start()
    [span] = processor.process(M.Batch(spans=normalize.spans(trace_request([system_span(1, SYSTEM)])))).spans

    assert span.prompt is None and span.tags["prompt.ambiguous"] == ["a", "b"]
    assert processor.metrics()["prompts_spans"][2][(("source", "ambiguous"),)] == 1


async def test_through_the_relay_the_registry_matches_redacted_text(make_relay, tmp_path):
    (tmp_path / "prompts.yaml").write_text(REGISTRY)
    relay = await make_relay(
        pipeline={"processors": ["redaction", "prompts"]},
        processors={"redaction": {"workers": 0}, "prompts": {"registry": str(tmp_path / "prompts.yaml")}},
    )
    status, _, _ = await post_otlp(relay, "traces", trace_request([system_span(1, SYSTEM)]).SerializeToString())
    assert status == 200 and await relay.flush()

    [row] = relay.local_exporter.store.recent(10)
    event = row["event"]
    validate_span_events([{"_dd.stage": "raw", "event_type": "span", "spans": [event]}])
    prompt = event["meta"]["input"]["prompt"]
    assert (prompt["id"], prompt["version"], prompt["variables"]) == (
        "nordhaven-support",
        "4",
        {"assistant": "Nova", "customer": "<EMAIL_ADDRESS>"},
    )
    assert {"prompt_name:nordhaven-support", "prompt_version:4"} <= set(event["tags"])


def test_validate_refuses_a_broken_registry_with_its_place(tmp_path):
    (tmp_path / "prompts.yaml").write_text('prompts:\n  - {name: x, template: "a {{ b! }}"}\n')
    (tmp_path / "relay.yaml").write_text("""
processors:
  prompts: {registry: prompts.yaml}
exporters:
  local: {path: spans.db}
pipeline:
  processors: [prompts]
  exporters: [local]
""")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "glassbox"), "validate", "-c", "relay.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert (
        "  - processors.prompts.registry: prompts[0].template: a {{ or }} that is not a {{variable}}" in result.stderr
    )
    assert "Traceback" not in result.stderr
