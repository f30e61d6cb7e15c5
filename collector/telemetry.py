"""The relay's own counters and gauges: declared once below (name, type, help, labels), rendered in the
Prometheus text format on ``/metrics``.

Names follow the OpenTelemetry Collector's self-telemetry (``otelcol_receiver_accepted_spans`` →
``glassbox_receiver_accepted_spans_total``). Every drop is a counter with a ``reason`` label. Every declared
family is rendered from the start (unlabelled counters as 0), so dashboards and alerts never see a gap.
Components that keep counters of their own (processors, which cannot import this module) are read at scrape
time through ``Telemetry.source``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Labels = tuple[tuple[str, str], ...]
Series = dict[Labels, float]


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Literal["counter", "gauge"]
    help: str
    labels: tuple[str, ...] = ()


def _counter(name: str, help: str, *labels: str) -> Metric:
    return Metric(name, "counter", help, tuple(sorted(labels)))


def _gauge(name: str, help: str, *labels: str) -> Metric:
    return Metric(name, "gauge", help, tuple(sorted(labels)))


# --- receivers ----------------------------------------------------------------------------------------------
RECEIVER_ACCEPTED_REQUESTS = _counter("receiver_accepted_requests", "OTLP requests accepted", "transport", "signal")
RECEIVER_ACCEPTED_SPANS = _counter("receiver_accepted_spans", "spans accepted", "transport")
RECEIVER_ACCEPTED_LOG_RECORDS = _counter("receiver_accepted_log_records", "log records accepted", "transport")
RECEIVER_ACCEPTED_METRIC_POINTS = _counter("receiver_accepted_metric_points", "metrics accepted", "transport")
RECEIVER_ACCEPTED = {
    "traces": RECEIVER_ACCEPTED_SPANS,
    "logs": RECEIVER_ACCEPTED_LOG_RECORDS,
    "metrics": RECEIVER_ACCEPTED_METRIC_POINTS,
}
RECEIVER_REFUSED_REQUESTS = _counter(
    "receiver_refused_requests", "OTLP requests refused, by reason", "transport", "signal", "reason"
)
RECEIVER_REJECTED_SPANS = _counter(
    "receiver_rejected_spans", "spans refused inside an accepted request (OTLP partial success)", "reason"
)
# --- pipeline -----------------------------------------------------------------------------------------------
PIPELINE_SPANS = _counter("pipeline_spans", "spans through the processor chain, GenAI or other", "kind")
PIPELINE_PENDING_SPANS = _gauge("pipeline_pending_spans", "GenAI spans waiting for log content or their parent")
PIPELINE_JOINED_SPANS = _counter("pipeline_joined_spans", "GenAI spans that got content from log records")
PIPELINE_JOIN_RELEASED = _counter(
    "pipeline_join_released", "spans released before their content or parent arrived, by reason", "reason"
)
PIPELINE_ORPHAN_LOG_CONTENT = _counter(
    "pipeline_orphan_log_content",
    "GenAI log content that found no span to join (still forwarded to OTLP exporters), by reason",
    "reason",
)
PIPELINE_UNJOINABLE_LOG_RECORDS = _counter(
    "pipeline_unjoinable_log_records", "GenAI log records without a span context (forwarded to OTLP exporters only)"
)
PIPELINE_MEMORY_LIMIT_REFUSALS = _counter(
    "pipeline_memory_limit_refusals", "requests refused above pipeline.memory_limit_mib"
)
PIPELINE_DROPPED_ITEMS = _counter(
    "pipeline_dropped_items",
    "spans, log records or evaluations dropped because they could not even be scrubbed, by reason",
    "reason",
)
BUILD_INFO = _gauge("build_info", "1, labelled with the relay's version and Python's", "version", "python")
PIPELINE_UNREDACTED_EXPORTERS = _gauge(
    "pipeline_unredacted_exporters",
    "1 per exporter that sends data off this machine with no redaction in the pipeline (pipeline.send_unredacted)",
    "exporter",
)
PROCESSOR_SPANS = _counter("processor_spans", "spans through each processor", "processor")
PROCESSOR_FAILED_SPANS = _counter(
    "processor_failed_spans", "spans scrubbed because a processor failed (fail closed)", "processor"
)
# --- exporters ----------------------------------------------------------------------------------------------
EXPORTER_ENQUEUED_ITEMS = _counter("exporter_enqueued_items", "items written to an exporter's queue", "exporter")
EXPORTER_SENT_ITEMS = _counter("exporter_sent_items", "items the destination accepted", "exporter")
EXPORTER_RETRIES = _counter("exporter_retries", "sends retried after a retryable failure", "exporter")
EXPORTER_DEAD_LETTERS = _counter(
    "exporter_dead_letters",
    "items the destination refused for good, kept in the dead-letter table",
    "exporter",
    "reason",
)
EXPORTER_DROPPED_ITEMS = _counter("exporter_dropped_items", "items dropped, by reason", "exporter", "reason")
EXPORTER_STRIPPED_SPANS = _counter(
    "exporter_stripped_spans", "spans sent without their content because it could not be rendered", "exporter", "reason"
)
EXPORTER_QUEUE_SIZE = _gauge("exporter_queue_size", "items waiting on disk, per exporter", "exporter")
EXPORTER_QUEUE_BYTES = _gauge("exporter_queue_bytes", "bytes waiting on disk, per exporter", "exporter")
EXPORTER_QUEUE_CAPACITY = _gauge("exporter_queue_capacity", "queue_max_items, per exporter", "exporter")
EXPORTER_QUEUE_OLDEST_AGE = _gauge(
    "exporter_queue_oldest_age_seconds", "age of the oldest queued item, per exporter", "exporter"
)

CATALOGUE: tuple[Metric, ...] = tuple(v for v in tuple(globals().values()) if isinstance(v, Metric))


class Telemetry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[Metric, Series] = {m: {} for m in CATALOGUE if m.kind == "counter"}
        self._gauges: dict[Metric, Callable[[], Series]] = {}
        self._sources: list[Callable[[], dict[str, tuple[str, str, Series]]]] = []

    def add(self, metric: Metric, amount: float = 1, **labels: str) -> None:
        assert metric.kind == "counter" and tuple(sorted(labels)) == metric.labels, (metric, labels)
        if not amount:
            return
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters[metric]
            series[key] = series.get(key, 0) + amount

    def gauge(self, metric: Metric, read: Callable[[], Series]) -> None:
        """Register how to read a gauge at scrape time (queue sizes, pending joins)."""
        assert metric.kind == "gauge", metric
        self._gauges[metric] = read

    def source(self, read: Callable[[], dict[str, tuple[str, str, Series]]]) -> None:
        """A component that keeps its own counters (e.g. a processor): ``read()`` returns
        name → (``counter`` | ``gauge``, help, {labels: value}), read at scrape time."""
        self._sources.append(read)

    def value(self, metric: Metric | str, **labels: str) -> float:
        """A counter's value for these labels (a metric or its name)."""
        key = tuple(sorted(labels.items()))
        with self._lock:
            return self._counters[_find(metric)].get(key, 0)

    def total(self, metric: Metric | str) -> float:
        """A counter summed over its labels."""
        with self._lock:
            return sum(self._counters[_find(metric)].values())

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            counters = {metric: dict(series) for metric, series in self._counters.items()}
        for metric in sorted(counters, key=lambda m: m.name):
            series = counters[metric] or ({(): 0.0} if not metric.labels else {})
            _family(lines, f"glassbox_{metric.name}_total", "counter", metric.help, series)
        for metric in sorted(self._gauges, key=lambda m: m.name):
            _family(lines, f"glassbox_{metric.name}", "gauge", metric.help, self._gauges[metric]())
        for read in self._sources:
            for name, (kind, help_text, series) in sorted(read().items()):
                _family(
                    lines,
                    f"glassbox_{name}_total" if kind == "counter" else f"glassbox_{name}",
                    kind,
                    help_text,
                    series,
                )
        return "\n".join(lines) + "\n"


def _find(metric: Metric | str) -> Metric:
    if isinstance(metric, Metric):
        return metric
    found = next((m for m in CATALOGUE if m.name == metric and m.kind == "counter"), None)
    if found is None:
        raise KeyError(f"no counter {metric!r} in the catalogue")
    return found


def _family(lines: list[str], metric: str, kind: str, help_text: str, series: Series) -> None:
    lines.append(f"# HELP {metric} {_escape_help(help_text)}")
    lines.append(f"# TYPE {metric} {kind}")
    for labels, val in sorted(series.items()):
        lines.append(f"{metric}{_labels(labels)} {_number(val)}")


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(val: float) -> str:
    return str(int(val)) if float(val).is_integer() else repr(float(val))
