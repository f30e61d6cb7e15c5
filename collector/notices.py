"""What the relay notices about its senders that the user cannot see: one log line each, once per service.

* the first spans from a new service: which instrumentation sends them, and whether they carry content;
* GenAI spans from a service that never carry any message content (capture is off in the app): the switches;
* spans without ``service.name`` (or the SDK's ``unknown_service`` placeholder): the variable to set.

It reads the span model after joining, before the processors (so "content" means what the app sent). Memory is
bounded: at most ``MAX_SERVICES`` services are remembered; beyond that nothing more is said.
"""

from __future__ import annotations

import logging

from glassbox.processors import model as M

log = logging.getLogger("glassbox.notices")
MAX_SERVICES = 1_000
CONTENT_SWITCHES = (
    "OpenLLMetry: TRACELOOP_TRACE_CONTENT=true; official OpenAI (openai-v2): "
    "OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental and "
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=span_only (or event_only, with a logs exporter); "
    "OpenLIT: capture_message_content=True"
)


def has_content(span: M.Span) -> bool:
    """Whether the span carries anything a person wrote or read. Messages with a role and empty text (the JavaScript
    instrumentation with capture off) are not content."""
    return any(
        any(m.content or m.tool_calls or m.tool_results for m in io.messages) or io.documents or io.value
        for io in (span.input, span.output)
    ) or bool(span.tool_definitions)


def _instrumentation(span: M.Span) -> str:
    scope = span.wire.scope if span.wire is not None else None
    if scope is None or not scope.name:
        return "an unnamed instrumentation"
    return f"{scope.name} {scope.version}".strip()


class Notices:
    def __init__(self) -> None:
        self._seen: set[str] = set()  # services that got their first-spans line
        self._with_content: set[str] = set()  # services that sent GenAI content at least once
        self._warned_empty: set[str] = set()
        self._warned_unnamed = False

    def observe(self, spans: list[M.Span]) -> None:
        for span in spans:
            service = span.service or ""
            if not service or service.startswith("unknown_service"):
                if not self._warned_unnamed:
                    self._warned_unnamed = True
                    log.warning(
                        "spans from %s arrive without service.name%s: set OTEL_SERVICE_NAME (or DD_SERVICE with "
                        "glassbox-instrument) in the app, so Datadog can tell its services apart",
                        _instrumentation(span),
                        f" ({service})" if service else "",
                    )
                continue
            if not span.is_genai:
                continue
            content = has_content(span)
            if content:
                self._with_content.add(service)
            if service not in self._seen and len(self._seen) < MAX_SERVICES:
                self._seen.add(service)
                log.info(
                    "first GenAI spans from service %r (%s; message content %s)",
                    service,
                    _instrumentation(span),
                    "present" if content else "absent",
                )
            if (
                span.kind in (M.LLM, M.EMBEDDING)
                and not content
                and service not in self._with_content
                and service not in self._warned_empty
                and len(self._warned_empty) < MAX_SERVICES
            ):
                self._warned_empty.add(service)
                log.warning(
                    "service %r sends %s spans without any message content (capture is off in the app, so Datadog "
                    "will show calls without prompts or answers); to turn it on: %s",
                    service,
                    span.kind,
                    CONTENT_SWITCHES,
                )
