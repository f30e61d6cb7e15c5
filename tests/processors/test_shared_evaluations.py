"""Shared evaluations (``model.shared_evaluation``): the built-ins give every span the same few results, as one
object each. Nothing may change one in place: the scrub and the redaction walk give the span copies first, and a
custom evaluator that tries fails alone. Spans that share a result never see each other's changes."""

from __future__ import annotations

import copy
import pickle

import orjson
import pytest

from glassbox.collector.exporters.datadog import format as F
from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from glassbox.processors import scrub
from glassbox.processors.evals.config import EvalsConfig
from glassbox.processors.evals.processor import EvalsProcessor
from glassbox.processors.redaction.config import RedactionConfig
from glassbox.processors.redaction.processor import RedactionProcessor
from glassbox.processors.wire import traces_request
from tests.processors.conftest import chat_span, trace_request

EMAIL = "ana@example.com"


def spans(count: int) -> list[M.Span]:
    return normalize.spans(
        trace_request([chat_span(n + 1, "Where is my sofa?", "It ships on Friday.") for n in range(count)])
    )


async def evaluated(count: int) -> list[M.Span]:
    batch = M.Batch(spans=spans(count))
    await EvalsProcessor(EvalsConfig(builtins={"language_mismatch": False})).process(batch)
    return batch.spans


def test_one_object_per_result_and_it_cannot_be_changed():
    a = M.shared_evaluation("truncated", "boolean", False, "pass", "finish reason stop", (("k", "v"),))
    b = M.shared_evaluation("truncated", "boolean", False, "pass", "finish reason stop", (("k", "v"),))
    assert a is b
    assert M.shared_evaluation("truncated", "boolean", 0, "pass", "finish reason stop", (("k", "v"),)) is not a
    for change in (
        lambda: setattr(a, "reasoning", EMAIL),
        lambda: setattr(a, "timestamp_ms", 1),
        lambda: delattr(a, "label"),
    ):
        with pytest.raises(AttributeError, match="shared evaluation cannot be changed"):
            change()
    with pytest.raises(TypeError):
        a.tags["k"] = EMAIL  # type: ignore[index]
    plain = M.Evaluation("truncated", "boolean", False, "pass", "finish reason stop", None, {"k": "v"})
    assert a == plain and plain == a and a != M.owned(a).__class__("truncated", "boolean", True)
    assert copy.copy(a) is a and copy.deepcopy([a])[0] is a
    assert pickle.loads(pickle.dumps(a)) == plain
    owned = M.owned(a)
    assert type(owned) is M.Evaluation and owned == a and owned.tags is not a.tags
    owned.reasoning = "changed"
    assert a.reasoning == "finish reason stop"


def test_a_value_that_cannot_be_a_key_is_not_shared():
    result = M.shared_evaluation("extract", "json", {"a": 1}, "pass")
    assert type(result) is M.Evaluation and result.value == {"a": 1}


async def test_the_builtins_share_results_between_spans():
    first, second = await evaluated(2)
    by_label = [{e.label: e for e in span.evaluations} for span in (first, second)]
    assert by_label[0].keys() == by_label[1].keys() and len(by_label[0]) >= 4
    assert all(by_label[0][label] is by_label[1][label] for label in by_label[0])


async def test_scrubbing_one_span_leaves_the_others_results_alone():
    first, second = await evaluated(2)
    before = [copy.copy(e) for e in second.evaluations]
    scrub.scrub_span(first, "test")
    assert all(type(e) is M.Evaluation and e.reasoning is None for e in first.evaluations)
    assert first.added_evaluations == first.evaluations  # the same copies: the OTLP copy carries the scrubbed ones
    assert all(a is b for a, b in zip(first.added_evaluations, first.evaluations))
    assert second.evaluations == before and all(type(e) is M.SharedEvaluation for e in second.evaluations)


async def test_redaction_after_evals_redacts_a_copy_of_a_shared_result():
    """A chain that runs evals before redaction: a shared result holding something redaction replaces (here an
    e-mail address, standing for a custom deny-list word) is replaced in that span's own copy only."""
    leaky = M.shared_evaluation("note", "categorical", "x", "pass", f"mail {EMAIL}")
    first, second = spans(2)
    for span in (first, second):
        span.add_evaluation(leaky)
    processor = RedactionProcessor(RedactionConfig(workers=0))
    processor.start()
    try:
        await processor.process(M.Batch(spans=[first]))
    finally:
        processor.shutdown()
    [mine] = first.evaluations
    assert mine.reasoning == "mail <EMAIL_ADDRESS>" and first.added_evaluations[0] is mine
    assert second.evaluations[0] is leaky and leaky.reasoning == f"mail {EMAIL}"
    assert EMAIL not in str(traces_request([first]))  # nor in the OTLP copy's evaluation events


async def test_a_custom_evaluator_that_changes_a_shared_result_fails_alone(tmp_path, monkeypatch):
    (tmp_path / "meddling.py").write_text(
        "def evaluate(span):\n"
        "    for evaluation in span.evaluations:\n"
        "        evaluation.reasoning = 'mine now'\n"
        "    return True\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    config = EvalsConfig(
        builtins={"language_mismatch": False}, custom=[{"label": "meddling", "function": "meddling:evaluate"}]
    )
    processor = EvalsProcessor(config)
    batch = M.Batch(spans=spans(2))
    await processor.process(batch)
    assert processor.counters.render()["evals_errors"][2] == {(("label", "meddling"), ("reason", "exception")): 2}
    assert all(e.reasoning != "mine now" for span in batch.spans for e in span.evaluations)


def test_a_shared_result_renders_as_the_same_fields_would():
    shared = M.shared_evaluation("empty_answer", "boolean", False, "pass", "the answer has text", (("a", "b"),))
    plain = M.owned(shared)
    span = spans(1)[0]
    for ml_app in ("shop", "other-app"):
        span.evaluations = [shared]
        mine = F.encoded_eval_metrics(span, ml_app=ml_app)
        span.evaluations = [plain]
        theirs = F.encoded_eval_metrics(span, ml_app=ml_app)
        strip = [{k: v for k, v in orjson.loads(m).items() if k != "timestamp_ms"} for m in (*mine, *theirs)]
        assert strip[0] == strip[1] and strip[0]["ml_app"] == ml_app
