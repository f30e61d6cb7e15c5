"""When the relay is ready it logs one summary: receivers as bound, the processor chain with what redaction looks
for, each exporter's real destination, and why the embedded default picked it — never a secret."""

from __future__ import annotations

import logging
from pathlib import Path

from glassbox.collector.config import default_config
from glassbox.collector.service import Relay

SECRET = "dd-secret-0123456789abcdef"


def summary_of(caplog) -> str:
    lines = [r.getMessage() for r in caplog.records if " ready; config: " in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    return lines[0]


def on_free_ports(config, tmp_path: Path):
    """The embedded default binds the standard ports; tests must not, so only the ports and folders change."""
    config.receivers.otlp.grpc.endpoint = config.receivers.otlp.http.endpoint = "127.0.0.1:0"
    config.admin.endpoint = "127.0.0.1:0"
    config.storage.directory = str(tmp_path / "storage")
    return config


async def started_default(environ: dict[str, str], tmp_path: Path, caplog) -> tuple[Relay, str]:
    """The embedded default in ``environ``, started on free ports and stopped again; its summary."""
    relay = Relay(on_free_ports(default_config(environ=environ, base_dir=tmp_path), tmp_path), base_dir=tmp_path)
    with caplog.at_level(logging.INFO, logger="glassbox"):
        await relay.start()
    try:
        return relay, summary_of(caplog)
    finally:
        await relay.stop()


async def test_the_default_says_it_sends_to_datadog_because_of_dd_api_key_and_never_shows_it(tmp_path, caplog):
    environ = {"DD_API_KEY": SECRET, "DD_LLMOBS_OVERRIDE_ORIGIN": "http://127.0.0.1:9"}
    relay, text = await started_default(environ, tmp_path, caplog)

    assert "config: the embedded default, sending to Datadog because DD_API_KEY is set" in text
    assert f"OTLP/gRPC on 127.0.0.1:{relay.grpc_port}" in text and f"on 127.0.0.1:{relay.http_port}" in text
    assert "processors: redaction: " in text and "EMAIL_ADDRESS" in text and " -> cost -> prompts -> evals" in text
    assert "exporter datadog: span events to http://127.0.0.1:9/api/v2/llmobs" in text and "agentless" in text
    assert f"admin: http://127.0.0.1:{relay.admin_port}" in text
    assert SECRET not in caplog.text


async def test_without_datadog_variables_it_says_everything_stays_local(tmp_path, caplog):
    relay, text = await started_default({}, tmp_path, caplog)

    assert "config: the embedded default (local SQLite: no Datadog variable is set)" in text
    assert "exporter local: SQLite " in text and f"the viewer at http://127.0.0.1:{relay.admin_port}/" in text


async def test_a_password_in_an_otlp_url_and_header_values_stay_out(make_relay, caplog, tmp_path):
    with caplog.at_level(logging.INFO, logger="glassbox"):
        relay = await make_relay(
            {"otlp": {"endpoint": f"http://user:{SECRET}@127.0.0.1:9", "headers": {"x-api-key": SECRET}}}
        )
    text = summary_of(caplog)
    assert "exporter otlp: OTLP/HTTP protobuf to http://***@127.0.0.1:9{/v1/traces,/v1/logs,/v1/metrics}" in text
    assert "headers x-api-key" in text and "redaction: OFF for otlp (pipeline.send_unredacted: true)" in text
    assert SECRET not in caplog.text
    assert relay.http_port
