"""Every metric of the shared names contract (the README's table; dashboards and monitors query these names),
from spans as the processors leave them."""

from __future__ import annotations

from glassbox.collector.datadog_assets.metric_names import DERIVED_METRICS
from glassbox.collector.exporters.metrics.derive import Aggregate
from glassbox.processors import model as M
from tests.collector.exporters.metrics.conftest import exporter, llm_span

# name → type: the one table the dashboards' and monitors' tests check their queries against, so a metric renamed
# here fails both sides.
CONTRACT = {name: kind for name, (kind, _) in DERIVED_METRICS.items()}


def spans() -> list[M.Span]:
    failed = llm_span(
        1,
        status="error",
        error=M.ErrorInfo(type="openai.RateLimitError", message="slow down"),
        metrics={
            M.INPUT_TOKENS: 100,
            M.OUTPUT_TOKENS: 7,
            M.CACHE_READ_TOKENS: 64,
            M.REASONING_TOKENS: 12,
            M.TOTAL_COST: 0.002,
            M.TIME_TO_FIRST_TOKEN: 0.4,
        },
        evaluations=[
            M.Evaluation("invalid_json", "boolean", True, "fail"),
            M.Evaluation("failure_to_answer", "categorical", "refusal", "fail"),
            M.Evaluation("tool_error", "boolean", True, "fail"),
            M.Evaluation("helpfulness", "score", 0.25, "fail"),
        ],
        redaction=M.RedactionSummary(
            found={"input.messages": {"EMAIL_ADDRESS", "PERSON"}, "output.messages": {"PERSON"}}
        ),
    )
    scrubbed = llm_span(2, redaction=M.RedactionSummary(failed_closed=1), metrics={M.OUTPUT_TOKENS: 0})
    embedding = llm_span(3, kind=M.EMBEDDING, prompt=None, metrics={M.INPUT_TOKENS: 8, M.TOTAL_COST: 0.00001})
    retrieval = llm_span(
        4,
        kind=M.RETRIEVAL,
        model_name=None,
        model_provider=None,
        prompt=None,
        output=M.IO(documents=[M.Document(text="a", score=0.42), M.Document(text="b", score=0.87)]),
    )
    tool = llm_span(
        5,
        kind=M.TOOL,
        model_name=None,
        model_provider=None,
        prompt=None,
        evaluations=[M.Evaluation("tool_error", "boolean", True, "fail")],
    )
    return [failed, scrubbed, embedding, retrieval, tool]


def derived() -> Aggregate:
    aggregate = Aggregate()
    metrics = exporter()
    for span in spans():
        metrics.deriver.span(span, aggregate)
    return aggregate


def total(aggregate: Aggregate, name: str, **tags: str) -> float:
    wanted = {f"{k}:{v}" for k, v in tags.items()}
    counts = sum(v for (n, t), v in aggregate.counts.items() if n == name and wanted <= set(t))
    samples = sum(len(v) for (n, t), v in aggregate.values.items() if n == name and wanted <= set(t))
    return counts + samples


def test_every_contract_metric_with_its_type():
    aggregate = derived()
    types = {name: "count" for name, _ in aggregate.counts} | {name: "distribution" for name, _ in aggregate.values}
    assert types == CONTRACT


def test_values_and_extra_tags():
    a = derived()
    assert total(a, "glassbox.llm.requests", status="error") == 1 and total(a, "glassbox.llm.requests") == 2
    assert total(a, "glassbox.llm.errors", error_type="openai.ratelimiterror") == 1
    assert total(a, "glassbox.llm.input_tokens") == 100 and total(a, "glassbox.llm.output_tokens") == 7
    assert total(a, "glassbox.llm.cache_read_tokens") == 64 and total(a, "glassbox.llm.reasoning_tokens") == 12
    assert total(a, "glassbox.llm.json_invalid") == 1
    assert total(a, "glassbox.llm.refusals", category="refusal") == 1
    assert total(a, "glassbox.llm.tool_failures", span_kind="llm") == 1
    assert total(a, "glassbox.llm.tool_failures", span_kind="tool") == 1  # tool spans fail tools too
    assert total(a, "glassbox.llm.evaluations", eval_label="helpfulness", assessment="fail") == 1
    assert [v for (n, _), v in a.values.items() if n == "glassbox.llm.eval_score"] == [[0.25]]
    assert total(a, "glassbox.llm.pii_detected", entity_type="email_address") == 1
    assert total(a, "glassbox.llm.pii_detected", entity_type="person") == 1  # once per span, not per location
    assert total(a, "glassbox.llm.redaction_failed_closed") == 1
    assert [v for (n, _), v in a.values.items() if n == "glassbox.retrieval.documents"] == [[2]]
    assert [v for (n, _), v in a.values.items() if n == "glassbox.retrieval.top_score"] == [[0.87]]
    assert [v for (n, _), v in a.values.items() if n == "glassbox.llm.time_to_first_token"] == [[0.4]]


def test_a_missing_value_is_left_out_never_none():
    a = derived()
    retrieval_tags = next(t for (n, t) in a.counts if n == "glassbox.retrieval.requests")
    assert not any(tag.startswith(("model_name:", "model_provider:", "prompt_name:")) for tag in retrieval_tags)
    assert not any(tag.endswith((":none", ":None", ":")) for (_, tags) in a.counts for tag in tags)


def test_plain_spans_give_nothing():
    aggregate = Aggregate()
    exporter().deriver.span(llm_span(1, kind=None), aggregate)
    assert aggregate.counts == {} and aggregate.values == {}
