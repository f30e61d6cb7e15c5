"""Receiver auth and TLS with real OTel SDK exporters, and secrets never showing up anywhere."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.conftest import OTLP_CAPTURES

TOKEN = "relay-token-5f1e0c"
API_KEY = "dd-api-key-9b7a6c"
OTLP_SECRET = "otlp-header-secret-77aa"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def finished_spans(count: int = 2):
    """Real SDK spans (GenAI chat calls) to hand to an exporter."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "secure-app"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    for i in range(count):
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            span.set_attribute("gen_ai.conversation.id", f"secure-{i}")
    return memory.get_finished_spans()


def secured(cert: Path, key: Path) -> dict:
    tls = {"cert_file": str(cert), "key_file": str(key)}
    auth = {"bearer_token": TOKEN}
    return {
        "otlp": {
            "grpc": {"endpoint": "127.0.0.1:0", "auth": auth, "tls": tls},
            "http": {"endpoint": "127.0.0.1:0", "auth": auth, "tls": tls},
        }
    }


async def test_http_receiver_with_tls_and_bearer_token(make_relay, certificate, monkeypatch):
    cert, key = certificate
    # requests prefers these over the exporter's certificate_file when its transport sets the CA on the session
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    relay = await make_relay(receivers=secured(cert, key))
    url = f"https://127.0.0.1:{relay.http_port}/v1/traces"
    good = HttpSpanExporter(endpoint=url, certificate_file=str(cert), headers={"Authorization": f"Bearer {TOKEN}"})
    wrong = HttpSpanExporter(endpoint=url, certificate_file=str(cert), headers={"Authorization": "Bearer nope"})
    assert await asyncio.to_thread(good.export, finished_spans()) == SpanExportResult.SUCCESS
    assert await asyncio.to_thread(wrong.export, finished_spans()) == SpanExportResult.FAILURE
    assert await relay.flush()
    assert {r["session_id"] for r in relay.local_exporter.store.recent(10)} == {"secure-0", "secure-1"}
    assert (
        relay.telemetry.value("receiver_refused_requests", transport="http", signal="traces", reason="unauthorized")
        >= 1
    )


async def test_grpc_receiver_with_tls_and_bearer_token(make_relay, certificate):
    cert, key = certificate
    relay = await make_relay(receivers=secured(cert, key))
    endpoint = f"https://127.0.0.1:{relay.grpc_port}"
    credentials = grpc.ssl_channel_credentials(cert.read_bytes())
    good = GrpcSpanExporter(
        endpoint=endpoint, credentials=credentials, headers={"authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    anonymous = GrpcSpanExporter(endpoint=endpoint, credentials=credentials, timeout=5)
    assert await asyncio.to_thread(good.export, finished_spans(1)) == SpanExportResult.SUCCESS
    assert await asyncio.to_thread(anonymous.export, finished_spans(1)) == SpanExportResult.FAILURE
    assert (
        relay.telemetry.value("receiver_refused_requests", transport="grpc", signal="traces", reason="unauthorized")
        == 1
    )


def test_secrets_never_appear_in_logs_metrics_or_validate(tmp_path):
    """Run the relay with secrets in its config, make auth and delivery fail, and grep everything it printed."""
    config = tmp_path / "relay.yaml"
    config.write_text(f"""
receivers:
  otlp:
    grpc: {{endpoint: "127.0.0.1:0", auth: {{bearer_token: "{TOKEN}"}}}}
    http: {{endpoint: "127.0.0.1:0", auth: {{bearer_token: "{TOKEN}"}}}}
exporters:
  datadog: {{transport: agentless, api_key: "{API_KEY}", override_origin: "http://127.0.0.1:9",
            flush_interval: 0.05, retry_initial_interval: 0.05, retry_max_elapsed: 0.3}}
  otlp: {{endpoint: "http://127.0.0.1:9", headers: {{x-secret: "{OTLP_SECRET}"}}, flush_interval: 0.05,
          retry_initial_interval: 0.05, retry_max_elapsed: 0.3}}
pipeline: {{exporters: [datadog, otlp], send_unredacted: true}}
storage: {{directory: "{tmp_path / "q"}"}}
admin: {{endpoint: "127.0.0.1:0"}}
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_"))}
    cli = [sys.executable, "-m", "glassbox.collector.cli"]
    relay = subprocess.Popen(
        [*cli, "--log-level", "DEBUG", "run", "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines: list[str] = []
    try:
        ports = {}
        for line in relay.stdout:
            lines.append(line)
            for what in ("OTLP/HTTP receiver", "admin server"):
                if what in line:
                    ports[what] = int(line.rsplit(":", 1)[1])
            if len(ports) == 2:
                break
        http, admin = ports["OTLP/HTTP receiver"], ports["admin server"]
        body = OTLP_CAPTURES / "ll_default" / "0001_traces.pb"
        for token in (TOKEN, "wrong"):
            request = urllib.request.Request(
                f"http://127.0.0.1:{http}/v1/traces",
                data=body.read_bytes(),
                headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {token}"},
            )
            try:
                urllib.request.urlopen(request, timeout=5).read()
            except urllib.error.HTTPError as exc:
                assert exc.code == 401
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
        # Both destinations are unreachable: wait until both gave up (dead letters), then stop.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
            if metrics.count("glassbox_exporter_dead_letters_total{") >= 2:
                break
            time.sleep(0.05)  # poll interval only; the deadline bounds the wait
        assert metrics.count("glassbox_exporter_dead_letters_total{") >= 2, metrics
    finally:
        relay.terminate()
        out, _ = relay.communicate(timeout=20)
        lines.append(out)
    validate = subprocess.run([*cli, "validate", "-c", str(config)], capture_output=True, text=True, env=env)
    broken = tmp_path / "broken.yaml"
    broken.write_text(config.read_text().replace("transport: agentless", "transport: sideways"))
    invalid = subprocess.run([*cli, "validate", "-c", str(broken)], capture_output=True, text=True, env=env)
    assert invalid.returncode == 1
    everything = "".join(lines) + metrics + validate.stdout + validate.stderr + invalid.stdout + invalid.stderr
    assert "unauthorized" in metrics and "dead letters" in everything  # the failures really happened
    for secret in (TOKEN, API_KEY, OTLP_SECRET):
        assert secret not in everything, f"{secret} leaked"
