"""The relay says what the user cannot see: the first spans of each service (instrumentation, content or not),
GenAI spans that never carry content (with the switches to flip), and spans without a service name. Real
captures of real instrumentations, posted to a real relay."""

from __future__ import annotations

import logging

from tests.conftest import fixture_files, post_otlp, signal_of
from tests.processors.conftest import chat_span, trace_request


def said(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


async def post_all(relay, source: str) -> None:
    for path in fixture_files(source):
        status, _, _ = await post_otlp(relay, signal_of(path), path.read_bytes())
        assert status == 200
    assert await relay.flush(timeout=20)


async def test_a_service_without_content_is_told_once_how_to_turn_it_on(make_relay, caplog):
    relay = await make_relay()
    with caplog.at_level(logging.INFO, logger="glassbox"):
        await post_all(relay, "ll_nocontent")
        await post_all(relay, "ll_nocontent")  # again: nothing more is said

    (first,) = said(caplog, "first GenAI spans from service")
    assert "opentelemetry.instrumentation.openai" in first and "message content absent" in first
    (warning,) = said(caplog, "without any message content")
    assert "TRACELOOP_TRACE_CONTENT=true" in warning and "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT" in warning


async def test_a_service_with_content_gets_its_first_line_and_no_warning(make_relay, caplog):
    relay = await make_relay()
    with caplog.at_level(logging.INFO, logger="glassbox"):
        await post_all(relay, "ll_events")

    (first,) = said(caplog, "first GenAI spans from service")
    assert "message content present" in first
    assert not said(caplog, "without any message content")


async def test_spans_without_a_service_name_are_pointed_at_otel_service_name(make_relay, caplog):
    relay = await make_relay()
    request = trace_request([chat_span(1, "hi", "hello")], resource={"telemetry.sdk.language": "python"})
    with caplog.at_level(logging.INFO, logger="glassbox"):
        for _ in range(2):
            assert (await post_otlp(relay, "traces", request.SerializeToString()))[0] == 200
        assert await relay.flush(timeout=20)

    (warning,) = said(caplog, "without service.name")
    assert "OTEL_SERVICE_NAME" in warning


async def test_messages_with_roles_but_empty_text_are_not_content(make_relay, caplog):
    # what the JavaScript instrumentation sends with capture off: the roles, no text
    relay = await make_relay()
    request = trace_request([chat_span(1, "", "")])
    with caplog.at_level(logging.INFO, logger="glassbox"):
        assert (await post_otlp(relay, "traces", request.SerializeToString()))[0] == 200
        assert await relay.flush(timeout=20)

    (first,) = said(caplog, "first GenAI spans from service")
    assert "message content absent" in first
    assert said(caplog, "without any message content")
