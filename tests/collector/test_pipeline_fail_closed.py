"""A processor that raises must not let raw content through: every exporter gets the spans without content."""

from __future__ import annotations

import gzip

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from glassbox.collector import telemetry as T
from glassbox.processors.scrub import MARKER
from tests.conftest import fixture_files, post_otlp, signal_of
from tests.support.capture_server import CaptureServer


class Exploding:
    """A third-party-style processor with a bug (the pipeline must contain it); ``error`` is what it raises."""

    name = "exploding"

    def __init__(self, error: Exception | None = None):
        self.error = error or RuntimeError("bug in a processor")

    def start(self) -> None:
        return None

    def process(self, batch):
        raise self.error

    def shutdown(self) -> None:
        return None


async def test_a_failing_processor_fails_closed_for_every_exporter(make_relay, tmp_path):
    with CaptureServer() as otlp_sink:
        relay = await make_relay(
            {"local": {"path": str(tmp_path / "spans.db")}, "otlp": {"endpoint": otlp_sink.url, "flush_interval": 0.05}}
        )
        relay.pipeline.processors.append(("exploding", Exploding()))
        for path in fixture_files("ll_events"):
            status, _, _ = await post_otlp(relay, signal_of(path), path.read_bytes())
            assert status == 200  # accepted: the data is kept, only its content is withheld
        assert await relay.flush(timeout=20)

    rows = relay.local_exporter.store.recent(100)
    assert rows and all(r["event"]["meta"].get("input") == {"value": MARKER} for r in rows)
    assert all("glassbox.scrubbed:processor_error:exploding" in r["event"]["tags"] for r in rows)
    assert 21 in {r["event"]["metrics"].get("input_tokens") for r in rows if r["kind"] == "llm"}  # metrics stay

    trace_posts = [r for r in otlp_sink.requests if r.path == "/v1/traces"]
    assert trace_posts
    for post in trace_posts:
        request = ExportTraceServiceRequest()
        request.ParseFromString(gzip.decompress(post.raw_body))
        for span in (s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans):
            assert [kv.key for kv in span.attributes] == ["glassbox.scrubbed"]
            assert all(not event.attributes for event in span.events)
    log_posts = [r for r in otlp_sink.requests if r.path == "/v1/logs"]
    assert log_posts  # log records leave only as markers: no body, no attribute of theirs
    for post in log_posts:
        request = ExportLogsServiceRequest()
        request.ParseFromString(gzip.decompress(post.raw_body))
        for record in (r for rl in request.resource_logs for sl in rl.scope_logs for r in sl.log_records):
            assert record.body.string_value == MARKER and not record.attributes
    assert relay.telemetry.total(T.PROCESSOR_FAILED_SPANS) > 0


async def test_the_relay_log_names_the_failure_but_never_quotes_its_message(make_relay, caplog):
    """Logs leave the machine too (a log agent ships stdout): an exception's message can quote content."""
    relay = await make_relay()
    # an exception that quotes the content it choked on, as KeyError(customer_email) would
    relay.pipeline.processors.append(("quoting", Exploding(KeyError("ana.lopez@example.com"))))
    path = fixture_files("ll_events")[0]
    with caplog.at_level("INFO", logger="glassbox"):
        status, _, _ = await post_otlp(relay, signal_of(path), path.read_bytes())
        assert status == 200
        assert await relay.flush(timeout=20)

    failures = [r.getMessage() for r in caplog.records if "processor quoting failed" in r.getMessage()]
    assert failures and "KeyError at test_pipeline_fail_closed.py:" in failures[0]
    assert "ana.lopez@example.com" not in caplog.text
