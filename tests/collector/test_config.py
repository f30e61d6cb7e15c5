"""Relay configuration: ``${env:…}`` substitution, strict keys, every error at once with its key path, the
ddtrace ``DD_*`` environment, the embedded default, and an API key that never leaks.

Environments are passed as ``environ=`` dicts; ``os.environ`` is never read or changed here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glassbox.collector.config import ConfigError, RelayConfig, default_config, load, parse

SECRET = "sekrit-123"
LOCAL = {"exporters": {"local": {"path": "spans.db"}}, "pipeline": {"exporters": ["local"]}}


def with_datadog(datadog: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    """A datadog exporter config (these tests are about its settings, so redaction is waived explicitly)."""
    pipeline = {"exporters": ["datadog"], "send_unredacted": True}
    return {"exporters": {"datadog": datadog or {}}, "pipeline": pipeline, **sections}


def errors_of(data: Any, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(data, environ=environ or {})
    return caught.value.errors


def datadog(environ: dict[str, str], datadog_config: dict[str, Any] | None = None):
    return parse(with_datadog(datadog_config), environ=environ).exporters.datadog


# --- ${env:…} substitution ------------------------------------------------------------------------------------------


def test_env_values_and_defaults_are_substituted():
    config = parse(
        {
            "receivers": {
                "otlp": {
                    "http": {"endpoint": "${env:HTTP_HOST}:${env:HTTP_PORT:-4318}"},
                    "grpc": {"endpoint": "127.0.0.1:${env:GRPC_PORT:-4317}"},
                }
            },
            "exporters": {"local": {"path": "${env:DB_DIR:-/var/lib}/${env:DB_NAME:-}spans.db"}},
            "pipeline": {"exporters": ["${env:EXPORTER}"]},
        },
        environ={"HTTP_HOST": "0.0.0.0", "GRPC_PORT": "5317", "EXPORTER": "local"},
    )

    assert config.receivers.otlp.http.endpoint == "0.0.0.0:4318"
    assert config.receivers.otlp.grpc.endpoint == "127.0.0.1:5317"  # a set variable beats its default
    assert config.exporters.local.path == "/var/lib/spans.db"  # ${env:X:-} defaults to the empty string
    assert config.pipeline.exporters == ["local"]


def test_substitution_touches_values_not_keys():
    errors = errors_of({**LOCAL, "${env:SECTION}": {}}, environ={"SECTION": "admin"})

    assert errors == [
        "${env:SECTION}: unknown key; known keys here: receivers, processors, exporters, pipeline, storage, admin"
    ]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({**LOCAL, "admin": {"endpoint": "${env:ADMIN_ENDPOINT}"}}, "admin.endpoint"),
        ({"exporters": {"local": {}}, "pipeline": {"exporters": ["local", "${env:SECOND}"]}}, "pipeline.exporters[1]"),
        (with_datadog({"api_key": "${env:MY_DD_KEY}"}), "exporters.datadog.api_key"),
    ],
)
def test_a_missing_variable_names_its_key_path(data, path):
    errors = errors_of(data)

    name = next(part for part in ("ADMIN_ENDPOINT", "SECOND", "MY_DD_KEY") if part in str(data))
    assert f"{path}: environment variable {name} is not set; export it or write ${{env:{name}:-default}}" in errors


# --- strict keys, every error at once ----------------------------------------------------------------------------


def test_unknown_keys_are_rejected_with_their_path():
    errors = errors_of(
        {
            **LOCAL,
            "recievers": {},
            "receivers": {"otlp": {"http": {"endpont": "127.0.0.1:1"}}},
            "exporters": {"local": {"path": "x.db", "max_span": 3}},
        }
    )

    assert sorted(e.split(":")[0] for e in errors) == [
        "exporters.local.max_span",
        "receivers.otlp.http.endpont",
        "recievers",
    ]
    assert all("unknown key" in e for e in errors)


def test_every_error_in_a_file_is_reported_at_once(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("""
receivers:
  otlp:
    http: {endpoint: "localhost", max_body_bytes: 0}
    grpc: {endpoint: "127.0.0.1:99999"}
exporters:
  local: {path: spans.db, colour: blue}
  otlp: {endpoint: "127.0.0.1:4318"}
pipeline:
  processors: [redactoin, debug, debug]
  exporters: [local, datadog, nope]
  join_timeout: 900
admin: {endpoint: "${env:ADMIN}"}
""")
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})

    paths = [error.split(": ")[0] for error in caught.value.errors]
    for expected in [
        "receivers.otlp.http.endpoint",
        "receivers.otlp.http.max_body_bytes",
        "receivers.otlp.grpc.endpoint",
        "exporters.local.colour",
        "exporters.otlp.endpoint",
        "pipeline.processors[0]",
        "pipeline.processors[2]",
        "pipeline.exporters[1]",
        "pipeline.exporters[2]",
        "pipeline.join_timeout",
        "admin.endpoint",
    ]:
        assert expected in paths, caught.value.errors
    message = str(caught.value)
    assert message.startswith(f"{path} has {len(caught.value.errors)} error(s):")
    assert all(f"  - {error}" in message for error in caught.value.errors)


def test_the_agentless_key_error_is_reported_with_the_others():
    """The missing key is not held back until the rest of the file is fixed."""
    errors = errors_of(with_datadog({"transport": "agentless"}, admin={"endpoint": "nowhere"}))

    assert any(e.startswith("admin.endpoint:") for e in errors)
    assert any(e.startswith("exporters.datadog.api_key:") for e in errors)


@pytest.mark.parametrize(
    "endpoint",
    [
        "localhost",
        "127.0.0.1",
        ":4318",
        "127.0.0.1:65536",
        "127.0.0.1:port",
        "http://127.0.0.1:4318",
        "127.0.0.1:4318/v1",
        "",
    ],
)
def test_bad_endpoints_are_rejected_with_an_example(endpoint):
    errors = errors_of({**LOCAL, "receivers": {"otlp": {"http": {"endpoint": endpoint}}}})

    assert errors == [
        f"receivers.otlp.http.endpoint: {endpoint!r} is not host:port (e.g. 127.0.0.1:4318; port 0 picks a free port)"
    ]


@pytest.mark.parametrize("endpoint", ["0.0.0.0:4318", "localhost:0", "[::1]:4317", "relay.internal:65535"])
def test_good_endpoints_are_accepted(endpoint):
    admin = {"endpoint": endpoint, "token": "t"}  # beyond loopback the viewer needs one (tests/viewer)
    assert parse({**LOCAL, "admin": admin}, environ={}).admin.endpoint == endpoint


@pytest.mark.parametrize(("field", "value"), [("agent_url", "127.0.0.1:8126"), ("override_origin", "ftp://x")])
def test_bad_datadog_urls_are_rejected(field, value):
    errors = errors_of(with_datadog({field: value}))

    assert errors == [f"exporters.datadog.{field}: {value!r} is not an http(s) URL (e.g. http://127.0.0.1:8126)"]


def test_agentless_without_an_api_key_is_a_clear_error():
    errors = errors_of(with_datadog({"transport": "agentless"}))

    assert errors == [
        "exporters.datadog.api_key: required with transport: agentless; set DD_API_KEY or api_key: ${env:DD_API_KEY}"
    ]


def test_a_pipeline_without_exporters_says_what_is_configured():
    assert errors_of({"exporters": {"local": {}}}) == [
        "pipeline.exporters: list at least one exporter (configured: ['local'])"
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("- just\n- a list\n", "(top level): expected a mapping of sections, got list"),
        ("receivers:\n  otlp: [unclosed\n", "invalid YAML"),
    ],
)
def test_unusable_documents_are_config_errors(tmp_path: Path, text, says):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})

    assert says in str(caught.value)


def test_a_missing_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path / "absent.yaml", environ={})

    assert caught.value.errors == [f"cannot read {tmp_path / 'absent.yaml'}: No such file or directory"]


# --- the ddtrace environment --------------------------------------------------------------------------------------


def test_nothing_set_means_the_local_agent():
    dd = datadog({})

    assert (dd.transport, dd.agent_url, dd.site, dd.api_key, dd.ml_app, dd.tags) == (
        "agent",
        "http://127.0.0.1:8126",
        "datadoghq.com",
        None,
        None,
        {},
    )


def test_dd_api_key_alone_means_agentless():
    dd = datadog({"DD_API_KEY": SECRET, "DD_SITE": "datadoghq.eu"})

    assert dd.transport == "agentless"
    assert dd.api_key.get_secret_value() == SECRET
    assert dd.site == "datadoghq.eu"


@pytest.mark.parametrize(
    ("environ", "agent_url"),
    [
        ({"DD_AGENT_HOST": "dd-agent"}, "http://dd-agent:8126"),
        ({"DD_AGENT_HOST": "dd-agent", "DD_TRACE_AGENT_PORT": "18126"}, "http://dd-agent:18126"),
        ({"DD_TRACE_AGENT_URL": "http://10.0.0.7:8126/"}, "http://10.0.0.7:8126"),
        ({"DD_TRACE_AGENT_URL": "http://url-wins:8126", "DD_AGENT_HOST": "host-loses"}, "http://url-wins:8126"),
    ],
)
def test_an_explicit_agent_is_used_even_with_an_api_key(environ, agent_url):
    dd = datadog({"DD_API_KEY": SECRET, **environ})

    assert (dd.transport, dd.agent_url) == ("agent", agent_url)


@pytest.mark.parametrize("flag", ["true", "1", "TRUE", "yes"])
def test_dd_llmobs_agentless_enabled_forces_agentless(flag):
    dd = datadog({"DD_API_KEY": SECRET, "DD_AGENT_HOST": "dd-agent", "DD_LLMOBS_AGENTLESS_ENABLED": flag})

    assert dd.transport == "agentless"


def test_agentless_enabled_without_an_api_key_is_the_clear_error():
    with pytest.raises(ConfigError) as caught:
        datadog({"DD_LLMOBS_AGENTLESS_ENABLED": "true"})

    assert caught.value.errors[0].startswith("exporters.datadog.api_key: required with transport: agentless")


def test_agentless_disabled_explicitly_means_the_agent():
    """As in ddtrace: an explicit DD_LLMOBS_AGENTLESS_ENABLED=false wins over the API key's presence."""
    assert datadog({"DD_API_KEY": SECRET, "DD_LLMOBS_AGENTLESS_ENABLED": "false"}).transport == "agent"


def test_ml_app_tags_and_override_origin_come_from_the_environment():
    dd = datadog(
        {
            "DD_LLMOBS_ML_APP": "support-bot",
            "DD_ENV": "prod",
            "DD_SERVICE": "shop",
            "DD_VERSION": "1.2.3",
            "DD_LLMOBS_OVERRIDE_ORIGIN": "http://127.0.0.1:9000",
        }
    )

    assert dd.ml_app == "support-bot"
    assert dd.tags == {"env": "prod", "service": "shop", "version": "1.2.3"}
    assert dd.override_origin == "http://127.0.0.1:9000"


def test_the_config_file_wins_over_the_environment():
    dd = datadog(
        {
            "DD_API_KEY": "env-key",
            "DD_SITE": "datadoghq.eu",
            "DD_LLMOBS_ML_APP": "env-app",
            "DD_ENV": "env-env",
            "DD_SERVICE": "env-service",
            "DD_TRACE_AGENT_URL": "http://env-agent:8126",
            "DD_LLMOBS_OVERRIDE_ORIGIN": "http://env-origin:1",
        },
        {
            "api_key": "file-key",
            "site": "us5.datadoghq.com",
            "ml_app": "file-app",
            "tags": {"env": "file-env"},
            "agent_url": "http://file-agent:8126",
            "override_origin": "http://file-origin:2",
            "transport": "agentless",
        },
    )

    assert dd.api_key.get_secret_value() == "file-key"
    assert (dd.site, dd.ml_app, dd.agent_url, dd.override_origin, dd.transport) == (
        "us5.datadoghq.com",
        "file-app",
        "http://file-agent:8126",
        "http://file-origin:2",
        "agentless",
    )
    assert dd.tags == {"env": "file-env", "service": "env-service"}


def test_dd_variables_do_nothing_without_a_datadog_exporter():
    config = parse(LOCAL, environ={"DD_API_KEY": SECRET, "DD_AGENT_HOST": "dd-agent"})

    assert config.exporters.datadog is None
    assert config.pipeline.exporters == ["local"]


@pytest.mark.parametrize(
    ("environ", "path"),
    [
        ({"DD_API_KEY": SECRET, "DD_SITE": "https://datadoghq.eu"}, "exporters.datadog.site"),
        ({"DD_LLMOBS_OVERRIDE_ORIGIN": "localhost:9000"}, "exporters.datadog.override_origin"),
        ({"DD_TRACE_AGENT_URL": "dd-agent:8126"}, "exporters.datadog.agent_url"),
    ],
)
def test_environment_values_are_validated_like_file_values(environ, path):
    with pytest.raises(ConfigError) as caught:
        datadog(environ)

    assert [error.split(": ")[0] for error in caught.value.errors] == [path]


# --- the embedded default --------------------------------------------------------------------------------------------


def test_default_config_is_local_without_datadog_settings():
    config = default_config(environ={"GLASSBOX_LOCAL_DB": "/tmp/x.db"})

    assert config.pipeline.exporters == ["local"]
    assert config.exporters.local.path == "/tmp/x.db"
    assert config.receivers.otlp.grpc.endpoint == "127.0.0.1:4317"
    assert config.receivers.otlp.http.endpoint == "127.0.0.1:4318"
    assert config.admin.endpoint == "127.0.0.1:13133"


@pytest.mark.parametrize(
    ("environ", "transport"),
    [
        ({"DD_API_KEY": SECRET}, "agentless"),
        ({"DD_AGENT_HOST": "dd-agent"}, "agent"),
        ({"DD_TRACE_AGENT_URL": "http://dd-agent:8126"}, "agent"),
        ({"DD_API_KEY": SECRET, "DD_AGENT_HOST": "dd-agent"}, "agent"),
    ],
)
def test_default_config_picks_datadog_from_the_environment(environ, transport):
    config = default_config(environ=environ)

    assert config.pipeline.exporters == ["datadog", "local"]  # with a bounded local copy for the viewer
    assert config.exporters.datadog.transport == transport


def test_default_config_with_agentless_enabled_but_no_key_is_an_error():
    """Asking for agentless without a key must not quietly fall back to the local store."""
    with pytest.raises(ConfigError) as caught:
        default_config(environ={"DD_LLMOBS_AGENTLESS_ENABLED": "true"})

    assert caught.value.errors[0].startswith("exporters.datadog.api_key: required with transport: agentless")


# --- the API key never leaks ----------------------------------------------------------------------------------------


def shows_secret(config: RelayConfig) -> list[str]:
    renderings = {
        "str": str(config),
        "repr": repr(config),
        "json": config.model_dump_json(),
        "datadog": repr(config.exporters.datadog),
        "dump": str(config.model_dump()),
    }
    return [name for name, text in renderings.items() if SECRET in text]


@pytest.mark.parametrize(
    ("data", "environ"),
    [
        (with_datadog({"api_key": SECRET}), {}),
        (with_datadog({"api_key": "${env:DD_API_KEY}"}), {"DD_API_KEY": SECRET}),
        (with_datadog(), {"DD_API_KEY": SECRET}),
    ],
)
def test_the_api_key_is_not_in_any_rendering_of_the_config(data, environ):
    config = parse(data, environ=environ)

    assert config.exporters.datadog.api_key.get_secret_value() == SECRET
    assert shows_secret(config) == []


def test_otlp_header_secrets_are_not_rendered_either():
    config = parse(
        {
            "exporters": {"otlp": {"endpoint": "http://127.0.0.1:4319", "headers": {"dd-api-key": SECRET}}},
            "pipeline": {"exporters": ["otlp"], "send_unredacted": True},
        },
        environ={},
    )

    assert SECRET not in f"{config} {config!r} {config.model_dump_json()}"


@pytest.mark.parametrize(
    ("data", "environ"),
    [
        (with_datadog({"api_key": SECRET, "site": "Not A Site", "bogus": 1}), {}),
        (with_datadog({"api_key": [SECRET]}), {}),
        (with_datadog({"api_key": {"nested": SECRET}, "transport": "agentless"}), {}),
        (with_datadog({"transport": "agentless", "agent_url": "nope"}), {"DD_API_KEY": SECRET}),
        (with_datadog({"api_key": "${env:DD_API_KEY}"}, admin={"endpoint": "x"}), {"DD_API_KEY": SECRET}),
        (
            {
                "exporters": {"otlp": {"endpoint": "nope", "headers": {"dd-api-key": [SECRET]}}},
                "pipeline": {"exporters": ["otlp", "datadog"]},
            },
            {"DD_API_KEY": SECRET},
        ),
    ],
)
def test_the_api_key_is_not_in_config_errors(data, environ):
    with pytest.raises(ConfigError) as caught:
        parse(data, environ=environ)

    assert caught.value.errors
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


def test_an_exporter_listed_twice_is_an_error_with_its_key_path():
    """It used to pass validation and then send everything twice."""
    data = {"exporters": {"local": {"path": "spans.db"}}, "pipeline": {"exporters": ["local", "local"]}}

    assert errors_of(data) == ["pipeline.exporters[1]: 'local' is listed twice (at [0] too); each exporter runs once"]


def test_a_processor_listed_twice_is_an_error_with_its_key_path():
    data = {"exporters": {"local": {}}, "pipeline": {"exporters": ["local"], "processors": ["debug", "debug"]}}

    assert errors_of(data) == ["pipeline.processors[1]: 'debug' is listed twice (at [0] too); each processor runs once"]


# --- the redaction promise is structural ----------------------------------------------------------------------------

OFF_MACHINE = "send data off this machine and no processor in pipeline.processors redacts it"


@pytest.mark.parametrize(
    "data",
    [
        # The README's old example: no processors at all.
        {"exporters": {"datadog": {}}, "processors": {}, "pipeline": {"exporters": ["datadog"], "processors": []}},
        {"exporters": {"otlp": {"endpoint": "http://127.0.0.1:9"}}, "pipeline": {"exporters": ["otlp"]}},
        {"exporters": {"debug": {}}, "pipeline": {"exporters": ["debug"], "processors": ["cost"]}},
    ],
    ids=["datadog-no-processors", "otlp", "debug-with-cost-only"],
)
def test_an_exporter_that_sends_data_off_the_machine_needs_redaction_or_the_explicit_switch(data):
    errors = errors_of(data)

    assert len(errors) == 1 and errors[0].startswith("pipeline: ") and OFF_MACHINE[5:] in errors[0], errors
    assert "add `redaction` first in pipeline.processors" in errors[0]
    assert "pipeline.send_unredacted: true" in errors[0]
    allowed = {**data, "pipeline": {**data["pipeline"], "send_unredacted": True}}
    assert parse(allowed, environ={}).pipeline.send_unredacted is True


def test_redaction_configured_but_not_in_the_pipeline_is_an_error_that_says_where_to_put_it():
    data = {
        "processors": {"redaction": {}},
        "exporters": {"datadog": {}},
        "pipeline": {"exporters": ["datadog"], "processors": ["cost"]},
    }

    errors = errors_of(data)

    assert errors[0] == (
        "processors.redaction: configured but not listed in pipeline.processors, so it would not run; "
        "add 'redaction' to pipeline.processors (first) or delete the block"
    )
    assert OFF_MACHINE[5:] in errors[1]


def test_local_exporters_need_no_redaction_and_redaction_satisfies_the_rule():
    assert parse(LOCAL, environ={}).pipeline.processors == []
    redacted = with_datadog(
        processors={"redaction": {}}, pipeline={"exporters": ["datadog"], "processors": ["redaction"]}
    )
    assert parse(redacted, environ={}).pipeline.processors == ["redaction"]


@pytest.mark.parametrize("value", ["yes", "true", 1, "1"])
def test_the_switch_is_a_real_boolean(value):
    data = {"exporters": {"otlp": {"endpoint": "http://127.0.0.1:9"}}}
    data["pipeline"] = {"exporters": ["otlp"], "send_unredacted": value}

    errors = errors_of(data)

    assert any(e.startswith("pipeline.send_unredacted: ") for e in errors), errors
    assert any(OFF_MACHINE[5:] in e for e in errors), errors  # a value that is not `true` allows nothing


# --- values are validated, never coerced; durations and sizes with units ------------------------------------------


def with_pipeline(**settings: Any) -> dict[str, Any]:
    return {**LOCAL, "pipeline": {**LOCAL["pipeline"], **settings}}


def with_local(**settings: Any) -> dict[str, Any]:
    return {**LOCAL, "exporters": {"local": {"path": "spans.db", **settings}}}


def with_redaction(**settings: Any) -> dict[str, Any]:
    return {
        **LOCAL,
        "processors": {"redaction": settings},
        "pipeline": {**LOCAL["pipeline"], "processors": ["redaction"]},
    }


SIZE_MIB = 'expected a size like 512 (MiB) or "512MiB"'
SIZE_BYTES = 'expected a size like 33554432 (bytes) or "32MiB"'
DURATION = 'expected a duration like 30 (seconds) or "30s" ("500ms", "5m", "1h")'


@pytest.mark.parametrize(
    ("data", "error"),
    [
        # the issue: `memory_limit_mib: yes` was 1 MiB and every request was refused
        (with_pipeline(memory_limit_mib=True), f"pipeline.memory_limit_mib: {SIZE_MIB}, got true (a boolean)"),
        (
            with_pipeline(memory_limit_mib=1.5),
            f"pipeline.memory_limit_mib: {SIZE_MIB}, got 1.5 (a number); a whole "
            "number of MiB; or write it with a unit",
        ),
        (
            with_pipeline(memory_limit_mib=-1),
            f"pipeline.memory_limit_mib: {SIZE_MIB}, got -1 (an integer); must be at least 0 MiB",
        ),
        (
            with_pipeline(memory_limit_mib="lots"),
            f"pipeline.memory_limit_mib: {SIZE_MIB}, got 'lots' (a string); "
            "units: B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000)",
        ),
        (
            with_pipeline(memory_limit_mib="512KiB"),
            f"pipeline.memory_limit_mib: {SIZE_MIB}, got '512KiB' (a string); less than 1 MiB",
        ),
        # bool for int, float for int
        (
            with_pipeline(max_pending_spans=True),
            "pipeline.max_pending_spans: Input should be a valid integer, got true (a boolean)",
        ),
        (
            with_local(batch_max_items=99.9),
            "exporters.local.batch_max_items: Input should be a valid integer, got 99.9 (a number)",
        ),
        (
            with_redaction(max_text_chars=1e6),
            "processors.redaction.max_text_chars: Input should be a valid integer, got 1000000.0 (a number)",
        ),
        (
            with_redaction(workers=True),
            "processors.redaction.workers.int: Input should be a valid integer, got true (a boolean)",
        ),
        # str for bool, bool/number for str
        (
            with_redaction(context={"enabled": "no"}),
            "processors.redaction.context.enabled: Input should be a valid boolean, got 'no' (a string)",
        ),
        (
            with_pipeline(send_unredacted="yes"),
            "pipeline.send_unredacted: Input should be a valid boolean, got 'yes' (a string)",
        ),
        (
            {**LOCAL, "storage": {"directory": 7}},
            "storage.directory: Input should be a valid string, got an integer; quote it in YAML",
        ),
        # bad units, negative, out of range
        (
            with_local(timeout="5 minutes"),
            f"exporters.local.timeout: {DURATION}, got '5 minutes' (a string); units: ms, s, m, h",
        ),
        (with_local(timeout=True), f"exporters.local.timeout: {DURATION}, got true (a boolean)"),
        (
            with_local(flush_interval=0),
            f"exporters.local.flush_interval: {DURATION}, got 0 (an integer); must be more than 0 seconds",
        ),
        (
            with_local(retry_max_elapsed="-5m"),
            f"exporters.local.retry_max_elapsed: {DURATION}, got '-5m' (a string); units: ms, s, m, h",
        ),
        (
            with_pipeline(join_timeout="2m"),
            f"pipeline.join_timeout: {DURATION}, got '2m' (a string); must be at most 60 seconds",
        ),
        (
            with_local(queue_max_bytes="1GB2"),
            f"exporters.local.queue_max_bytes: {SIZE_BYTES}, got '1GB2' "
            "(a string); units: B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000)",
        ),
        (
            with_local(queue_max_bytes=-1),
            f"exporters.local.queue_max_bytes: {SIZE_BYTES}, got -1 (an integer); must be more than 0 bytes",
        ),
        (with_local(queue_max_bytes=False), f"exporters.local.queue_max_bytes: {SIZE_BYTES}, got false (a boolean)"),
        (
            with_redaction(cache={"max_bytes": "64 megs"}),
            f"processors.redaction.cache.max_bytes: {SIZE_BYTES}, got "
            "'64 megs' (a string); units: B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000)",
        ),
        (
            with_redaction(text_timeout="forever"),
            f"processors.redaction.text_timeout: {DURATION}, got 'forever' (a string); units: ms, s, m, h",
        ),
        (
            {**LOCAL, "receivers": {"otlp": {"http": {"max_body_bytes": "32mb", "read_timeout": "0s"}}}},
            f"receivers.otlp.http.read_timeout: {DURATION}, got '0s' (a string); must be more than 0 seconds",
        ),
    ],
)
def test_values_of_the_wrong_kind_are_errors_that_name_the_key_and_the_unit(data, error):
    assert error in errors_of(data)


def test_memory_limit_yes_in_a_yaml_file_is_an_error_not_one_mib(tmp_path: Path):
    """What the user wrote (YAML 1.1 reads `yes` as true), through ``load`` as ``glassbox validate`` does."""
    (tmp_path / "relay.yaml").write_text(
        "exporters: {local: {}}\npipeline:\n  exporters: [local]\n  memory_limit_mib: yes\n"
    )

    with pytest.raises(ConfigError) as caught:
        load(tmp_path / "relay.yaml", environ={})

    assert caught.value.errors == [f"pipeline.memory_limit_mib: {SIZE_MIB}, got true (a boolean)"]


def test_durations_and_sizes_are_accepted_as_numbers_and_with_units():
    config = parse(
        {
            "receivers": {"otlp": {"grpc": {"max_message_bytes": "4MiB"}, "http": {"max_body_bytes": "64MB"}}},
            "exporters": {
                "local": {
                    "path": "spans.db",
                    "timeout": "500ms",
                    "flush_interval": 2,  # a number is seconds, as before
                    "retry_initial_interval": 0.25,
                    "retry_max_interval": "1m30s",
                    "retry_max_elapsed": "1h",
                    "queue_max_bytes": "1GiB",
                }
            },
            "processors": {"redaction": {"text_timeout": "1.5s", "cache": {"max_bytes": "512KiB"}}},
            "pipeline": {
                "exporters": ["local"],
                "processors": ["redaction"],
                "join_timeout": "250ms",
                "memory_limit_mib": "2GiB",
            },
        },
        environ={"TIMEOUT": "45s"},
    )
    local = config.exporters.local
    assert (local.timeout, local.flush_interval, local.retry_initial_interval) == (0.5, 2.0, 0.25)
    assert (local.retry_max_interval, local.retry_max_elapsed, local.queue_max_bytes) == (90.0, 3600.0, 1 << 30)
    assert config.receivers.otlp.grpc.max_message_bytes == 4 << 20
    assert config.receivers.otlp.http.max_body_bytes == 64_000_000  # MB is 10^6 bytes, MiB 2^20
    redaction = config.processors.redaction
    assert (redaction.text_timeout, redaction.cache.max_bytes) == (1.5, 512 << 10)
    assert (config.pipeline.join_timeout, config.pipeline.memory_limit_mib) == (0.25, 2048)


@pytest.mark.parametrize(
    ("value", "mib"), [(512, 512), ("512MiB", 512), ("512Mi", 512), ("1GiB", 1024), ("1.5GiB", 1536), ("64MB", 61)]
)
def test_memory_limit_mib_takes_mib_or_any_size_unit(value, mib):
    assert parse(with_pipeline(memory_limit_mib=value), environ={}).pipeline.memory_limit_mib == mib


@pytest.mark.parametrize(("value", "seconds"), [("30s", 30.0), ("45", 45.0), ("2m", 120.0)])
def test_a_duration_from_the_environment_is_read_like_one_from_the_file(value, seconds):
    config = parse(with_local(timeout="${env:TIMEOUT}"), environ={"TIMEOUT": value})

    assert config.exporters.local.timeout == seconds


def test_the_readme_configuration_example_is_valid_and_written_with_units(tmp_path: Path):
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Configuration", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "relay.yaml").write_text(block)

    config = load(tmp_path / "relay.yaml", environ={})

    assert "max_body_bytes: 32MiB" in block and "read_timeout: 30s" in block
    assert (config.receivers.otlp.http.max_body_bytes, config.receivers.otlp.http.read_timeout) == (32 << 20, 30.0)


def test_an_integer_where_a_number_is_expected_is_fine():
    config = parse(with_redaction(score_threshold=1, context={"similarity_factor": 0}), environ={})

    assert (
        config.processors.redaction.score_threshold == 1.0
        and config.processors.redaction.context.similarity_factor == 0
    )


# --- validate refuses what run would: entity names, "did you mean", an exporter that sends to the relay itself ---


def redaction(settings: dict[str, Any]) -> dict[str, Any]:
    return {
        **LOCAL,
        "processors": {"redaction": settings},
        "pipeline": {**LOCAL["pipeline"], "processors": ["redaction"]},
    }


@pytest.mark.parametrize(
    ("settings", "path", "name", "meant"),
    [
        ({"entities": ["EMAIL_ADDRESS", "EMAIL"]}, "entities[1]", "EMAIL", "EMAIL_ADDRESS"),
        ({"entities": ["CREDITCARD"]}, "entities[0]", "CREDITCARD", "CREDIT_CARD"),
        ({"entities": ["phone"]}, "entities", "phone", "PHONE_NUMBER"),  # not even UPPER_SNAKE: a field error
        ({"entity_thresholds": {"PHONE": 0.3}}, "entity_thresholds.PHONE", "PHONE", "PHONE_NUMBER"),
        ({"entity_thresholds": {"phone": 0.3}}, "entity_thresholds", "phone", "PHONE_NUMBER"),
        ({"operators": {"SSN": {"type": "mask"}}}, "operators.SSN", "SSN", "US_SSN"),
        ({"operators": {"email": {"type": "mask"}}}, "operators", "email", "EMAIL_ADDRESS"),
    ],
)
def test_an_unknown_entity_name_is_refused_with_the_closest_and_the_valid_names(settings, path, name, meant):
    """A misspelt entity passed ``validate`` and made ``run`` fail at start ("no recognizer for entities"), or,
    as a threshold or operator key, was silently never applied."""
    errors = errors_of(redaction(settings))

    assert len(errors) == 1, errors
    assert errors[0].startswith(f"processors.redaction.{path}: unknown entity {name!r}; did you mean {meant}? known: ")
    assert "CREDIT_CARD, CRYPTO, DATE_TIME, EMAIL_ADDRESS" in errors[0]


def test_an_entity_nothing_resembles_gets_the_list_only():
    errors = errors_of(redaction({"entities": ["ZZZZZZ"]}))

    assert errors[0].startswith("processors.redaction.entities[0]: unknown entity 'ZZZZZZ'; known: CREDIT_CARD, ")


def test_custom_recognizers_entities_are_valid_names_everywhere():
    custom = {"name": "employees", "entity": "EMPLOYEE_ID", "patterns": [{"regex": r"E-\d{6}"}]}
    settings = {
        "custom_recognizers": [custom],
        "entities": ["EMAIL_ADDRESS", "EMPLOYEE_ID"],
        "entity_thresholds": {"EMPLOYEE_ID": 0.6},
        "operators": {"EMPLOYEE_ID": {"type": "mask"}},
    }
    assert parse(redaction(settings), environ={}).processors.redaction.entities == ["EMAIL_ADDRESS", "EMPLOYEE_ID"]

    errors = errors_of(redaction({**settings, "entities": ["EMPLOYE_ID"]}))
    assert errors[0].startswith(
        "processors.redaction.entities[0]: unknown entity 'EMPLOYE_ID'; did you mean EMPLOYEE_ID?"
    )
    assert errors[0].endswith(", UUID, EMPLOYEE_ID (custom_recognizers add theirs)")


def test_the_known_entities_are_what_the_analyzer_can_detect():
    """``KNOWN_ENTITIES`` is a list so that config parsing does not load Presidio: it must match Presidio's
    English recognizers, plus the NER entities a spaCy model adds."""
    from presidio_analyzer import RecognizerRegistry

    from glassbox.processors.redaction.analyzer import build_nlp_engine, build_recognizers
    from glassbox.processors.redaction.config import KNOWN_ENTITIES, NER_ONLY_ENTITIES, RedactionConfig

    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"])
    presidio = {e for rec in registry.recognizers for e in rec.supported_entities}
    assert set(KNOWN_ENTITIES) == presidio | set(NER_ONLY_ENTITIES)

    patterns = [e for e in KNOWN_ENTITIES if e not in NER_ONLY_ENTITIES]
    settings = RedactionConfig(entities=patterns)
    built = build_recognizers(settings, build_nlp_engine(settings))
    assert {e for rec in built for e in rec.supported_entities} == set(patterns)


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (
            with_datadog({"api_ky": SECRET, "transport": "agent"}),
            "exporters.datadog.api_ky: unknown key; did you mean api_key?",
        ),
        (
            {**LOCAL, "exporters": {"local": {"pth": "x.db"}}},
            "exporters.local.pth: unknown key; did you mean path?",
        ),
        (
            {**LOCAL, "pipeline": {"exporters": ["local"], "procesors": []}},
            "pipeline.procesors: unknown key; did you mean processors?",
        ),
        (
            {**LOCAL, "storage": {"directory": "./s", "synch": "full"}},
            "storage.synch: unknown key; did you mean sync?",
        ),
        (
            {**LOCAL, "recievers": {}},
            "recievers: unknown key; did you mean receivers?",
        ),
        (
            redaction({"custom_recognizers": [{"name": "x", "entity": "X_ID", "deny_list": ["a"], "contxt": []}]}),
            "processors.redaction.custom_recognizers.0.contxt: unknown key; did you mean context?",
        ),
        (
            redaction({"operators": {"EMAIL_ADDRESS": {"tipe": "mask"}}}),
            "processors.redaction.operators.EMAIL_ADDRESS.tipe: unknown key; did you mean type?",
        ),
        (
            {**LOCAL, "receivers": {"otlp": {"http": {"endpoint": "127.0.0.1:0", "max_body": 1}}}},
            "receivers.otlp.http.max_body: unknown key; did you mean max_body_bytes?",
        ),
        (
            {**LOCAL, "admin": {"endpoit": "127.0.0.1:0"}},
            "admin.endpoit: unknown key; did you mean endpoint?",
        ),
        (
            {**LOCAL, "exporters": {"local": {}, "datdog": {}}},
            "exporters.datdog: unknown exporter 'datdog'; did you mean datadog? known: datadog, otlp, local, debug",
        ),
        (
            {**LOCAL, "processors": {"redactoin": {}}},
            "processors.redactoin: unknown processor 'redactoin'; did you mean redaction? known: redaction, cost, ",
        ),
        (
            {"exporters": {"local": {}}, "pipeline": {"exporters": ["lokal"]}},
            "pipeline.exporters[0]: unknown exporter 'lokal'; did you mean local? known: datadog, otlp, local, debug",
        ),
        (
            {**LOCAL, "pipeline": {"exporters": ["local"], "processors": ["cots"]}},
            "pipeline.processors[0]: unknown processor 'cots'; did you mean cost? known: redaction, cost, ",
        ),
    ],
)
def test_unknown_keys_and_names_say_what_was_probably_meant(data, line):
    errors = errors_of(data)

    assert any(e.startswith(line) for e in errors), errors
    assert all(SECRET not in e for e in errors)


def test_an_unknown_key_nothing_resembles_lists_the_keys_there():
    errors = errors_of({**LOCAL, "admin": {"zzz": 1}})

    assert errors == ["admin.zzz: unknown key; known keys here: endpoint, token, viewer"]


def otlp_to(endpoint: str, receiver: str = "127.0.0.1:4318") -> dict[str, Any]:
    return {
        "receivers": {"otlp": {"http": {"endpoint": receiver}, "grpc": {"endpoint": "127.0.0.1:4317"}}},
        "exporters": {"otlp": {"endpoint": endpoint}},
        "pipeline": {"exporters": ["otlp"], "send_unredacted": True},
    }


@pytest.mark.parametrize(
    ("exporter", "receiver"),
    [
        ("http://127.0.0.1:4318", "127.0.0.1:4318"),
        ("http://localhost:4318/", "127.0.0.1:4318"),
        ("http://127.0.0.1:4318", "0.0.0.0:4318"),
        ("http://[::1]:9999", "localhost:9999"),
        ("http://LOCALHOST:9999", "[::1]:9999"),
        ("http://relay.internal:9999", "relay.internal:9999"),
        ("http://0.0.0.0:80", "127.0.0.1:80"),  # no port in the URL: 80 for http
    ],
)
def test_an_otlp_exporter_pointing_at_the_relays_own_receiver_is_refused(exporter, receiver):
    """One span became 1,006 in eight seconds, and the loop resumed from the queue after a restart."""
    errors = errors_of(otlp_to(exporter, receiver))

    assert errors == [
        f"exporters.otlp.endpoint points at receivers.otlp.http.endpoint ({receiver}): "
        "the relay would send to itself forever"
    ]


@pytest.mark.parametrize(
    ("exporter", "receiver"),
    [
        ("http://127.0.0.1:4319", "127.0.0.1:4318"),  # another port
        ("http://127.0.0.1:0", "127.0.0.1:0"),  # port 0 is a free port picked at start: never the same
        ("http://collector.internal:4318", "127.0.0.1:4318"),  # another host
        ("https://127.0.0.1:4318", "127.0.0.1:443"),
    ],
)
def test_an_otlp_exporter_to_another_address_is_fine(exporter, receiver):
    assert parse(otlp_to(exporter, receiver), environ={}).exporters.otlp.endpoint == exporter.rstrip("/")


def test_the_grpc_port_and_the_admin_port_are_the_relays_own_too():
    errors = errors_of({**otlp_to("http://localhost:4317"), "admin": {"endpoint": "127.0.0.1:13133"}})
    assert errors == [
        "exporters.otlp.endpoint points at receivers.otlp.grpc.endpoint (127.0.0.1:4317): "
        "the relay would send to itself"
    ]

    errors = errors_of(otlp_to("http://127.0.0.1:13133"))
    assert errors == [
        "exporters.otlp.endpoint points at admin.endpoint (127.0.0.1:13133): the relay would send to itself"
    ]


@pytest.mark.parametrize(
    ("datadog_config", "environ", "line"),
    [
        (
            {"transport": "agent", "agent_url": "http://localhost:4318"},
            {},
            "exporters.datadog.agent_url points at receivers.otlp.http.endpoint (127.0.0.1:4318): "
            "the relay would send to itself forever",
        ),
        (
            {},
            {"DD_TRACE_AGENT_URL": "http://127.0.0.1:13133"},
            "exporters.datadog.agent_url (from DD_TRACE_AGENT_URL) points at admin.endpoint (127.0.0.1:13133): "
            "the relay would send to itself",
        ),
        (
            {"transport": "agentless", "api_key": SECRET, "override_origin": "http://0.0.0.0:4318"},
            {},
            "exporters.datadog.override_origin points at receivers.otlp.http.endpoint (127.0.0.1:4318): "
            "the relay would send to itself forever",
        ),
        (
            {},
            {"DD_API_KEY": SECRET, "DD_LLMOBS_OVERRIDE_ORIGIN": "http://localhost:4318"},
            "exporters.datadog.override_origin (from DD_LLMOBS_OVERRIDE_ORIGIN) points at "
            "receivers.otlp.http.endpoint (127.0.0.1:4318): the relay would send to itself forever",
        ),
    ],
)
def test_a_datadog_exporter_pointing_at_the_relay_itself_is_refused(datadog_config, environ, line):
    assert errors_of(with_datadog(datadog_config), environ) == [line]


def test_an_agent_url_that_is_not_used_is_not_checked():
    """Agentless sends to the Datadog site: the agent_url ddtrace's defaults fill in is never contacted."""
    config = with_datadog({"transport": "agentless", "api_key": SECRET, "agent_url": "http://127.0.0.1:4318"})

    assert parse(config, environ={}).exporters.datadog.transport == "agentless"
