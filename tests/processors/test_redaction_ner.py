"""The NER path with a spaCy pipeline this test builds and saves itself (an entity_ruler: no weights to
download), and the startup error for a model that is not installed — which must never trigger a download."""

from __future__ import annotations

import socket
import time

import pytest
import spacy

from glassbox.processors import model as M
from glassbox.processors.redaction.analyzer import Redactor
from glassbox.processors.redaction.config import RedactionConfig
from glassbox.processors.redaction.processor import RedactionProcessor


@pytest.fixture(scope="module")
def ruler_model(tmp_path_factory) -> str:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": "Zed Quux"},
            {"label": "PERSON", "pattern": [{"LOWER": "ana"}]},
            {"label": "GPE", "pattern": "Xanadu"},
            {"label": "ORG", "pattern": "Oak & Pine"},
            {"label": "NORP", "pattern": "Martians"},
            {"label": "DATE", "pattern": [{"LOWER": "tomorrow"}]},
        ]
    )
    path = tmp_path_factory.mktemp("model") / "ruler"
    nlp.to_disk(path)
    return str(path)


def test_ner_entities_are_redacted_with_presidios_label_mapping(ruler_model):
    redactor = Redactor(RedactionConfig(workers=0, nlp_engine=ruler_model))
    assert redactor.settings.resolved_entities()[-2:] == ["PERSON", "LOCATION"]
    out = redactor.redact(
        ["Hi, I'm Zed Quux from Xanadu, mail zed@example.com", "ana works at Oak & Pine", "Martians like it"]
    )
    assert out[0].text == "Hi, I'm <PERSON> from <LOCATION>, mail <EMAIL_ADDRESS>"  # GPE → LOCATION
    assert out[1].text == "<PERSON> works at Oak & Pine"  # ORGANIZATION: ignored, as in Presidio's default
    assert out[2].text is None  # NRP is not in the default entity list


def test_ner_entities_can_be_chosen(ruler_model):
    redactor = Redactor(RedactionConfig(workers=0, nlp_engine=ruler_model, entities=["NRP", "PERSON"]))
    assert redactor.redact(["Martians met Zed Quux"])[0].text == "<NRP> met <PERSON>"


async def test_ner_runs_in_worker_processes(ruler_model):
    processor = RedactionProcessor(RedactionConfig(workers=2, nlp_engine=ruler_model))
    processor.start()
    try:
        spans = [
            M.Span(
                trace_id="ab" * 16,
                span_id=f"{i:016x}",
                parent_id=None,
                name="chat",
                kind=M.LLM,
                start_ns=0,
                duration_ns=1,
                input=M.IO(messages=[M.Message(role="user", content=f"I'm Zed Quux #{i}")]),
            )
            for i in range(1, 9)
        ]
        batch = await processor.process(M.Batch(spans=spans))
        assert {s.input.messages[0].content for s in batch.spans} == {f"I'm <PERSON> #{i}" for i in range(1, 9)}
        assert all(s.tags["pii.type"] == ["person"] for s in batch.spans)
    finally:
        processor.shutdown()


def test_entities_found_in_named_sentences_land_at_their_place_in_the_whole_text(ruler_model):
    redactor = Redactor(RedactionConfig(workers=0, nlp_engine=ruler_model))
    assert redactor.nlp_engine.named_sentences_only  # the default
    text = "where is it? i met Zed Quux in Xanadu.\nthanks again, Zed Quux, mail zed@example.com"
    assert redactor.redact([text])[0].text == (
        "where is it? i met <PERSON> in <LOCATION>.\nthanks again, <PERSON>, mail <EMAIL_ADDRESS>"
    )


def test_the_model_reads_only_sentences_with_a_capitalised_word_unless_told_to_read_all(ruler_model):
    """The documented trade-off: a name written in lower case, alone in a lower-case sentence, is not read by the
    model (spaCy's small models miss most such names anyway); ``ner_sentences: all`` reads it."""
    text = "my friend ana called. She said Hello"
    named = Redactor(RedactionConfig(workers=0, nlp_engine=ruler_model))
    every = Redactor(RedactionConfig(workers=0, nlp_engine=ruler_model, ner_sentences="all"))
    assert named.redact([text])[0].text is None
    assert every.redact([text])[0].text == "my friend <PERSON> called. She said Hello"


def test_date_time_makes_the_model_read_every_sentence(ruler_model):
    """spaCy's DATE entities are not written capitalised ("tomorrow"): with DATE_TIME asked for, no gate."""
    redactor = Redactor(RedactionConfig(workers=0, nlp_engine=ruler_model, entities=["DATE_TIME", "PERSON"]))
    assert not redactor.nlp_engine.named_sentences_only
    assert redactor.redact(["see you tomorrow"])[0].text == "see you <DATE_TIME>"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Where is my order? I placed it on the 3rd.", []),  # capitalised stop words only
        ("where is it? my name is Zed.", [(12, 28)]),
        ("Thanks!\nana here", [(0, 7)]),
        ("", []),
        ("Ça va? oui", [(0, 6)]),
        ("i'm fine. 我叫张伟。", [(9, 15)]),  # no case in Chinese: read
        ("اسمي أحمد", [(0, 9)]),
        ("ça va très bien.", []),
    ],
)
def test_named_sentences(text, named):
    from glassbox.processors.redaction.nlp import named_sentences

    assert named_sentences(text) == named


def test_components_no_recognizer_reads_are_not_run(tmp_path):
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("attribute_ruler")  # what en_core_web_* models run for POS tags: no recognizer reads them
    ruler.add(patterns=[[{"ORTH": "Hi"}]], attrs={"TAG": "UH"})
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "PERSON", "pattern": "Zed Quux"}])
    nlp.to_disk(tmp_path / "model")
    redactor = Redactor(RedactionConfig(workers=0, nlp_engine=str(tmp_path / "model")))
    assert redactor.nlp_engine.nlp["en"].pipe_names == ["entity_ruler"]
    assert redactor.redact(["Hi Zed Quux"])[0].text == "Hi <PERSON>"


def test_an_uninstalled_model_is_a_startup_error_with_the_install_command(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    processor = RedactionProcessor(RedactionConfig(nlp_engine="en_core_web_zz"))
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"python -m spacy download en_core_web_zz"):
        processor.start()
    assert time.monotonic() - started < 5
    with pytest.raises(Exception, match="not installed"):
        Redactor(RedactionConfig(workers=0, nlp_engine="en_core_web_zz"))
