"""Relay configuration: YAML + ``${env:NAME}`` substitution, validated at startup with every error at once.

Each error names its key path and, where there is one, the fix. Secrets are ``SecretStr`` so they never show
up in reprs, logs or error messages.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from glassbox.processors.redaction.config import RedactionSettings

_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")


class ConfigError(Exception):
    """All problems found in a config; ``errors`` are ``"key.path: message"`` strings."""

    def __init__(self, errors: list[str], source: str = "config"):
        self.errors = errors
        super().__init__(f"{source} has {len(errors)} error(s):\n" + "\n".join(f"  - {e}" for e in errors))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_endpoint(value: str) -> str:
    match = _HOST_PORT.match(value)
    if not match or not 0 <= int(match.group(2)) <= 65535:
        raise ValueError(f"{value!r} is not host:port (e.g. 127.0.0.1:4318; port 0 picks a free port)")
    return value


def _check_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL (e.g. http://127.0.0.1:8126)")
    return value.rstrip("/")


class ReceiverAuth(Strict):
    """Clients must send ``Authorization: Bearer <bearer_token>`` and/or every listed header with its value."""

    bearer_token: SecretStr | None = None
    headers: dict[str, SecretStr] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _something(self) -> "ReceiverAuth":
        if self.bearer_token is None and not self.headers:
            raise ValueError("set bearer_token or headers (or remove auth)")
        return self


class ReceiverTls(Strict):
    cert_file: str
    key_file: str

    @field_validator("cert_file", "key_file")
    @classmethod
    def _exists(cls, value: str) -> str:
        if not Path(value).is_file():
            raise ValueError(f"{value!r} is not a readable file")
        return value


class GrpcReceiver(Strict):
    endpoint: str = "127.0.0.1:4317"
    max_message_bytes: int = Field(default=32 << 20, gt=0)
    auth: ReceiverAuth | None = None
    tls: ReceiverTls | None = None
    _endpoint = field_validator("endpoint")(_check_endpoint)


class HttpReceiver(Strict):
    endpoint: str = "127.0.0.1:4318"
    max_body_bytes: int = Field(default=32 << 20, gt=0, description="limit after decompression; larger → 413")
    read_timeout: float = Field(default=30.0, gt=0, description="seconds to receive a whole body (slow clients)")
    auth: ReceiverAuth | None = None
    tls: ReceiverTls | None = None
    _endpoint = field_validator("endpoint")(_check_endpoint)


class OtlpReceiver(Strict):
    grpc: GrpcReceiver | None = Field(default_factory=GrpcReceiver)
    http: HttpReceiver | None = Field(default_factory=HttpReceiver)


class Receivers(Strict):
    otlp: OtlpReceiver = Field(default_factory=OtlpReceiver)


class Sending(Strict):
    """Batching and retry settings every exporter shares."""

    timeout: float = Field(default=10.0, gt=0, description="seconds per request")
    batch_max_items: int = Field(default=500, gt=0)
    flush_interval: float = Field(default=1.0, gt=0, description="seconds before a partial batch is sent")
    queue_max_items: int = Field(default=100_000, gt=0, description="items on disk for this exporter")
    queue_max_bytes: int = Field(default=1 << 30, gt=0, description="bytes on disk for this exporter")
    overflow: Literal["backpressure", "drop_oldest"] = Field(
        default="backpressure", description="when the queue is full: refuse new data (429/UNAVAILABLE) "
                                            "or delete the oldest items (each one counted)")
    retry_initial_interval: float = Field(default=0.5, gt=0)
    retry_max_interval: float = Field(default=30.0, gt=0)
    retry_max_elapsed: float = Field(default=300.0, gt=0)


class DatadogExporter(Sending):
    transport: Literal["agent", "agentless"] | None = None
    agent_url: str | None = None
    api_key: SecretStr | None = None
    site: str | None = None
    override_origin: str | None = None
    ml_app: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    _urls = field_validator("agent_url", "override_origin")(lambda v: v if v is None else _check_url(v))

    @field_validator("site")
    @classmethod
    def _site(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-z0-9.\-]+$", value):
            raise ValueError(f"{value!r} is not a Datadog site (e.g. datadoghq.com, datadoghq.eu, us5.datadoghq.com)")
        return value


class OtlpExporter(Sending):
    endpoint: str
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    compression: Literal["gzip", "none"] = "gzip"
    _endpoint = field_validator("endpoint")(_check_url)


class LocalExporter(Sending):
    flush_interval: float = Field(default=0.2, gt=0)
    path: str = "glassbox.db"
    max_spans: int = Field(default=100_000, gt=0, description="oldest spans are pruned beyond this")


class DebugExporter(Sending):
    flush_interval: float = Field(default=0.2, gt=0)
    verbosity: Literal["basic", "detailed"] = "basic"


class Exporters(Strict):
    datadog: DatadogExporter | None = None
    otlp: OtlpExporter | None = None
    local: LocalExporter | None = None
    debug: DebugExporter | None = None


class DebugProcessor(Strict):
    """Logs a line per batch; useful to see what reaches a point of the chain."""

    verbosity: Literal["basic", "detailed"] = "basic"


class Processors(Strict):
    """Settings per processor name; a processor listed in the pipeline but not here runs with its defaults."""

    debug: DebugProcessor = Field(default_factory=DebugProcessor)
    redaction: RedactionSettings = Field(default_factory=RedactionSettings)


KNOWN_PROCESSORS = tuple(Processors.model_fields)


class Pipeline(Strict):
    processors: list[str] = Field(default_factory=list)
    exporters: list[str] = Field(default_factory=list)
    join_timeout: float = Field(default=1.0, ge=0, le=60, description="seconds a span waits for its log content")
    max_pending_spans: int = Field(default=50_000, gt=0)
    memory_limit_mib: int = Field(default=0, ge=0, description="refuse new data above this RSS; 0 = no limit")


class Storage(Strict):
    directory: str = "./.glassbox"
    sync: Literal["full", "normal"] = Field(
        default="full", description="full: every acknowledged request survives power loss (fsync per commit); "
                                    "normal: survives a relay crash or kill -9, not an OS crash; faster")


class Admin(Strict):
    endpoint: str = "127.0.0.1:13133"
    _endpoint = field_validator("endpoint")(_check_endpoint)


class RelayConfig(Strict):
    receivers: Receivers = Field(default_factory=Receivers)
    processors: Processors = Field(default_factory=Processors)
    exporters: Exporters = Field(default_factory=Exporters)
    pipeline: Pipeline = Field(default_factory=Pipeline)
    storage: Storage = Field(default_factory=Storage)
    admin: Admin = Field(default_factory=Admin)

    def processor_settings(self, name: str) -> Any:
        return getattr(self.processors, name)


def reference_problems(data: dict[str, Any]) -> list[str]:
    """Cross-section checks (pipeline names ↔ configured components), run even when fields have errors."""
    problems: list[str] = []
    exporters = data.get("exporters") if isinstance(data.get("exporters"), dict) else {}
    pipeline = data.get("pipeline") if isinstance(data.get("pipeline"), dict) else {}
    names = pipeline.get("exporters") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return problems  # the field validation reports the type problem
    if not names:
        configured = [n for n in exporters if n in Exporters.model_fields]
        problems.append(f"pipeline.exporters: list at least one exporter (configured: {configured or 'none'})")
    for i, name in enumerate(names):
        if name not in Exporters.model_fields:
            problems.append(f"pipeline.exporters[{i}]: unknown exporter {name!r}; known: {', '.join(Exporters.model_fields)}")
        elif name not in exporters:
            problems.append(f"pipeline.exporters[{i}]: {name!r} is not configured; add exporters.{name}: {{...}}")
    dd = exporters.get("datadog")
    if "datadog" in names and isinstance(dd, dict) and dd.get("transport") == "agentless" and not dd.get("api_key"):
        problems.append("exporters.datadog.api_key: required with transport: agentless; "
                        "set DD_API_KEY or api_key: ${env:DD_API_KEY}")
    processors = pipeline.get("processors") or []
    if isinstance(processors, list):
        for i, name in enumerate(processors):
            if name not in KNOWN_PROCESSORS:
                problems.append(f"pipeline.processors[{i}]: unknown processor {name!r}; known: {', '.join(KNOWN_PROCESSORS)}")
        if len(set(map(str, processors))) != len(processors):
            problems.append("pipeline.processors: a processor is listed twice")
    return problems


def substitute_env(node: Any, environ: Mapping[str, str], path: str = "", errors: list[str] | None = None) -> Any:
    """Replace ``${env:NAME}`` / ``${env:NAME:-default}`` in string values (never in keys)."""
    errors = [] if errors is None else errors
    if isinstance(node, dict):
        return {k: substitute_env(v, environ, f"{path}.{k}" if path else str(k), errors) for k, v in node.items()}
    if isinstance(node, list):
        return [substitute_env(v, environ, f"{path}[{i}]", errors) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        errors.append(f"{path}: environment variable {name} is not set; export it or write ${{env:{name}:-default}}")
        return ""

    return _ENV.sub(replace, node)


def parse(data: Any, environ: Mapping[str, str] | None = None, source: str = "config") -> RelayConfig:
    """Validate a loaded YAML document; raise ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"(top level): expected a mapping of sections, got {type(data).__name__}"], source)
    errors: list[str] = []
    data = substitute_env(data, environ, errors=errors)
    unset = {error.split(":", 1)[0] for error in errors}  # keys already reported as a missing variable
    from_env: dict[str, str] = {}
    data = with_datadog_env(data, environ, from_env)
    config = None
    try:
        config = RelayConfig.model_validate(data)
    except ValidationError as exc:
        for message in _format(exc):
            path = message.split(":", 1)[0]
            if path in unset:
                continue
            errors.append(f"{message} (from {from_env[path]})" if path in from_env else message)
    errors.extend(reference_problems(data))
    if errors or config is None:
        raise ConfigError(errors, source)
    return config


def _format(exc: ValidationError) -> list[str]:
    messages = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in error["loc"])
        msg = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see config/default.yaml for the known keys)"
        for line in msg.split("\n"):
            messages.append(f"{loc}: {line}" if loc else line)
    return messages


def load(path: str | Path, environ: Mapping[str, str] | None = None) -> RelayConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"cannot read {path}: {exc.strerror}"], str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError([f"{where}invalid YAML: {getattr(exc, 'problem', exc)}"], str(path)) from None
    return parse(data, environ, str(path))


def default_config(environ: Mapping[str, str] | None = None) -> RelayConfig:
    """The shipped default: Datadog agentless with DD_API_KEY, the Agent with DD_AGENT_HOST/DD_TRACE_AGENT_URL,
    otherwise the ``local`` exporter (SQLite) so nothing leaves the machine."""
    environ = os.environ if environ is None else environ
    data = yaml.safe_load(resources.files("glassbox.config").joinpath("default.yaml").read_text(encoding="utf-8"))
    wants_datadog = ("DD_API_KEY", "DD_AGENT_HOST", "DD_TRACE_AGENT_URL")
    agentless = environ.get("DD_LLMOBS_AGENTLESS_ENABLED", "").strip().lower() in ("1", "true", "yes")
    if agentless or any(environ.get(var) for var in wants_datadog):
        data["exporters"]["datadog"] = {}
        data["pipeline"]["exporters"] = ["datadog"]
    return parse(data, environ, "default config")


def with_datadog_env(data: dict[str, Any], environ: Mapping[str, str],
                     from_env: dict[str, str] | None = None) -> dict[str, Any]:
    """ddtrace's environment variables fill whatever the datadog exporter config leaves unset, before
    validation, so values from the environment are checked exactly like values from the file.
    ``from_env`` receives key path → variable name, so errors can name the variable."""
    from_env = {} if from_env is None else from_env
    exporters = data.get("exporters")
    if not isinstance(exporters, dict) or not isinstance(exporters.get("datadog", {}), dict) \
            or "datadog" not in exporters:
        return data
    dd = dict(exporters["datadog"] or {})
    env = {k: v for k, v in environ.items() if k.startswith("DD_") and v != ""}
    for key, var in (("api_key", "DD_API_KEY"), ("site", "DD_SITE"), ("ml_app", "DD_LLMOBS_ML_APP"),
                     ("override_origin", "DD_LLMOBS_OVERRIDE_ORIGIN")):
        if dd.get(key) is None and var in env:
            dd[key] = env[var]
            from_env[f"exporters.datadog.{key}"] = var
    dd.setdefault("site", "datadoghq.com")
    explicit_agent = "DD_TRACE_AGENT_URL" in env or "DD_AGENT_HOST" in env
    if dd.get("agent_url") is None:
        from_env["exporters.datadog.agent_url"] = "DD_TRACE_AGENT_URL" if "DD_TRACE_AGENT_URL" in env else "DD_AGENT_HOST"
        dd["agent_url"] = env.get("DD_TRACE_AGENT_URL") or \
            f"http://{env.get('DD_AGENT_HOST', '127.0.0.1')}:{env.get('DD_TRACE_AGENT_PORT', '8126')}"
    if dd.get("transport") is None:
        agentless = env.get("DD_LLMOBS_AGENTLESS_ENABLED", "").strip().lower()
        if agentless in ("1", "true", "yes"):
            dd["transport"] = "agentless"
        elif agentless in ("0", "false", "no"):
            dd["transport"] = "agent"
        else:
            dd["transport"] = "agentless" if dd.get("api_key") and not explicit_agent else "agent"
    tags = dict(dd.get("tags") or {}) if isinstance(dd.get("tags") or {}, dict) else dd.get("tags")
    if isinstance(tags, dict):
        for tag, var in (("env", "DD_ENV"), ("service", "DD_SERVICE"), ("version", "DD_VERSION")):
            if var in env:
                tags.setdefault(tag, env[var])
        dd["tags"] = tags
    return {**data, "exporters": {**exporters, "datadog": dd}}
