"""The relay's configuration: YAML + ``${env:NAME}`` substitution, validated at startup with every error at once.

This module only assembles: the ``receivers``, ``processors`` and ``exporters`` sections are built from the
component registry (each component's config model lives beside the component), ``pipeline``, ``storage`` and
``admin`` are the runtime's own. It substitutes the environment, lets components fill defaults from their
environment variables, checks cross-references (pipeline names ↔ configured components) and runs each used
component's ``check`` — so what ``glassbox run`` would refuse at startup is an error here too, with its key
path. Secrets are ``SecretStr`` so they never show up in reprs, logs or error messages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, Union, get_args, get_origin
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    StrictBool,
    ValidationError,
    create_model,
    field_validator,
)

from glassbox.collector import components, validators
from glassbox.collector.exporters.datadog.config import wanted_by_environment
from glassbox.processors import units
from glassbox.processors.base import ComponentConfig, ConfigError, Context, closest, unknown_name
from glassbox.processors.units import MIB, duration, size

__all__ = ["ConfigError", "RelayConfig", "default_config", "load", "parse"]

_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _section(name: str, factories: Mapping[str, Any], defaults: tuple[str, ...] = ()) -> type[BaseModel]:
    """A config section with one optional field per registered component type."""
    fields: dict[str, Any] = {}
    for type_, factory in factories.items():
        default = Field(default_factory=factory.config) if type_ in defaults else None
        fields[type_] = (factory.config | None, default)
    return create_model(name, __base__=ComponentConfig, **fields)


if TYPE_CHECKING:  # built at import time from the registry: a type checker sees any component name
    Receivers: TypeAlias = Any
    Processors: TypeAlias = Any
    Exporters: TypeAlias = Any
else:
    Receivers = _section("Receivers", components.RECEIVERS, defaults=("otlp",))
    Processors = _section("Processors", components.PROCESSORS)
    Exporters = _section("Exporters", components.EXPORTERS)


class PipelineConfig(ComponentConfig):
    processors: list[str] = Field(default_factory=list, description="processor names, run in this order")
    exporters: list[str] = Field(default_factory=list, description="exporter names; each gets every item")
    join_timeout: Annotated[float, duration(ge=0, le=60)] = Field(
        default=1.0, description="how long a span waits for its log content (seconds, or 500ms, 2s)"
    )
    max_pending_spans: int = Field(default=50_000, gt=0)
    memory_limit_mib: Annotated[int, size(unit=MIB, ge=0)] = Field(
        default=0, description="refuse new data above this RSS (MiB, or 512MiB, 2GiB); 0 = no limit"
    )
    send_unredacted: StrictBool = Field(
        default=False,
        description="true: exporters that send data off this machine may get content no redaction processor saw "
        "(refused otherwise; validate, run and /metrics say so every time)",
    )


class StorageConfig(ComponentConfig):
    directory: str = "./.glassbox"
    sync: Literal["full", "normal"] = Field(
        default="full",
        description="full: every acknowledged request survives power loss (fsync per commit); "
        "normal: survives a relay crash or kill -9, not an OS crash; faster",
    )

    def resolved_directory(self, base_dir: Path | None) -> Path:
        path = Path(self.directory)
        return base_dir / path if not path.is_absolute() and base_dir is not None else path


class AdminConfig(ComponentConfig):
    endpoint: str = "127.0.0.1:13133"
    token: SecretStr | None = Field(
        default=None,
        description="the viewer and its API need it when the endpoint is not loopback (e.g. "
        "${env:GLASSBOX_VIEWER_TOKEN}); empty = none",
    )
    viewer: StrictBool = Field(default=True, description="serve the local viewer (with the `local` exporter)")
    _endpoint = field_validator("endpoint")(validators.endpoint)

    @field_validator("token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    def exposes_viewer_without_token(self) -> bool:
        """Served beyond this machine with nobody asked for a token (refused at startup)."""
        return self.viewer and self.token is None and not _is_loopback(validators.split_endpoint(self.endpoint)[0])


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def viewer_problems(config: RelayConfig | None) -> list[str]:
    """The local viewer shows everything the store holds: beyond loopback only with a token."""
    if config is None or "local" not in config.pipeline.exporters or not config.admin.exposes_viewer_without_token():
        return []
    return [
        f"admin.token: admin.endpoint {config.admin.endpoint} is not loopback, so the local viewer and its API "
        "need a token; set admin.token (e.g. ${env:GLASSBOX_VIEWER_TOKEN}), bind admin.endpoint to 127.0.0.1, "
        "or set admin.viewer: false"
    ]


class RelayConfig(ComponentConfig):
    receivers: Receivers = Field(default_factory=Receivers)
    processors: Processors = Field(default_factory=Processors)
    exporters: Exporters = Field(default_factory=Exporters)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    admin: AdminConfig = Field(default_factory=AdminConfig)

    _origin: str = PrivateAttr(default="")

    @property
    def origin(self) -> str:
        """Where this config came from (a file, or the embedded default and why it picked its exporters)."""
        return self._origin

    def processor_config(self, name: str) -> Any:
        """A processor's config: its section, or its defaults when the pipeline lists it without one."""
        return getattr(self.processors, name) or components.PROCESSORS[name].config()

    def exporter_config(self, name: str) -> Any:
        return getattr(self.exporters, name)


# --- cross-references and component checks --------------------------------------------------------------------


def reference_problems(data: dict[str, Any]) -> list[str]:
    """Pipeline names ↔ configured components; run even when fields have errors."""
    problems: list[str] = []
    exporters, pipeline = _mapping(data.get("exporters")), _mapping(data.get("pipeline"))
    names = pipeline.get("exporters") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return problems  # the field validation reports the type problem
    if not names:
        configured = [n for n in exporters if n in components.EXPORTERS]
        problems.append(f"pipeline.exporters: list at least one exporter (configured: {configured or 'none'})")
    problems += _names("pipeline.exporters", names, components.EXPORTERS, "exporter", configured=exporters)
    processors = pipeline.get("processors") or []
    if isinstance(processors, list) and all(isinstance(n, str) for n in processors):
        problems += _names("pipeline.processors", processors, components.PROCESSORS, "processor")
        for name in _mapping(data.get("processors")):
            if name in components.PROCESSORS and name not in processors:
                problems.append(
                    f"processors.{name}: configured but not listed in pipeline.processors, so it would not run; "
                    f"add {name!r} to pipeline.processors{' (first)' if components.PROCESSORS[name].redacts else ''} "
                    "or delete the block"
                )
        egress = unredacted_egress(names, processors)
        if egress and pipeline.get("send_unredacted") is not True:
            problems.append(
                f"pipeline: {', '.join(egress)} send{'s' if len(egress) == 1 else ''} data off this machine and no "
                "processor in pipeline.processors redacts it; add `redaction` first in pipeline.processors "
                "(with `processors: {redaction: {}}`), or set pipeline.send_unredacted: true to send raw content "
                "on purpose"
            )
    return problems


UNREDACTED_WARNING = (
    "pipeline.send_unredacted is true: %s send data off this machine that no redaction processor saw "
    "(raw prompts, completions and any PII in them)"
)


def unredacted_egress(exporters: list[str], processors: list[str]) -> list[str]:
    """The exporters that send data off this machine when no processor of the pipeline redacts: what
    ``pipeline.send_unredacted`` must allow explicitly, and what validate, run and /metrics then report."""
    if any(components.PROCESSORS[p].redacts for p in processors if p in components.PROCESSORS):
        return []
    return [name for name in exporters if name in components.EXPORTERS and components.EXPORTERS[name].egress]


def _names(
    key: str, names: list[str], known: Mapping[str, Any], what: str, configured: Mapping[str, Any] | None = None
) -> list[str]:
    problems = []
    for i, name in enumerate(names):
        if name not in known:
            problems.append(f"{key}[{i}]: {unknown_name(what, name, known)}")
        elif configured is not None and name not in configured:
            problems.append(f"{key}[{i}]: {name!r} is not configured; add {key.split('.')[1]}.{name}: {{...}}")
        elif name in names[:i]:
            problems.append(
                f"{key}[{i}]: {name!r} is listed twice (at [{names.index(name)}] too); each {what} runs once"
            )
    return problems


def component_problems(config: RelayConfig, context: Context) -> list[str]:
    """Each used component's ``check``: what its start would refuse, found without starting it."""
    data = {
        "receivers": {name: {} for name in components.RECEIVERS if getattr(config.receivers, name) is not None},
        "pipeline": {"processors": config.pipeline.processors, "exporters": config.pipeline.exporters},
    }
    return _checks(data, context, validated=config)


def _checks(data: dict[str, Any], context: Context, validated: RelayConfig | None = None) -> list[str]:
    """Run the check of every used component whose own section is valid (so these problems are reported
    together with field errors elsewhere in the file)."""
    sections = {key: _mapping(data.get(key)) for key in ("receivers", "processors", "exporters", "pipeline", "storage")}
    pipeline = sections["pipeline"]
    used: list[tuple[str, str, Any]] = [
        ("receivers", name, factory) for name, factory in components.RECEIVERS.items() if name in sections["receivers"]
    ]
    for key, table in (("processors", components.PROCESSORS), ("exporters", components.EXPORTERS)):
        names = pipeline.get(key) or []
        if isinstance(names, list):
            used += [
                (key, name, table[name]) for name in dict.fromkeys(names) if isinstance(name, str) and name in table
            ]
    problems: list[str] = []
    for section, name, factory in used:
        if factory.check is None:
            continue
        component_config = _component_config(section, name, factory, sections[section], validated)
        if component_config is None:
            continue  # its own field errors are reported by the validation
        for key, message in factory.check(component_config, context):
            problems.append(f"{section}.{name}{'.' + key if key else ''}: {message}")
    try:
        storage = validated.storage if validated is not None else StorageConfig.model_validate(sections["storage"])
    except ValidationError:
        return problems
    directory = storage.resolved_directory(context.base_dir).resolve()
    existing = next((p for p in (directory, *directory.parents) if p.exists()), None)
    if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        problems.append(f"storage.directory: cannot create or write {directory}: {existing} is not a writable folder")
    return problems


def _mapping(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {}


def _component_config(section: str, name: str, factory: Any, raw: dict[str, Any], validated: RelayConfig | None) -> Any:
    if validated is not None:
        return (
            validated.processor_config(name) if section == "processors" else getattr(getattr(validated, section), name)
        )
    if name not in raw and section == "processors":
        return factory.config()
    try:
        return factory.config.model_validate(raw.get(name) or {})
    except ValidationError:
        return None


# --- "did you mean" -----------------------------------------------------------------------------------------------


_SECTIONS: dict[str, Mapping[str, Any]] = {
    "receivers": components.RECEIVERS,
    "processors": components.PROCESSORS,
    "exporters": components.EXPORTERS,
}


def unknown_key(loc: Sequence[int | str]) -> str:
    """A pydantic ``extra_forbidden`` error at ``loc``: the closest key the model there knows (fields and aliases)."""
    if len(loc) == 2 and loc[0] in _SECTIONS:
        return unknown_name(str(loc[0])[:-1], str(loc[1]), _SECTIONS[str(loc[0])])
    known = _keys_at(RelayConfig, loc[:-1])
    guess = closest(str(loc[-1]), known)
    if guess:
        return f"unknown key; did you mean {guess}?"
    return f"unknown key; known keys here: {', '.join(known)}" if known else "unknown key (check the spelling)"


def _keys_at(annotation: Any, path: Sequence[int | str]) -> list[str]:
    """The keys the config model at ``path`` accepts (through sub-models, lists, dicts and ``| None``)."""
    for part in path:
        annotation = _optional(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]  # the part is an index or a dict key
        else:
            return []
    model = _optional(annotation)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    fields = model.model_fields
    return [*fields, *(f.alias for f in fields.values() if f.alias and f.alias not in fields)]


def _optional(annotation: Any) -> Any:
    """``X | None`` → ``X``."""
    if get_origin(annotation) in (Union, UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


# --- an exporter that sends to the relay itself ----------------------------------------------------------------

_LOOPBACK = {"127.0.0.1", "localhost", "0.0.0.0", "::1", "::"}


def loop_problems(config: RelayConfig | None, from_env: Mapping[str, str] | None = None) -> list[str]:
    """An exporter whose destination is one of the relay's own listening endpoints: pointed at the OTLP receiver
    it sends every span back to itself, forever (1 span became 1,006 in eight seconds, and the loop resumed from
    the durable queue after a restart). Loopback names and wildcard addresses are one host; port 0 never matches.
    ``from_env``: key → the environment variable it came from, named in the message."""
    if config is None:
        return []
    own = [("admin.endpoint", config.admin.endpoint)]
    otlp = config.receivers.otlp
    if otlp is not None:
        own += [
            (f"receivers.otlp.{name}.endpoint", t.endpoint)
            for name, t in (("http", otlp.http), ("grpc", otlp.grpc))
            if t
        ]
    problems = []
    for key, url in _destinations(config):
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            continue
        for own_key, endpoint in own:
            host, own_port = validators.split_endpoint(endpoint)
            if own_port == port != 0 and _same_host(parts.hostname or "", host):
                forever = " forever" if own_key == "receivers.otlp.http.endpoint" else ""
                source = f" (from {from_env[key]})" if from_env and key in from_env else ""
                problems.append(
                    f"{key}{source} points at {own_key} ({endpoint}): the relay would send to itself{forever}"
                )
    return problems


def _destinations(config: RelayConfig) -> list[tuple[str, str]]:
    """(key, URL) of where each exporter in the pipeline sends: what it really uses, not every URL it holds."""
    out = []
    for name in dict.fromkeys(config.pipeline.exporters):
        settings = getattr(config.exporters, name, None)
        if name == "otlp" and settings is not None:
            out.append(("exporters.otlp.endpoint", settings.endpoint))
        elif name == "datadog" and settings is not None:
            if settings.override_origin:
                out.append(("exporters.datadog.override_origin", settings.override_origin))
            elif settings.transport == "agent" and settings.agent_url:
                out.append(("exporters.datadog.agent_url", settings.agent_url))
    return out


def _same_host(a: str, b: str) -> bool:
    a, b = a.strip("[]").lower(), b.strip("[]").lower()
    return a == b or (a in _LOOPBACK and b in _LOOPBACK)


# --- loading ------------------------------------------------------------------------------------------------------


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


def environment_defaults(data: dict[str, Any], environ: Mapping[str, str], from_env: dict[str, str]) -> dict[str, Any]:
    """Exporters that honour environment variables (ddtrace's ``DD_*``) fill what their section leaves unset,
    before validation, so values from the environment are checked exactly like values from the file.
    ``from_env`` receives key path → variable name, so errors can name the variable."""
    exporters = data.get("exporters")
    if not isinstance(exporters, dict):
        return data
    filled = dict(exporters)
    for name, section in exporters.items():
        factory = components.EXPORTERS.get(name)
        if factory is None or factory.from_environment is None or not isinstance(section or {}, dict):
            continue
        keys: dict[str, str] = {}
        filled[name] = factory.from_environment(dict(section or {}), environ, keys)
        from_env.update({f"exporters.{name}.{key}": var for key, var in keys.items()})
    return {**data, "exporters": filled}


def parse(
    data: Any, environ: Mapping[str, str] | None = None, source: str = "config", base_dir: Path | None = None
) -> RelayConfig:
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
    data = environment_defaults(data, environ, from_env)
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
    for problem in _checks(data, Context(base_dir=base_dir), validated=config):
        path = problem.split(":", 1)[0]
        errors.append(f"{problem} (from {from_env[path]})" if path in from_env else problem)
    errors.extend(loop_problems(config, from_env))
    errors.extend(viewer_problems(config))
    if errors or config is None:
        raise ConfigError(errors, source)
    return config


_SHOWN_TYPE_ERRORS = {"int_type", "float_type", "bool_type", "int_from_float", "bool_parsing", "int_parsing"}


def _format(exc: ValidationError) -> list[str]:
    messages = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"])
        msg = error["msg"].removeprefix("Value error, ")
        if error["type"] in _SHOWN_TYPE_ERRORS:  # a number or boolean field: its value is no secret
            msg += f", got {units.got(error['input'])}"
        elif error["type"] == "string_type":  # may be a secret: say what it is, never what it says
            msg += f", got {units.got(error['input']).split(' (')[-1].rstrip(')')}; quote it in YAML"
        if error["type"] == "extra_forbidden":
            msg = unknown_key(error["loc"])
        for line in msg.split("\n"):
            messages.append(f"{loc}: {line}" if loc else line)
    return messages


def read_yaml(path: Path) -> Any:
    """A config file's YAML document; an unreadable file or bad YAML is a ConfigError naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"cannot read {path}: {exc.strerror}"], str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError([f"{where}invalid YAML: {getattr(exc, 'problem', exc)}"], str(path)) from None


def load(path: str | Path, environ: Mapping[str, str] | None = None) -> RelayConfig:
    path = Path(path)
    config = parse(read_yaml(path), environ, str(path), base_dir=path.resolve().parent)
    config._origin = str(path)
    return config


def load_only(path: str | Path | None, keys: Sequence[str], environ: Mapping[str, str] | None = None) -> RelayConfig:
    """Only the section at ``keys`` (e.g. ``("storage",)``) of a config file, or of the embedded default without
    a path: its ``${env:...}`` substituted and its values validated; every other section keeps its defaults and is
    not read. For commands that read what a relay left on disk (``glassbox deadletter``, ``glassbox spans``): an
    operator lists dead letters without the exporters' secrets in the environment. ``run`` and ``validate`` load
    the whole file."""
    environ = os.environ if environ is None else environ
    source = str(path) if path else "the embedded default"
    node = read_yaml(Path(path)) if path else yaml.safe_load(default_yaml())
    present = True
    for key in keys:
        present = isinstance(node, dict) and key in node
        node = node.get(key) if present else None
    only: Any = {}  # a section the file does not have: its default (None for an exporter, defaults for storage)
    if present:
        only = {} if node is None else node  # `local:` alone is `local: {}`
        for key in reversed(keys):
            only = {key: only}
    errors: list[str] = []
    only = substitute_env(only, environ, errors=errors)
    if not errors:
        try:
            return RelayConfig.model_validate(only)
        except ValidationError as exc:
            errors = _format(exc)
    raise ConfigError(errors, source)


# The embedded default's local copy beside Datadog: bounded by count and age (the viewer shows what was sent).
LOCAL_COPY = {"max_spans": 20_000, "max_age": "72h"}


def default_config(environ: Mapping[str, str] | None = None, base_dir: Path | None = None) -> RelayConfig:
    """The shipped default: Datadog agentless with DD_API_KEY, the Agent with DD_AGENT_HOST/DD_TRACE_AGENT_URL,
    otherwise the ``local`` exporter (SQLite) so nothing leaves the machine."""
    environ = os.environ if environ is None else environ
    data = yaml.safe_load(default_yaml())
    origin = "the embedded default (local SQLite: no Datadog variable is set)"
    named = wanted_by_environment(environ)
    if named:
        data["exporters"]["datadog"] = {}
        data["pipeline"]["exporters"] = ["datadog", "local"]
        data["exporters"]["local"].update(LOCAL_COPY)
        verb = "is" if len(named) == 1 else "are"
        origin = f"the embedded default, sending to Datadog because {', '.join(named)} {verb} set"
        if environ.get("GLASSBOX_LOCAL_COPY", "").lower() in ("0", "false", "off", "no"):
            data["pipeline"]["exporters"] = ["datadog"]
            del data["exporters"]["local"]
        else:
            origin += ", keeping a local copy for the viewer (GLASSBOX_LOCAL_COPY=off: none)"
    admin = substitute_env(data["admin"], environ)
    if not admin.get("token") and not _is_loopback(validators.split_endpoint(admin["endpoint"])[0]):
        data["admin"]["viewer"] = False  # in a container (GLASSBOX_BIND=0.0.0.0) with no GLASSBOX_VIEWER_TOKEN
        origin += "; viewer off: admin.endpoint is not loopback and GLASSBOX_VIEWER_TOKEN is not set"
    config = parse(data, environ, "default config", base_dir=base_dir)
    config._origin = origin
    return config


def default_yaml() -> str:
    """The embedded default config, as shipped (``glassbox validate --default`` prints it)."""
    return resources.files("glassbox.config").joinpath("default.yaml").read_text(encoding="utf-8")
