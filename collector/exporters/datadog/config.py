"""Settings of the ``datadog`` exporter, and how ddtrace's environment variables fill them.

Users already know ddtrace's environment: ``DD_API_KEY``, ``DD_SITE``, ``DD_LLMOBS_ML_APP``, ``DD_ENV``,
``DD_SERVICE``, ``DD_VERSION``, ``DD_LLMOBS_AGENTLESS_ENABLED``, ``DD_AGENT_HOST`` / ``DD_TRACE_AGENT_URL`` and
``DD_LLMOBS_OVERRIDE_ORIGIN`` fill whatever the config leaves unset; explicit config wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from glassbox.collector import validators
from glassbox.collector.delivery.config import SendingConfig

AGENTLESS_TRUE = ("1", "true", "yes")
AGENTLESS_FALSE = ("0", "false", "no")


class DatadogExporterConfig(SendingConfig):
    transport: Literal["agent", "agentless"] | None = None
    agent_url: str | None = None
    api_key: SecretStr | None = None
    site: str | None = None
    override_origin: str | None = None
    ml_app: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    _urls = field_validator("agent_url", "override_origin")(lambda v: v if v is None else validators.url(v))

    _site = field_validator("site")(lambda v: validators.datadog_site(v))


def wanted_by_environment(environ: Mapping[str, str]) -> list[str]:
    """The ddtrace variables that say there is a Datadog (empty: none do). The shipped default config sends to
    Datadog when any does, and names them in the startup summary."""
    agentless = environ.get("DD_LLMOBS_AGENTLESS_ENABLED", "").strip().lower() in AGENTLESS_TRUE
    return [
        var
        for var in ("DD_API_KEY", "DD_LLMOBS_AGENTLESS_ENABLED", "DD_AGENT_HOST", "DD_TRACE_AGENT_URL")
        if (agentless if var == "DD_LLMOBS_AGENTLESS_ENABLED" else environ.get(var))
    ]


UNIFIED_TAGS = (("env", "DD_ENV"), ("service", "DD_SERVICE"), ("version", "DD_VERSION"))


def fill_from_datadog_variables(
    section: dict[str, Any], environ: Mapping[str, str], from_env: dict[str, str], keys: tuple[tuple[str, str], ...]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The section with its unset ``keys`` (key, variable) filled from the non-empty ``DD_*`` variables (recorded in
    ``from_env``), ``site`` defaulted, and the unified service tags (DD_ENV, DD_SERVICE, DD_VERSION) added to
    ``tags`` unless set there; plus those variables, for what the caller fills itself."""
    out = dict(section)
    env = {k: v for k, v in environ.items() if k.startswith("DD_") and v != ""}
    for key, var in keys:
        if out.get(key) is None and var in env:
            out[key] = env[var]
            from_env[key] = var
    out.setdefault("site", "datadoghq.com")
    tags = out.get("tags") or {}
    if isinstance(tags, dict):
        tags = dict(tags)
        for tag, var in UNIFIED_TAGS:
            if var in env:
                tags.setdefault(tag, env[var])
        out["tags"] = tags
    return out, env


def from_environment(section: dict[str, Any], environ: Mapping[str, str], from_env: dict[str, str]) -> dict[str, Any]:
    """ddtrace's variables fill what ``exporters.datadog`` leaves unset (``from_env``: key → variable)."""
    dd, env = fill_from_datadog_variables(
        section,
        environ,
        from_env,
        (
            ("api_key", "DD_API_KEY"),
            ("site", "DD_SITE"),
            ("ml_app", "DD_LLMOBS_ML_APP"),
            ("override_origin", "DD_LLMOBS_OVERRIDE_ORIGIN"),
        ),
    )
    explicit_agent = "DD_TRACE_AGENT_URL" in env or "DD_AGENT_HOST" in env
    if dd.get("agent_url") is None:
        from_env["agent_url"] = "DD_TRACE_AGENT_URL" if "DD_TRACE_AGENT_URL" in env else "DD_AGENT_HOST"
        dd["agent_url"] = (
            env.get("DD_TRACE_AGENT_URL")
            or f"http://{env.get('DD_AGENT_HOST', '127.0.0.1')}:{env.get('DD_TRACE_AGENT_PORT', '8126')}"
        )
    if dd.get("transport") is None:
        agentless = env.get("DD_LLMOBS_AGENTLESS_ENABLED", "").strip().lower()
        if agentless in AGENTLESS_TRUE:
            dd["transport"] = "agentless"
        elif agentless in AGENTLESS_FALSE:
            dd["transport"] = "agent"
        else:
            dd["transport"] = "agentless" if dd.get("api_key") and not explicit_agent else "agent"
    return dd


def check(config: DatadogExporterConfig, context: object) -> list[tuple[str, str]]:
    if config.transport == "agentless" and config.api_key is None:
        return [("api_key", "required with transport: agentless; set DD_API_KEY or api_key: ${env:DD_API_KEY}")]
    return []
