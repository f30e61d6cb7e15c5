"""``init()``: tracer, logger and meter providers exporting to the relay, GenAI instrumentations on, and nothing
that can break the app.

Where spans go, first match wins: the standard ``OTEL_EXPORTER_OTLP_*`` variables (the exporters read them
themselves); else the node's relay at ``GLASSBOX_RELAY_HOST`` (the DaemonSet docs set it from the downward API);
else 127.0.0.1. The protocol is OTLP/HTTP (port 4318) unless ``OTEL_EXPORTER_OTLP_PROTOCOL`` says ``grpc`` (4317).

The resource takes ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` and, as ddtrace users have them set,
``DD_SERVICE``, ``DD_ENV``, ``DD_VERSION`` and ``DD_LLMOBS_ML_APP`` (the OTel variables win).

An app with its own OTel setup keeps it: ``init()`` called after the app set a tracer provider adds glassbox's
processors to that provider; under ``glassbox-instrument`` (glassbox's provider is set first), a provider the app
sets later is merged into glassbox's (its span processors get every span) instead of being refused.

Never breaking the app: every step is guarded and reported in one line on stderr; exports time out after
``EXPORT_TIMEOUT_S``; at exit, flushing waits at most ``GLASSBOX_SHUTDOWN_TIMEOUT`` seconds (default 3).
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from glassbox.instrumentation import libraries
from glassbox.instrumentation.context import STAMPER

EXPORT_TIMEOUT_S = 5.0
DEFAULT_SHUTDOWN_TIMEOUT_S = 3.0
PROTOCOLS = ("http/protobuf", "grpc")
ML_APP_ATTRIBUTE = "dd.llmobs.ml_app"  # the relay reads it (processors/semconv.py ML_APP)


def warn(message: str) -> None:
    """The one line a problem gets: on stderr, prefixed, never an exception."""
    try:
        print(f"glassbox-instrument: {message}", file=sys.stderr, flush=True)
    except Exception:  # noqa: BLE001 — a closed stderr must not break the app either
        pass


@dataclass
class State:
    tracer_provider: Any = None
    logger_provider: Any = None
    meter_provider: Any = None
    instrumented: list[str] = field(default_factory=list)
    endpoint: str = ""


_lock = threading.Lock()
_state: State | None = None


def init(
    service: str | None = None,
    *,
    endpoint: str | None = None,
    instrument: bool = True,
    environ: Mapping[str, str] | None = None,
) -> State:
    """Set up once per process (later calls return the same state): providers, exporters, instrumentations."""
    global _state
    with _lock:
        if _state is not None:
            return _state
        env = os.environ if environ is None else environ
        if environ is None:
            libraries.set_content_switches(os.environ)  # before any instrumentation reads them
        state = State()
        try:
            _setup(state, service, endpoint, env)
        except Exception as exc:  # noqa: BLE001 — without telemetry the app still runs
            warn(f"telemetry is off ({type(exc).__name__}: {exc})")
        if instrument:
            try:
                state.instrumented = libraries.instrument(libraries.installed(dict(env)), warn)
            except Exception as exc:  # noqa: BLE001
                warn(f"instrumentations not turned on ({type(exc).__name__}: {exc})")
        _state = state
        return state


def _setup(state: State, service: str | None, endpoint: str | None, env: Mapping[str, str]) -> None:
    protocol = _protocol(env)
    base = endpoint or _base_endpoint(env, protocol)
    state.endpoint = base or "(from OTEL_EXPORTER_OTLP_* variables)"
    resource = Resource.create(_resource_attributes(service, env))
    _quiet_exporter_logs()

    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):  # the app configured OTel first: join it
        provider = current
    else:
        provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        trace.set_tracer_provider(provider)
        _merge_later_providers(provider)
    provider.add_span_processor(STAMPER)
    provider.add_span_processor(BatchSpanProcessor(_span_exporter(protocol, base)))
    state.tracer_provider = provider
    state.logger_provider = _logs(protocol, base, resource)
    state.meter_provider = _metrics(protocol, base, resource)
    atexit.register(_shutdown, state, _shutdown_timeout(env))


def _protocol(env: Mapping[str, str]) -> str:
    raw = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    if raw.strip().lower() in PROTOCOLS:
        return raw.strip().lower()
    warn(f"OTEL_EXPORTER_OTLP_PROTOCOL={raw!r} is not one of {', '.join(PROTOCOLS)}; using http/protobuf")
    return "http/protobuf"


def _base_endpoint(env: Mapping[str, str], protocol: str) -> str | None:
    """None when the OTEL_EXPORTER_OTLP_* variables name the endpoint (the exporters read them)."""
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return None
    host = (env.get("GLASSBOX_RELAY_HOST") or "127.0.0.1").strip()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 host IP from the downward API
    return f"http://{host}:{4317 if protocol == 'grpc' else 4318}"


def _resource_attributes(service: str | None, env: Mapping[str, str]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    if env.get("DD_ENV"):
        attributes["deployment.environment.name"] = env["DD_ENV"]
    if env.get("DD_VERSION"):
        attributes["service.version"] = env["DD_VERSION"]
    if env.get("DD_LLMOBS_ML_APP"):
        attributes[ML_APP_ATTRIBUTE] = env["DD_LLMOBS_ML_APP"]
    name = service or env.get("OTEL_SERVICE_NAME") or env.get("DD_SERVICE")
    if name:
        attributes["service.name"] = name
    return attributes  # Resource.create adds OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME on top


def _span_exporter(protocol: str, base: str | None) -> Any:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter

        return GrpcSpanExporter(endpoint=base, insecure=True, timeout=EXPORT_TIMEOUT_S) if base else GrpcSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if base:
        return OTLPSpanExporter(endpoint=f"{base}/v1/traces", timeout=EXPORT_TIMEOUT_S)
    return OTLPSpanExporter()


def _logs(protocol: str, base: str | None, resource: Resource) -> Any:
    """A logger provider for GenAI events (event-mode instrumentations, evaluations), unless the app set one."""
    from opentelemetry import _logs
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    current = _logs.get_logger_provider()
    if isinstance(current, LoggerProvider):
        provider = current
    else:
        provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        _logs.set_logger_provider(provider)
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter

        exporter: Any = GrpcLogExporter(endpoint=base, insecure=True, timeout=EXPORT_TIMEOUT_S) if base else None
        exporter = exporter or GrpcLogExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

        exporter = OTLPLogExporter(endpoint=f"{base}/v1/logs", timeout=EXPORT_TIMEOUT_S) if base else OTLPLogExporter()
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    return provider


def _metrics(protocol: str, base: str | None, resource: Resource) -> Any:
    """A meter provider for the instrumentations' own metrics (token and duration histograms), unless the app
    set one; the relay forwards them to OTLP exporters."""
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    current = metrics.get_meter_provider()
    if isinstance(current, MeterProvider):
        return current  # the app's: its readers decide where metrics go
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter

        exporter: Any = GrpcMetricExporter(endpoint=base, insecure=True, timeout=EXPORT_TIMEOUT_S) if base else None
        exporter = exporter or GrpcMetricExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        exporter = (
            OTLPMetricExporter(endpoint=f"{base}/v1/metrics", timeout=EXPORT_TIMEOUT_S)
            if base
            else OTLPMetricExporter()
        )
    provider = MeterProvider(
        resource=resource, metric_readers=[PeriodicExportingMetricReader(exporter)], shutdown_on_exit=False
    )
    metrics.set_meter_provider(provider)
    return provider


def _merge_later_providers(ours: TracerProvider) -> None:
    """A tracer provider the app sets after glassbox's: its span processors are added to glassbox's, and the call
    returns quietly (the OTel API would refuse it with a warning, and the app's exporters would get nothing)."""
    original = trace.set_tracer_provider

    def set_tracer_provider(tracer_provider: trace.TracerProvider) -> None:
        provider = tracer_provider
        if provider is ours:
            return
        if isinstance(provider, TracerProvider):
            ours.add_span_processor(provider._active_span_processor)  # noqa: SLF001 — the SDK has no getter
            logging.getLogger("glassbox.instrumentation").info(
                "the app's TracerProvider was merged into glassbox's: its span processors get every span"
            )
            return
        original(provider)

    trace.set_tracer_provider = set_tracer_provider


class _OncePerReason(logging.Filter):
    """The OTLP exporters log every failed export (a missing relay: one error per batch, with retries). The first
    becomes one line of ours; the rest are dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.said = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        if not self.said:
            self.said = True
            warn(f"cannot export to the relay ({record.getMessage()[:200]}); is `glassbox run` up? (said once)")
        return False


def _quiet_exporter_logs() -> None:
    once = _OncePerReason()
    for name in ("opentelemetry.exporter.otlp.proto.http", "opentelemetry.exporter.otlp.proto.grpc"):
        logging.getLogger(name).addFilter(once)
    for name in (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        "opentelemetry.exporter.otlp.proto.http._log_exporter",
        "opentelemetry.exporter.otlp.proto.http.metric_exporter",
        "opentelemetry.exporter.otlp.proto.grpc.exporter",
        "opentelemetry.sdk.metrics._internal.export",
        "opentelemetry.sdk._shared_internal",
        "opentelemetry.sdk.trace.export",
        "opentelemetry.sdk._logs._internal.export",
    ):
        logging.getLogger(name).addFilter(once)


def _shutdown_timeout(env: Mapping[str, str]) -> float:
    raw = env.get("GLASSBOX_SHUTDOWN_TIMEOUT", "")
    try:
        value = float(raw) if raw else DEFAULT_SHUTDOWN_TIMEOUT_S
        if value < 0:
            raise ValueError
        return value
    except ValueError:
        warn(f"GLASSBOX_SHUTDOWN_TIMEOUT={raw!r} is not a number of seconds; using {DEFAULT_SHUTDOWN_TIMEOUT_S:g}")
        return DEFAULT_SHUTDOWN_TIMEOUT_S


def _shutdown(state: State, timeout: float) -> None:
    """Flush what is buffered, waiting at most ``timeout`` seconds in all (a daemon thread: the app's exit never
    waits longer, whatever the exporters do)."""

    def flush() -> None:
        for provider in (state.tracer_provider, state.logger_provider, state.meter_provider):
            try:
                if provider is not None:
                    provider.force_flush(int(timeout * 1000))
            except Exception:  # noqa: BLE001
                pass

    worker = threading.Thread(target=flush, name="glassbox-flush", daemon=True)
    worker.start()
    worker.join(timeout)


def reset_for_tests() -> None:
    """Forget the state (the providers stay global: OTel allows setting them once per process)."""
    global _state
    _state = None
