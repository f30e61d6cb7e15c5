"""Custom evaluators for the tests: ``function: "tests.processors.evals.custom_evaluators:<name>"``."""

from __future__ import annotations

from glassbox.processors import model as M


def polite(span: M.Span) -> M.Evaluation | None:
    """An Evaluation with an assessment: does the answer say please or thank you?"""
    answer = " ".join(m.content for m in span.output.messages).lower()
    if not answer:
        return None
    ok = "please" in answer or "thank" in answer
    return M.Evaluation("ignored_label", "boolean", ok, "pass" if ok else "fail", "courtesy words" if ok else "none")


def answer_words(span: M.Span) -> float:
    """A bare number: a score without assessment."""
    return float(sum(len(m.content.split()) for m in span.output.messages))


def tool_seen(span: M.Span) -> str:
    return f"tool {span.name}"


def broken(span: M.Span) -> None:
    raise RuntimeError("an evaluator bug that quotes the user: ana.lopez@example.com")


def weird(span: M.Span) -> object:
    return object()


def wrong_type(span: M.Span) -> M.Evaluation:
    return M.Evaluation("x", "score", "high")
