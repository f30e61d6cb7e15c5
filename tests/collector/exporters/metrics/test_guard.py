"""The cardinality guard: only base and allow-listed tags become metric tags; an allowed tag's values beyond
max_tag_values per metric fold into `other` and are counted; free text folds; identities never pass."""

from __future__ import annotations

from glassbox.collector.exporters.metrics.derive import Aggregate
from glassbox.collector.exporters.metrics.guard import CardinalityGuard, tag_value
from glassbox.processors import model as M
from tests.collector.exporters.metrics.conftest import exporter, llm_span


def tag_values(aggregate: Aggregate, metric: str, key: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for (name, tags), total in aggregate.counts.items():
        if name == metric:
            for tag in tags:
                if tag.startswith(key + ":"):
                    out[tag.split(":", 1)[1]] = out.get(tag.split(":", 1)[1], 0) + total
    return out


def test_a_hundred_thousand_distinct_values_fold_into_other_and_are_counted():
    metrics = exporter(tag_allowlist=["tenant"], max_tag_values=100)
    spans = [
        llm_span(i, tags={"tenant": f"tenant-{i}", "user_id": f"user-{i}", "session_id": f"s-{i}"})
        for i in range(100_000)
    ]
    aggregate = Aggregate()
    for span in spans:
        metrics.deriver.span(span, aggregate)
    tenants = tag_values(aggregate, "glassbox.llm.requests", "tenant")
    assert len(tenants) == 101 and tenants["other"] == 100_000 - 100
    assert sum(tenants.values()) == 100_000  # nothing lost: every request is counted, under `other` if need be
    every_tag = {tag.split(":", 1)[0] for (_, tags) in aggregate.counts for tag in tags}
    assert every_tag == {
        "env",
        "service",
        "version",
        "ml_app",
        "model_name",
        "model_provider",
        "prompt_name",
        "prompt_version",
        "span_kind",
        "status",
        "tenant",
    }  # no user, session or trace id
    # Counted per point folded: requests, input and output tokens (counts), latency and cost (distributions).
    assert metrics.guard.folded == {("tenant", "max_tag_values"): 5 * (100_000 - 100)}
    series = metrics.metrics()["metrics_tag_values_folded"][2]
    assert series == {(("reason", "max_tag_values"), ("tag", "tenant")): 5 * (100_000 - 100)}
    assert len(metrics.guard._cache) <= 100  # noqa: SLF001 — memory stays bounded by the admitted values


def test_the_limit_is_per_metric_and_per_window():
    now = [0.0]
    guard = CardinalityGuard(max_values=2, window=3600, clock=lambda: now[0])
    assert guard.tags("a", (("feature", "x"),)) == ("feature:x",)
    assert guard.tags("a", (("feature", "y"),)) == ("feature:y",)
    assert guard.tags("a", (("feature", "z"),)) == ("feature:other",)
    assert guard.tags("b", (("feature", "z"),)) == ("feature:z",)  # another metric has its own budget
    assert guard.tags("a", (("status", "error"),)) == ("status:error",)  # fixed vocabulary: never folded
    now[0] = 3600.0  # a new window: last week's prompt versions no longer hold the slots
    assert guard.tags("a", (("feature", "z"),)) == ("feature:z",)
    assert guard.folded == {("feature", "max_tag_values"): 1}


def test_free_text_in_an_allowed_tag_folds():
    metrics = exporter(tag_allowlist=["feature"])
    aggregate = Aggregate()
    metrics.deriver.span(llm_span(1, tags={"feature": "why is my order late, I ordered on monday"}), aggregate)
    metrics.deriver.span(llm_span(2, tags={"feature": "x" * 65}), aggregate)
    metrics.deriver.span(llm_span(3, tags={"feature": "Order-Status"}), aggregate)
    assert tag_values(aggregate, "glassbox.llm.requests", "feature") == {"other": 2, "order-status": 1}
    assert metrics.guard.folded[("feature", "free_text")] == 2 * 5


def test_values_are_made_safe_for_the_wire():
    assert tag_value("a,b|c#d\ne") == "a_b_c_d_e"
    assert tag_value("<class 'openai.InternalServerError'>") == "class_openai.internalservererror"
    assert tag_value("x" * 500) == "x" * 200
    assert tag_value("  ") == "_"


def test_detached_evaluations_are_counted_by_service():
    metrics = exporter(tags={"env": "prod"})
    aggregate = Aggregate()
    detached = M.DetachedEvaluation(
        "ab" * 16, "cd" * 8, "support-bot", M.Evaluation("helpfulness", "score", 0.8, "pass")
    )
    metrics.deriver.detached(detached, aggregate)
    tags = ("assessment:pass", "env:prod", "eval_label:helpfulness", "ml_app:support-bot", "service:support-bot")
    assert aggregate.counts == {("glassbox.llm.evaluations", tags): 1}
    score_tags = ("env:prod", "eval_label:helpfulness", "ml_app:support-bot", "service:support-bot")
    assert aggregate.values == {("glassbox.llm.eval_score", score_tags): [0.8]}
