"""Helpers that say what the instrumentations cannot know: the prompt, the session, the app's own steps, and how
good an answer was. Each scope helper is a context manager (``with`` / ``async with``) and a decorator (sync or
async functions).

The attributes written are the ones the relay reads (``processors/semconv.py``): ``gen_ai.prompt.*`` for the
``prompts`` processor, ``session.id`` / ``user.id``, ``traceloop.span.kind`` for workflow/agent/task/tool spans,
``gen_ai.operation.name=retrieval``, ``traceloop.entity.input/output``, ``_dd.ml_obs.metadata``,
``traceloop.association.properties.*`` for tags, and ``gen_ai.evaluation.result`` events for evaluations.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from opentelemetry import _logs, trace
from opentelemetry.trace import Span, SpanContext, Status, StatusCode

from glassbox.instrumentation.context import SCOPE, STAMPER, scoped

F = TypeVar("F", bound=Callable[..., Any])
SCOPE_NAME = "glassbox.instrumentation"
TAG_PREFIX = "traceloop.association.properties."


class _Helper:
    """Context manager (sync and async) and decorator around ``_enter``/``_exit``."""

    def _enter(self) -> Any:
        raise NotImplementedError

    def _exit(self, state: Any, error: BaseException | None) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        self._state = self._enter()
        return self._state[1] if isinstance(self._state, tuple) else None

    def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> None:
        self._exit(self._state, error)

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, kind: Any, error: BaseException | None, tb: Any) -> None:
        self.__exit__(kind, error, tb)

    def __call__(self, function: F) -> F:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                state = self._enter()
                try:
                    result = await function(*args, **kwargs)
                except BaseException as exc:
                    self._exit(state, exc)
                    raise
                self._exit(state, None)
                return result

            return run_async  # type: ignore[return-value]

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            state = self._enter()
            try:
                result = function(*args, **kwargs)
            except BaseException as exc:
                self._exit(state, exc)
                raise
            self._exit(state, None)
            return result

        return run  # type: ignore[return-value]


class _Scoped(_Helper):
    """Attributes stamped on every span started inside (``context.StampingProcessor``)."""

    def __init__(self, attributes: Mapping[str, Any]):
        self.attributes = dict(attributes)

    def _enter(self) -> Any:
        return scoped(self.attributes)

    def _exit(self, state: Any, error: BaseException | None) -> None:
        SCOPE.reset(state)


def prompt(
    name: str,
    version: str | None = None,
    template: str | None = None,
    variables: Mapping[str, Any] | None = None,
    label: str | None = None,
) -> _Helper:
    """The prompt every model call inside was made from (the ``prompts`` processor reads it)."""
    attributes: dict[str, Any] = {
        "gen_ai.prompt.name": name,
        "gen_ai.prompt.version": version,
        "gen_ai.prompt.template": template,
        "gen_ai.prompt.label": label,
    }
    for key, value in (variables or {}).items():
        attributes[f"gen_ai.prompt.variables.{key}"] = value if isinstance(value, str) else json.dumps(value)
    return _Scoped(attributes)


def session(session_id: str, user_id: str | None = None) -> _Helper:
    """Every span inside belongs to this session (and user): Datadog groups them into one conversation."""
    return _Scoped({"session.id": str(session_id), "user.id": None if user_id is None else str(user_id)})


class _SpanHelper(_Helper):
    """A span of the app's own, of a kind Datadog shows (workflow, agent, task, tool, retrieval)."""

    def __init__(self, kind: str, name: str, attributes: Mapping[str, Any]):
        self.kind, self.name, self.attributes = kind, name, dict(attributes)

    def _enter(self) -> Any:
        manager = trace.get_tracer(SCOPE_NAME).start_as_current_span(
            self.name, attributes=self.attributes, record_exception=False, set_status_on_exception=False
        )
        return manager, manager.__enter__()

    def _exit(self, state: Any, error: BaseException | None) -> None:
        manager, span = state
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        manager.__exit__(type(error) if error else None, error, error.__traceback__ if error else None)


def _entity(kind: str) -> Callable[[str], _Helper]:
    def make(name: str) -> _Helper:
        return _SpanHelper(kind, name, {"traceloop.span.kind": kind, "traceloop.entity.name": name})

    make.__name__ = kind
    make.__doc__ = f"A {kind} span named ``name`` around the block or function (Datadog kind: {kind})."
    return make


workflow = _entity("workflow")
agent = _entity("agent")
task = _entity("task")
tool = _entity("tool")


def retrieval(name: str = "retrieval") -> _Helper:
    """A retrieval span (vector search, RAG lookup); put the documents found on it with ``annotate(output=...)``."""
    return _SpanHelper("retrieval", name, {"gen_ai.operation.name": "retrieval", "traceloop.entity.name": name})


def annotate(
    input: Any = None,
    output: Any = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    span: Span | None = None,
) -> None:
    """Input, output, metadata and tags on a span (default: the current one, e.g. inside ``workflow``)."""
    target = span or trace.get_current_span()
    if not target.is_recording():
        return
    if input is not None:
        target.set_attribute("traceloop.entity.input", _text(input))
    if output is not None:
        target.set_attribute("traceloop.entity.output", _text(output))
    if metadata:
        target.set_attribute("_dd.ml_obs.metadata", json.dumps(dict(metadata), default=str))
    for key, value in (tags or {}).items():
        target.set_attribute(f"{TAG_PREFIX}{key}", str(value))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def submit_evaluation(
    label: str,
    value: float | str,
    *,
    assessment: str | None = None,
    reasoning: str | None = None,
    span: Span | SpanContext | None = None,
) -> bool:
    """An evaluation of a model call (default: the last one that ended in this process), sent as a
    ``gen_ai.evaluation.result`` event. A number is a score; a string a category. Returns False when there is no
    call to attach it to."""
    target = span.get_span_context() if isinstance(span, Span) else span
    target = target or STAMPER.last_model_call
    if target is None or not target.is_valid:
        return False
    attributes: dict[str, Any] = {"gen_ai.evaluation.name": label}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        attributes["gen_ai.evaluation.score.value"] = float(value)
        if assessment in ("pass", "fail"):
            attributes["gen_ai.evaluation.score.label"] = assessment
    else:
        attributes["gen_ai.evaluation.score.label"] = str(value)
    if reasoning:
        attributes["gen_ai.evaluation.explanation"] = reasoning
    context = trace.set_span_in_context(trace.NonRecordingSpan(target))
    _logs.get_logger(SCOPE_NAME).emit(event_name="gen_ai.evaluation.result", context=context, attributes=attributes)
    return True


def feedback(
    value: bool | int,
    *,
    comment: str | None = None,
    label: str = "feedback",  # the quality dashboard (deploy/datadog/dashboards/quality.json) reads this label
    span: Span | SpanContext | None = None,
) -> bool:
    """A user's verdict on an answer: thumbs (True/False) or a rating from 1 to 5. Thumbs up and ratings of 4 or
    5 pass, thumbs down and ratings of 1 or 2 fail."""
    assessment: str | None
    if isinstance(value, bool):
        score, assessment = (1.0, "pass") if value else (0.0, "fail")
    elif isinstance(value, int) and 1 <= value <= 5:
        score = float(value)
        assessment = "pass" if value >= 4 else "fail" if value <= 2 else None
    else:
        raise ValueError(f"feedback is True/False (thumbs) or a rating from 1 to 5, not {value!r}")
    return submit_evaluation(label, score, assessment=assessment, reasoning=comment, span=span)
