"""The one fail-closed policy (``processors.scrub``), field by field, and proof that the pipeline (a processor
raised) and redaction (a whole batch failed) apply exactly it: before, they kept and dropped different fields."""

from __future__ import annotations

import copy
import json

import orjson

from glassbox.collector.exporters.datadog import format as F
from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from glassbox.processors import scrub
from glassbox.processors.redaction.config import RedactionConfig
from glassbox.processors.redaction.processor import RedactionProcessor
from glassbox.processors.wire import logs_request, traces_request
from tests.processors.conftest import chat_span, log_records, otlp_copy, otlp_resource, trace_request

EMAIL = "ana@example.com"
WHEN = 1_700_000_000_000


def sample_batch() -> M.Batch:
    """Content in every field the policy names: model fields, OTLP attributes/events/links/status, resource
    attributes, a log record, a late evaluation."""
    request = trace_request(
        [
            chat_span(
                1,
                f"hi {EMAIL}",
                f"bye {EMAIL}",
                attributes={
                    "gen_ai.conversation.id": f"s-{EMAIL}",
                    "user.id": EMAIL,
                    "traceloop.association.properties.customer": EMAIL,
                },
                events=[("exception", {"exception.type": "KeyError", "exception.message": EMAIL})],
                status=(2, f"failed for {EMAIL}"),
            ),
        ],
        resource={
            "service.name": "shop-bot",
            "service.version": "1.2",
            "deployment.environment.name": "prod",
            "host.owner": EMAIL,
        },
    )
    span = normalize.spans(request)[0]
    span.metadata = {"temperature": 0.2, "customer": EMAIL}
    span.tool_definitions = [{"name": "refund", "description": EMAIL}]
    span.set_prompt(
        M.Prompt(id="support", name="support", version="3", template=f"Help {EMAIL}", variables={"email": EMAIL})
    )
    span.add_evaluation(
        M.Evaluation(
            label="faithful", metric_type="score", value=0.9, reasoning=EMAIL, tags={"who": EMAIL}, timestamp_ms=WHEN
        )
    )
    span.add_evaluation(
        M.Evaluation(label="tone", metric_type="categorical", value=f"rude to {EMAIL}", timestamp_ms=WHEN)
    )
    span.set_tag("env", "prod")
    span.set_metric(M.INPUT_COST, 0.001)
    logs = log_records(
        [{"span_id": 1, "event_name": "gen_ai.user.message", "body": {"content": EMAIL}, "attributes": {"note": EMAIL}}]
    )
    late = M.DetachedEvaluation(
        span.trace_id,
        "00000000000000aa",
        "shop-bot",
        M.Evaluation(label="late", metric_type="boolean", value=True, reasoning=EMAIL, timestamp_ms=WHEN),
    )
    return M.Batch(spans=[span], logs=logs, evaluations=[late])


def everything_rendered(batch: M.Batch) -> bytes:
    out = [orjson.dumps(F.span_event(s, ml_app="app")) for s in batch.spans]
    out += [orjson.dumps(F.eval_metric(d.trace_id, d.span_id, d.evaluation, ml_app="app")) for d in batch.evaluations]
    out += [orjson.dumps(m) for s in batch.spans for m in F.eval_metrics(s, ml_app="app")]
    out.append(traces_request(batch.spans).SerializeToString())
    out.append(logs_request(batch.logs).SerializeToString())
    return b"\n".join(out)


def test_what_a_scrubbed_span_keeps_and_loses_field_by_field():
    batch = sample_batch()
    before = copy.deepcopy(batch.spans[0])

    assert scrub.scrub_batch(batch, "processor_error:cost") == 0

    span = batch.spans[0]
    # kept: structure Datadog needs to place the span
    for name in (
        "trace_id",
        "span_id",
        "parent_id",
        "name",
        "kind",
        "start_ns",
        "duration_ns",
        "status",
        "model_name",
        "model_provider",
        "metrics",
        "service",
        "env",
        "version",
        "llm_parent_id",
    ):
        assert getattr(span, name) == getattr(before, name), name
    assert span.error == M.ErrorInfo(type="KeyError", message=scrub.MARKER)
    assert span.prompt == M.Prompt(id="support", name="support", version="3", template=scrub.MARKER)
    assert [(e.label, e.metric_type, e.value, e.reasoning, e.tags) for e in span.evaluations] == [
        ("faithful", "score", 0.9, None, {}),
        ("tone", "categorical", scrub.MARKER, None, {}),
    ]
    # lost: content
    assert span.input == M.IO(value=scrub.MARKER) and span.output == M.IO(value=scrub.MARKER)
    assert (span.metadata, span.tool_definitions) == ({}, [])
    assert (span.session_id, span.user_id) == (scrub.MARKER, scrub.MARKER)
    assert span.tags == {"env": "prod", scrub.REASON_TAG: "processor_error:cost"}
    assert span.redaction == M.RedactionSummary(found={}, failed_closed=1)
    # the OTLP copy: no attribute of the app's, event names kept without attributes, status message replaced
    copy_ = otlp_copy(span)
    assert {kv.key for kv in copy_.attributes} == {
        "glassbox.scrubbed",
        "gen_ai.prompt.name",
        "gen_ai.prompt.version",
        "gen_ai.prompt.id",
        "glassbox.metrics.input_cost",
        "env",
    }
    assert [(e.name, len(e.attributes)) for e in copy_.events] == [
        ("exception", 0),
        ("gen_ai.evaluation.result", 2),
        ("gen_ai.evaluation.result", 2),
    ]
    assert copy_.status.message == scrub.MARKER
    assert {kv.key for kv in otlp_resource(span).attributes} == {
        "service.name",
        "service.version",
        "deployment.environment.name",
    }
    # log records and late evaluations
    assert batch.logs[0].body == scrub.MARKER and batch.logs[0].attributes == {}
    assert batch.evaluations[0].evaluation.reasoning is None and batch.evaluations[0].evaluation.value is True
    assert EMAIL.encode() not in everything_rendered(batch)


def test_an_item_that_cannot_even_be_scrubbed_is_removed_and_counted():
    batch = sample_batch()
    batch.spans.append(
        M.Span(
            trace_id="ab" * 16,
            span_id="cd" * 8,
            parent_id=None,
            name="x",
            kind="llm",
            start_ns=0,
            duration_ns=0,
            tags=None,
        )
    )  # type: ignore[arg-type] — a bug upstream

    assert scrub.scrub_batch(batch, "redaction_error") == 1
    assert len(batch.spans) == 1


async def test_redaction_failing_a_batch_applies_exactly_the_one_policy():
    """Redaction's batch-error path = ``scrub_batch`` with its marker, plus redaction's own pii.failed_closed
    tag; nothing else differs (the pipeline's path is ``scrub_batch`` too: tests/collector/
    test_pipeline_fail_closed.py)."""
    processor = RedactionProcessor(RedactionConfig(workers=0))
    processor.start()
    try:
        broken = sample_batch()
        broken.spans[0].tool_definitions = [{"schema": object()}]  # not JSON: the walker fails closed on it...
        broken.spans[0].input.messages = None  # type: ignore[assignment] — ...and this breaks the whole batch
        expected = sample_batch()
        scrub.scrub_batch(expected, "redaction_error", "[REDACTION FAILED]")
        for span in expected.spans:
            span.set_tag("pii.failed_closed", "1")

        got = await processor.process(broken)
    finally:
        processor.shutdown()

    assert processor.scrubbed_batches == 1
    assert everything_rendered(got) == everything_rendered(expected)
    assert EMAIL.encode() not in everything_rendered(got)


def test_the_marker_is_what_the_caller_says_and_the_policy_is_the_same():
    ours, theirs = sample_batch(), sample_batch()
    scrub.scrub_batch(ours, "x", "[A]")
    scrub.scrub_batch(theirs, "x", "[B]")

    assert everything_rendered(ours).replace(b"[A]", b"[B]") == everything_rendered(theirs)
    assert json.loads(orjson.dumps(F.span_event(ours.spans[0], ml_app="a")))["meta"]["input"]["value"] == "[A]"
