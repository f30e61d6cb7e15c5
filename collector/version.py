"""The relay's version, read once from the installed package: the CLI, the startup summary, /metrics and the
Datadog payloads (User-Agent, ``_dd.tracer_version``) all say the same."""

from importlib import metadata

try:
    VERSION = metadata.version("glassbox-otel")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0.1.0"
