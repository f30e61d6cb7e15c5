"""``exporters.metrics`` settings: the keys of issue 12 as written, bad values named by key with the fix, the
Datadog environment, and the redaction rule (metrics leave the machine: their tag values come from the app)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from glassbox.collector.config import ConfigError, parse

REDACTED = {"processors": {"redaction": {}}}


def config(metrics: dict[str, Any], **pipeline: Any) -> dict[str, Any]:
    return {
        **REDACTED,
        "exporters": {"metrics": metrics},
        "pipeline": {"processors": ["redaction"], "exporters": ["metrics"], **pipeline},
    }


def errors_of(data: dict[str, Any], environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(data, environ=environ or {})
    return caught.value.errors


def test_the_issue_keys_work_as_written():
    settings = parse(
        config(
            {
                "transport": "dogstatsd",
                "dogstatsd_url": "udp://127.0.0.1:8125",
                "tag_allowlist": ["feature", "tenant_tier"],
            }
        ),
        environ={},
    ).exporters.metrics
    assert settings.dogstatsd_url == "udp://127.0.0.1:8125" and settings.tag_allowlist == ["feature", "tenant_tier"]
    assert settings.max_tag_values == 100 and settings.tag_values_window == 3600.0
    unix = parse(config({"dogstatsd_url": "unix:///var/run/datadog/dsd.socket"}), environ={}).exporters.metrics
    assert unix.dogstatsd_url == "unix:///var/run/datadog/dsd.socket"


EXAMPLE = "e.g. udp://127.0.0.1:8125 or unix:///var/run/datadog/dsd.socket"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("tcp://127.0.0.1:8125", " is not a DogStatsD URL: the scheme must be udp or unix"),
        ("127.0.0.1:8125", " is not a DogStatsD URL: the scheme must be udp or unix"),
        ("udp://127.0.0.1", ": a udp URL is udp://host:port, with nothing after the port"),
        ("udp://127.0.0.1:99999", ": a udp URL is udp://host:port, with nothing after the port"),
        ("udp://127.0.0.1:8125/x", ": a udp URL is udp://host:port, with nothing after the port"),
        ("unix://var/run/dsd.socket", ": a unix socket URL takes an absolute path (three slashes: unix:///path)"),
    ],
)
def test_bad_dogstatsd_urls_name_the_key_and_an_example(url, says):
    assert errors_of(config({"dogstatsd_url": url})) == [f"exporters.metrics.dogstatsd_url: {url!r}{says}; {EXAMPLE}"]


def test_bad_values_are_named():
    errors = errors_of(
        config({"transport": "statsd", "override_origin": "ftp://x", "max_tag_values": 0, "tags": {"team": "a"}})
    )
    assert errors[0].startswith("exporters.metrics.transport: Input should be 'dogstatsd' or 'api'")
    assert "exporters.metrics.override_origin: 'ftp://x' is not an http(s) URL (e.g. http://127.0.0.1:8126)" in errors
    assert "exporters.metrics.max_tag_values: Input should be greater than 0" in errors
    assert any(e.startswith("exporters.metrics.tags: 'team' cannot be set here") for e in errors)


@pytest.mark.parametrize("tag", ["user_id", "session.id", "trace_id", "gen_ai.conversation.id"])
def test_identities_are_never_allowed(tag):
    (error,) = errors_of(config({"tag_allowlist": ["feature", tag]}))
    assert error.startswith(f"exporters.metrics.tag_allowlist: [1] {tag!r} is never a metric tag")


def test_api_needs_a_key_and_the_environment_fills_it():
    assert errors_of(config({"transport": "api"})) == [
        "exporters.metrics.api_key: required with transport: api; set DD_API_KEY or api_key: ${env:DD_API_KEY}"
    ]
    environ = {"DD_API_KEY": "k", "DD_SITE": "datadoghq.eu", "DD_ENV": "prod", "DD_AGENT_HOST": "10.0.0.7"}
    settings = parse(config({"transport": "api"}), environ=environ).exporters.metrics
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "k"
    assert settings.site == "datadoghq.eu" and settings.tags == {"env": "prod"}
    assert settings.dogstatsd_url == "udp://10.0.0.7:8125"
    explicit = parse(config({"dogstatsd_url": "udp://127.0.0.1:9125"}), environ=environ).exporters.metrics
    assert explicit.dogstatsd_url == "udp://127.0.0.1:9125"  # explicit config wins


def test_without_redaction_the_relay_refuses_like_for_any_egress():
    data = {"exporters": {"metrics": {}}, "pipeline": {"exporters": ["metrics"]}}
    (error,) = errors_of(data)
    assert error.startswith("pipeline: metrics sends data off this machine and no processor in pipeline.processors")


def test_glassbox_validate_lists_every_problem(tmp_path: Path):
    path = tmp_path / "relay.yaml"
    path.write_text(
        "processors: {redaction: {}}\n"
        "exporters:\n"
        "  metrics:\n"
        "    transport: dogstatsd\n"
        '    dogstatsd_url: "tcp://127.0.0.1:8125"\n'
        "    tag_allowlist: [feature, user_id]\n"
        "pipeline: {processors: [redaction], exporters: [metrics]}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "glassbox.collector.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    out = done.stdout + done.stderr
    assert "exporters.metrics.dogstatsd_url: 'tcp://127.0.0.1:8125' is not a DogStatsD URL" in out
    assert "exporters.metrics.tag_allowlist: [1] 'user_id' is never a metric tag" in out
