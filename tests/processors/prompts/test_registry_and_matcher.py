"""The prompt registry file (every problem found at once, with its place) and the matcher: variables, redacted
text, chat templates, specificity, ties reported, and speed with 500 templates."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from glassbox.processors import model as M
from glassbox.processors.prompts import registry
from glassbox.processors.prompts.matcher import Match, Matcher, Tie

SUPPORT = (
    "You are {{assistant}}, the support assistant of Nordhaven. Escalate to help@nordhaven.example or "
    "+1 415-555-0100. The customer is {{customer}}."
)


def write(tmp_path: Path, text: str, name: str = "prompts.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def matcher_for(tmp_path: Path, text: str) -> Matcher:
    return Matcher(registry.load(write(tmp_path, text)))


def chat(*messages: tuple[str, str]) -> list[M.Message]:
    return [M.Message(role=role, content=content) for role, content in messages]


def test_a_template_matches_its_system_prompt_and_extracts_the_variables(tmp_path):
    matcher = matcher_for(tmp_path, f'prompts:\n  - {{name: support, version: "3", template: "{SUPPORT}"}}\n')

    found = matcher.match(
        chat(
            (
                "system",
                "You are Nova, the support assistant of Nordhaven. Escalate to "
                "help@nordhaven.example or +1 415-555-0100. The customer is Ana Lopez.",
            ),
            ("user", "Where is my sofa?"),
        )
    )

    assert isinstance(found, Match)
    assert (found.entry.name, found.entry.version) == ("support", "3")
    assert found.variables == {"assistant": "Nova", "customer": "Ana Lopez"}


def test_matching_runs_on_redacted_text(tmp_path):
    """Redaction ran first: the literal's address and phone and the variable's e-mail are placeholders now."""
    matcher = matcher_for(tmp_path, f'prompts:\n  - {{name: support, template: "{SUPPORT}"}}\n')

    found = matcher.match(
        chat(
            (
                "system",
                "You are Nova, the support assistant of Nordhaven. Escalate to "
                "<EMAIL_ADDRESS> or <PHONE_NUMBER>. The customer is <EMAIL_ADDRESS>.",
            )
        )
    )

    assert isinstance(found, Match) and found.variables == {"assistant": "Nova", "customer": "<EMAIL_ADDRESS>"}


def test_white_space_differences_do_not_matter_but_words_do(tmp_path):
    matcher = matcher_for(tmp_path, 'prompts:\n  - {name: brief, template: "Be brief.\\n\\nAnswer in {{lang}}."}\n')

    assert isinstance(matcher.match(chat(("system", "  Be brief. Answer in French.\n"))), Match)
    assert matcher.match(chat(("system", "Be very brief. Answer in French."))) is None


def test_without_a_system_message_the_first_message_is_matched(tmp_path):
    matcher = matcher_for(tmp_path, 'prompts:\n  - {name: summarize, template: "Summarize: {{text}}"}\n')

    found = matcher.match(chat(("user", "Summarize: the meeting moved to Tuesday.")))

    assert isinstance(found, Match) and found.variables == {"text": "the meeting moved to Tuesday."}


def test_a_chat_template_matches_message_by_message(tmp_path):
    matcher = matcher_for(
        tmp_path,
        """
prompts:
  - name: lookup
    chat_template:
      - {role: system, content: "You look up orders."}
      - {role: user, content: "Order {{order_id}}: {{question}}"}
    query_variables: [question]
""",
    )

    found = matcher.match(
        chat(
            ("system", "You look up orders."), ("user", "Order 48213: where is it?"), ("assistant", "It ships Friday.")
        )
    )

    assert isinstance(found, Match) and found.variables == {"order_id": "48213", "question": "where is it?"}
    assert matcher.match(chat(("system", "You look up orders."), ("assistant", "Order 1: x"))) is None  # role
    assert matcher.match(chat(("system", "You look up orders."))) is None  # too few messages


def test_a_repeated_variable_must_repeat_its_value(tmp_path):
    matcher = matcher_for(tmp_path, 'prompts:\n  - {name: echo, template: "{{x}} and again {{x}}"}\n')

    assert isinstance(matcher.match(chat(("system", "cat and again cat"))), Match)
    assert matcher.match(chat(("system", "cat and again dog"))) is None


def test_the_most_specific_template_wins(tmp_path):
    matcher = matcher_for(
        tmp_path,
        """
prompts:
  - {name: generic, template: "You are a helpful assistant. {{rest}}"}
  - {name: returns, template: "You are a helpful assistant. Only answer about returns. {{rest}}"}
""",
    )

    found = matcher.match(chat(("system", "You are a helpful assistant. Only answer about returns. Be kind.")))

    assert isinstance(found, Match) and found.entry.name == "returns"


def test_a_tie_is_reported_not_guessed(tmp_path):
    matcher = matcher_for(
        tmp_path,
        """
prompts:
  - {name: a, template: "Answer about {{topic}} in {{lang}}."}
  - {name: b, template: "Answer about {{topic}} in {{style}}."}
""",
    )

    found = matcher.match(chat(("system", "Answer about sofas in English.")))

    assert isinstance(found, Tie) and [e.name for e in found.entries] == ["a", "b"]


def test_version_is_a_content_hash_unless_given(tmp_path):
    first = registry.load(write(tmp_path, 'prompts:\n  - {name: p, template: "Be brief, {{name}}."}\n'))[0]
    edited = registry.load(write(tmp_path, 'prompts:\n  - {name: p, template: "Be very brief, {{name}}."}\n'))[0]
    same = registry.load(write(tmp_path, 'prompts:\n  - {name: p, template: "Be brief, {{name}}."}\n'))[0]

    assert first.version == same.version != edited.version and len(first.version) == 10


def test_every_problem_in_the_file_is_reported_with_its_place(tmp_path):
    path = write(
        tmp_path,
        """
prompts:
  - {name: ok, template: "fine {{x}}"}
  - {template: "no name"}
  - {name: both, template: "a", chat_template: [{role: system, content: "b"}]}
  - {name: braces, template: "a {{ not a name! }} b"}
  - {name: chat, chat_template: [{role: robot, content: "hi"}, {content: "no role"}]}
  - {name: rag, template: "{{q}}", query_variables: [question]}
  - {name: colour, template: "x", colour: blue}
  - {name: ok, template: "fine {{x}}"}
""",
    )

    with pytest.raises(registry.RegistryError) as caught:
        registry.load(path)

    places = [where for where, _ in caught.value.problems]
    assert places == [
        "prompts[1].name",
        "prompts[2]",
        "prompts[3].template",
        "prompts[4].chat_template[0].role",
        "prompts[4].chat_template[1]",
        "prompts[5]",
        "prompts[6].colour",
        "prompts[7]",
    ]


@pytest.mark.parametrize(
    "text, says",
    [
        ("[1, 2", "is not valid YAML"),
        ("templates: []", "expected a mapping with a `prompts:` list"),
    ],
)
def test_an_unusable_file_is_one_clear_problem(tmp_path, text, says):
    with pytest.raises(registry.RegistryError, match=says):
        registry.load(write(tmp_path, text))


def test_json_files_work_too(tmp_path):
    path = write(tmp_path, '{"prompts": [{"name": "j", "template": "Hello {{who}}"}]}', "prompts.json")

    assert registry.load(path)[0].name == "j"


def test_five_hundred_templates_cost_a_few_lookups_per_span(tmp_path):
    """Indexed on each template's leading literal: matching does not try every template. Templates share a long
    preamble and differ later, the hard case for a prefix index."""
    lines = ["prompts:"]
    for i in range(500):
        lines.append(
            f'  - {{name: t{i}, template: "You are the assistant for team {i}. Answer {{{{style}}}}, '
            f'cite {{{{source}}}} and sign as bot {i}."}}'
        )
    matcher = Matcher(registry.load(write(tmp_path, "\n".join(lines))), cache_entries=0)
    messages = chat(("system", "You are the assistant for team 377. Answer briefly, cite the FAQ and sign as bot 377."))

    assert isinstance(found := matcher.match(messages), Match) and found.entry.name == "t377"
    assert found.variables == {"style": "briefly", "source": "the FAQ"}
    started = time.perf_counter()
    for _ in range(1000):
        matcher.match(messages)
    per_span = (time.perf_counter() - started) / 1000
    assert per_span < 200e-6, f"{per_span * 1e6:.0f} µs per span with 500 templates"  # ~10 µs here; generous
    assert len(matcher.strings.candidates(messages[0].content)) == 1


def test_each_system_message_is_tried_so_added_context_does_not_hide_the_prompt(tmp_path):
    matcher = matcher_for(tmp_path, 'prompts:\n  - {name: brief, template: "Be brief, {{name}}."}\n')

    found = matcher.match(chat(("system", "Be brief, Nova."), ("user", "hi"), ("system", "Context: FAQ text")))

    assert isinstance(found, Match) and found.variables == {"name": "Nova"}
