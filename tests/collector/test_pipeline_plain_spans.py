"""Spans that are not GenAI skip the processors when no exporter of the pipeline forwards them (they have done
their part in the join), and go through every processor when one does (the OTLP copy must be redacted)."""

from __future__ import annotations

from tests.collector.delivery.test_exact_acks import genai_traces, plain_traces
from tests.conftest import post_otlp
from tests.support.capture_server import CaptureServer


async def send_both(relay) -> None:
    assert (await post_otlp(relay, "traces", genai_traces([0x71], evaluation=False)))[0] == 200
    assert (await post_otlp(relay, "traces", plain_traces([0x72, 0x73])))[0] == 200
    assert await relay.flush(timeout=10)


async def test_without_an_exporter_that_forwards_them_plain_spans_skip_the_processors(make_relay, tmp_path):
    relay = await make_relay(
        {"local": {"path": str(tmp_path / "spans.db")}},
        processors={"redaction": {"workers": 0}},
        pipeline={"processors": ["redaction"]},
    )
    await send_both(relay)
    assert relay.telemetry.value("processor_spans", processor="redaction") == 1
    assert relay.telemetry.value("pipeline_spans", kind="other") == 2  # still counted as seen


async def test_with_the_otlp_copy_every_span_is_processed(make_relay, tmp_path):
    with CaptureServer() as capture:
        capture.set_default(200, {}, b"")
        relay = await make_relay(
            {"otlp": {"endpoint": capture.url, "flush_interval": 0.05, "compression": "none"}},
            processors={"redaction": {"workers": 0}},
            pipeline={"processors": ["redaction"]},
        )
        await send_both(relay)
        assert relay.telemetry.value("processor_spans", processor="redaction") == 3
