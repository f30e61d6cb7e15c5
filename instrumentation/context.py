"""What the helpers put in scope (session, user, prompt), and the span processor that stamps it on every span.

The helpers set a context variable; ``StampingProcessor.on_start`` copies it onto each span started inside, so
the attributes reach spans made by any instrumentation (OpenAI, LangChain...) without touching them. Context
variables follow ``asyncio`` tasks and ``contextvars.copy_context()``, so a session set around an ``await``
stays with that request.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanContext

Attributes = Mapping[str, Any]

# The attributes every span started in the current scope gets (the innermost helper's value wins).
SCOPE: contextvars.ContextVar[Attributes] = contextvars.ContextVar("glassbox_scope", default=MappingProxyType({}))

# The operation names that mark a model call (``gen_ai.operation.name``), and OpenLLMetry's older marker.
MODEL_CALLS = frozenset({"chat", "text_completion", "completion", "generate_content", "responses", "embeddings"})


class StampingProcessor(SpanProcessor):
    """Copies the scope's attributes onto spans as they start, and remembers the last model call that ended
    (what ``submit_evaluation`` evaluates when it is given no span)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last_model_call: SpanContext | None = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        attributes = SCOPE.get()
        if attributes:
            span.set_attributes(dict(attributes))

    def on_end(self, span: ReadableSpan) -> None:
        attributes = span.attributes or {}
        if attributes.get("gen_ai.operation.name") in MODEL_CALLS or "llm.request.type" in attributes:
            with self._lock:
                self.last_model_call = span.get_span_context()

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


STAMPER = StampingProcessor()


def scoped(attributes: Attributes) -> contextvars.Token[Attributes]:
    """Enter a scope that adds ``attributes`` to the enclosing ones (undo with ``SCOPE.reset(token)``)."""
    return SCOPE.set({**SCOPE.get(), **{k: v for k, v in attributes.items() if v is not None}})
