"""Model spans for the evals tests, shaped as intake leaves them (``collector.intake.normalize``)."""

from __future__ import annotations

import itertools
from typing import Any

from glassbox.processors import model as M

TRACE = "0af7651916cd43dd8448eb211c80319c"
_ids = itertools.count(1)
REDACTED = M.RedactionSummary()  # redaction ran and found nothing


def span_id(n: int | None = None) -> str:
    return f"{n if n is not None else next(_ids):016x}"


def llm(
    user: str | None = "Where is my order NH-4471?",
    answer: str | None = "Your order shipped yesterday and arrives on Friday.",
    *,
    inputs: list[M.Message] | None = None,
    outputs: list[M.Message] | None = None,
    metadata: dict[str, Any] | None = None,
    tools: list[dict[str, Any]] | None = None,
    redaction: M.RedactionSummary | None = REDACTED,
    sid: str | None = None,
    system: str | None = "You are Nordhaven Furniture's support assistant.",
) -> M.Span:
    """A chat span: optional system prompt, one user message, one assistant answer (or the lists given)."""
    if inputs is None:
        inputs = [M.Message("system", system)] if system else []
        if user is not None:
            inputs.append(M.Message("user", user))
    if outputs is None:
        outputs = [M.Message("assistant", answer)] if answer is not None else []
    span = M.Span(
        trace_id=TRACE,
        span_id=sid or span_id(),
        parent_id=None,
        name="chat gpt-4o-mini",
        kind=M.LLM,
        start_ns=1_700_000_000_000_000_000,
        duration_ns=1_000_000,
        model_name="gpt-4o-mini",
        model_provider="openai",
        service="shop-bot",
    )
    span.input.messages = inputs
    span.output.messages = outputs
    span.metadata = {"max_tokens": 200, "finish_reasons": ["stop"], **(metadata or {})}
    span.tool_definitions = tools or []
    span.redaction = (
        M.RedactionSummary(found=dict(redaction.found), failed_closed=redaction.failed_closed)
        if (redaction is not None)
        else None
    )
    return span


def tool(name: str = "get_order", result: str | None = '{"status": "shipped"}', *, error: str | None = None) -> M.Span:
    span = M.Span(
        trace_id=TRACE,
        span_id=span_id(),
        parent_id=None,
        name=name,
        kind=M.TOOL,
        start_ns=1_700_000_000_000_000_000,
        duration_ns=1_000,
        service="shop-bot",
    )
    span.input.value = '{"order_id": "NH-4471"}'
    span.output.value = result
    if error is not None:
        span.status = "error"
        span.error = M.ErrorInfo(type=error, message="upstream timed out")
    span.redaction = M.RedactionSummary()
    return span


def labels(span: M.Span) -> dict[str, M.Evaluation]:
    return {e.label: e for e in span.evaluations}
