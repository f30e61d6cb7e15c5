"""Settings of the ``metrics`` exporter, and how Datadog's environment variables fill them.

``transport: dogstatsd`` sends to the node's Agent at ``dogstatsd_url`` (``udp://host:port`` or
``unix:///path/to/dsd.socket``); ``transport: api`` posts to the metrics intake with ``api_key`` (``site`` and
``override_origin`` as in the ``datadog`` exporter). ``DD_DOGSTATSD_URL`` (or ``DD_AGENT_HOST`` and
``DD_DOGSTATSD_PORT``), ``DD_API_KEY``, ``DD_SITE``, ``DD_LLMOBS_ML_APP``, ``DD_ENV``, ``DD_SERVICE`` and
``DD_VERSION`` fill what the config leaves unset; explicit config wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from glassbox.collector import validators
from glassbox.collector.delivery.config import SendingConfig
from glassbox.collector.exporters.datadog.config import fill_from_datadog_variables
from glassbox.processors.units import Seconds

# Span tags that identify a person, a conversation or a single request: one series per value, and personal
# data in metric tags (which no redaction sees again). They never become metric tags, allow-listed or not.
NEVER_TAGS = frozenset(
    {
        "user_id",
        "user.id",
        "enduser.id",
        "gen_ai.user",
        "gen_ai.request.user",
        "llm.user",
        "session_id",
        "session.id",
        "gen_ai.conversation.id",
        "conversation_id",
        "trace_id",
        "span_id",
        "parent_id",
        "request_id",
        "gen_ai.response.id",
    }
)
# Tags every metric already has (from the span's fields): allow-listing them again would duplicate them.
BASE_TAGS = (
    "env",
    "service",
    "version",
    "ml_app",
    "model_name",
    "model_provider",
    "prompt_name",
    "prompt_version",
    "span_kind",
    "status",
)
_TAG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-/]{0,99}$")


class MetricsExporterConfig(SendingConfig):
    transport: Literal["dogstatsd", "api"] = "dogstatsd"
    dogstatsd_url: str = Field(default="udp://127.0.0.1:8125", description="udp://host:port or unix:///path")
    api_key: SecretStr | None = None
    site: str | None = None
    override_origin: str | None = None
    ml_app: str | None = None
    tags: dict[str, str] = Field(default_factory=dict, description="base tags for spans that lack them (env, ...)")
    tag_allowlist: list[str] = Field(default_factory=list, description="span tags that may become metric tags")
    max_tag_values: int = Field(default=100, gt=0, le=10_000, description="values per tag per metric, then other")
    tag_values_window: Seconds = Field(default=3600.0, description="how long a tag's values are remembered (1h)")
    _urls = field_validator("override_origin")(lambda v: v if v is None else validators.url(v))

    @field_validator("dogstatsd_url")
    @classmethod
    def _dogstatsd_url(cls, value: str) -> str:
        dogstatsd_address(value)  # raises with the reason
        return value

    _site = field_validator("site")(lambda v: validators.datadog_site(v))

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = [key for key in value if key not in BASE_TAGS]
        if unknown:
            raise ValueError(
                f"{', '.join(map(repr, unknown))} cannot be set here: tags gives defaults for the base tags "
                f"({', '.join(BASE_TAGS)}); put span tags on tag_allowlist instead"
            )
        return value

    @field_validator("tag_allowlist")
    @classmethod
    def _allowlist(cls, value: list[str]) -> list[str]:
        for i, name in enumerate(value):
            if name.lower() in NEVER_TAGS:
                raise ValueError(
                    f"[{i}] {name!r} is never a metric tag: one series per user, session or request is unbounded "
                    "and carries personal data; group by it in the span events (datadog exporter) instead"
                )
            if name in BASE_TAGS:
                raise ValueError(f"[{i}] {name!r} is already on every metric; remove it from tag_allowlist")
            if not _TAG_NAME.match(name):
                raise ValueError(
                    f"[{i}] {name!r} is not a tag name (a letter, then letters, digits, _ . - /; at most 100)"
                )
        if len(set(value)) != len(value):
            raise ValueError("lists a tag twice")
        return value


def dogstatsd_address(url: str) -> tuple[str, Any]:
    """``("udp", (host, port))`` or ``("unix", path)`` from a DogStatsD URL; ValueError saying what is wrong."""
    example = "e.g. udp://127.0.0.1:8125 or unix:///var/run/datadog/dsd.socket"
    parts = urlsplit(url)
    if parts.scheme == "unix":
        path = (parts.netloc + parts.path) if not parts.netloc else ""
        if not path.startswith("/"):
            raise ValueError(
                f"{url!r}: a unix socket URL takes an absolute path (three slashes: unix:///path); {example}"
            )
        return "unix", path
    if parts.scheme == "udp":
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None or parts.path not in ("", "/"):
            raise ValueError(f"{url!r}: a udp URL is udp://host:port, with nothing after the port; {example}")
        return "udp", (parts.hostname, port)
    raise ValueError(f"{url!r} is not a DogStatsD URL: the scheme must be udp or unix; {example}")


def from_environment(section: dict[str, Any], environ: Mapping[str, str], from_env: dict[str, str]) -> dict[str, Any]:
    """Datadog's variables fill what ``exporters.metrics`` leaves unset (``from_env``: key → variable)."""
    out, env = fill_from_datadog_variables(
        section,
        environ,
        from_env,
        (
            ("api_key", "DD_API_KEY"),
            ("site", "DD_SITE"),
            ("ml_app", "DD_LLMOBS_ML_APP"),
            ("dogstatsd_url", "DD_DOGSTATSD_URL"),
        ),
    )
    if out.get("dogstatsd_url") is None and "DD_AGENT_HOST" in env:
        out["dogstatsd_url"] = f"udp://{env['DD_AGENT_HOST']}:{env.get('DD_DOGSTATSD_PORT', '8125')}"
        from_env["dogstatsd_url"] = "DD_AGENT_HOST"
    return out


def check(config: MetricsExporterConfig, context: object) -> list[tuple[str, str]]:
    if config.transport == "api" and config.api_key is None:
        return [("api_key", "required with transport: api; set DD_API_KEY or api_key: ${env:DD_API_KEY}")]
    return []
