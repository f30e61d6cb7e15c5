"""The relay's own counters and gauges: declared once below (name, type, help, labels), rendered in the
Prometheus text format on ``/metrics``.

Names follow the OpenTelemetry Collector's self-telemetry (``otelcol_receiver_accepted_spans`` →
``glassbox_receiver_accepted_spans_total``). Every drop is a counter with a ``reason`` label. Every declared
family is rendered from the start (unlabelled counters as 0), so dashboards and alerts never see a gap.
Components that keep counters of their own (processors, which cannot import this module) are read at scrape
time through ``Telemetry.source``.

Beside the counters and gauges: the process metrics every Prometheus client exports under their standard names
(``process_cpu_seconds_total``, ... read by ``collector.process_metrics``), and one histogram,
``glassbox_stage_duration_seconds``, the time each stage of the data path took per batch (``STAGES`` says which
labels each stage carries), so ``glassbox bench`` and dashboards can split the relay's time without a profiler.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Labels = tuple[tuple[str, str], ...]
Series = dict[Labels, float]


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Literal["counter", "gauge", "histogram"]
    help: str
    labels: tuple[str, ...] = ()
    namespace: str = "glassbox"  # `process` for the standard process metrics

    @property
    def family(self) -> str:
        """The family's name on /metrics: ``glassbox_<name>``, with ``_total`` for counters."""
        base = f"{self.namespace}_{self.name}"
        return f"{base}_total" if self.kind == "counter" else base


def _counter(name: str, help: str, *labels: str) -> Metric:
    return Metric(name, "counter", help, tuple(sorted(labels)))


def _gauge(name: str, help: str, *labels: str) -> Metric:
    return Metric(name, "gauge", help, tuple(sorted(labels)))


def _process(name: str, kind: Literal["counter", "gauge"], help: str) -> Metric:
    return Metric(name, kind, help, namespace="process")


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
PIPELINE_SPANS = _counter(
    "pipeline_spans",
    "spans past the intake, GenAI or other (other spans skip the processors when no exporter forwards them)",
    "kind",
)
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
READY = _gauge("ready", "1 while /readyz answers 200, 0 while it answers 503 (its body says why)")
UPTIME = _gauge("uptime_seconds", "seconds since the relay process started")
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
EXPORTER_FAILED_SENDS = _counter(
    "exporter_failed_sends", "send attempts of which the destination accepted nothing (retried or refused)", "exporter"
)
EXPORTER_FAILING = _gauge(
    "exporter_failing", "1 while an exporter fails every send (/readyz is 503 and says why), else 0", "exporter"
)
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
    "exporter_queue_oldest_age_seconds",
    "age of the oldest queued item, per exporter (0 when the queue is empty)",
    "exporter",
)
# --- where the time goes ------------------------------------------------------------------------------------
STAGE_DURATION = Metric(
    "stage_duration_seconds",
    "histogram",
    "seconds each stage took, one observation per batch (request) and stage: decode (bytes to protobuf), "
    "normalize (protobuf to spans), processor, encode (render for an exporter), send (one attempt)",
    ("exporter", "processor", "signal", "stage", "transport"),
)
# stage → the labels it carries beside `stage` (few values each: transports, signals, configured names)
STAGES: dict[str, tuple[str, ...]] = {
    "decode": ("signal", "transport"),
    "normalize": ("signal",),
    "processor": ("processor",),
    "encode": ("exporter",),
    "send": ("exporter",),
}
# Upper bounds (seconds), 50 us to 10 s: a decode of a small request to a slow destination's send.
STAGE_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# --- the process (the names every Prometheus client library uses) -------------------------------------------
PROCESS_CPU_SECONDS = _process("cpu_seconds", "counter", "user and system CPU time this process used, in seconds")
PROCESS_RESIDENT_MEMORY = _process("resident_memory_bytes", "gauge", "resident memory (RSS) of this process, in bytes")
PROCESS_VIRTUAL_MEMORY = _process("virtual_memory_bytes", "gauge", "virtual memory size of this process, in bytes")
PROCESS_OPEN_FDS = _process("open_fds", "gauge", "file descriptors this process has open")
PROCESS_MAX_FDS = _process("max_fds", "gauge", "the most file descriptors this process may open (soft limit)")
PROCESS_START_TIME = _process("start_time_seconds", "gauge", "when this process started, in seconds since the epoch")

CATALOGUE: tuple[Metric, ...] = tuple(v for v in tuple(globals().values()) if isinstance(v, Metric))


class Histogram:
    """One series of a histogram: a count per bucket (not cumulative; rendered cumulative), the sum and count."""

    __slots__ = ("buckets", "sum", "count")

    def __init__(self, bounds: int) -> None:
        self.buckets = [0] * (bounds + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0


class Telemetry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Process metrics are read at scrape time (``collect``), never counted here.
        self._counters: dict[Metric, Series] = {
            m: {} for m in CATALOGUE if m.kind == "counter" and m.namespace == "glassbox"
        }
        self._histograms: dict[Metric, dict[Labels, Histogram]] = {m: {} for m in CATALOGUE if m.kind == "histogram"}
        self._gauges: dict[Metric, Callable[[], Series]] = {}
        self._sources: list[Callable[[], dict[str, tuple[str, str, Series]]]] = []
        self._collectors: list[Callable[[], dict[Metric, Series]]] = []

    def add(self, metric: Metric, amount: float = 1, **labels: str) -> None:
        assert metric.kind == "counter" and tuple(sorted(labels)) == metric.labels, (metric, labels)
        if not amount:
            return
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters[metric]
            series[key] = series.get(key, 0) + amount

    def seed(self, metric: Metric, **labels: str) -> None:
        """Show a labelled counter (or stage) at 0 before it first counts, for label values known at startup (the
        configured exporters and processors), so rate() and increase() see its first increments."""
        key = tuple(sorted(labels.items()))
        with self._lock:
            if metric.kind == "counter":
                assert tuple(sorted(labels)) == metric.labels, (metric, labels)
                self._counters[metric].setdefault(key, 0)
            else:
                _check_stage(metric, labels)
                self._histograms[metric].setdefault(key, Histogram(len(STAGE_BUCKETS)))

    def stage(self, stage: str, started: float, **labels: str) -> None:
        """Record how long a stage took for one batch, from ``started`` (a ``time.perf_counter()`` reading)."""
        self.observe(STAGE_DURATION, time.perf_counter() - started, stage=stage, **labels)

    def observe(self, metric: Metric, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        index = bisect.bisect_left(STAGE_BUCKETS, value)  # the first bound >= value: Prometheus' `le`
        with self._lock:
            series = self._histograms.get(metric, {}).get(key)
            if series is None:  # labels are checked once per series: observing stays a few microseconds
                _check_stage(metric, labels)
                series = self._histograms[metric][key] = Histogram(len(STAGE_BUCKETS))
            series.buckets[index] += 1
            series.sum += value
            series.count += 1

    def gauge(self, metric: Metric, read: Callable[[], Series]) -> None:
        """Register how to read a gauge at scrape time (queue sizes, pending joins)."""
        assert metric.kind == "gauge", metric
        self._gauges[metric] = read

    def source(self, read: Callable[[], dict[str, tuple[str, str, Series]]]) -> None:
        """A component that keeps its own counters (e.g. a processor): ``read()`` returns
        name → (``counter`` | ``gauge``, help, {labels: value}), read at scrape time."""
        self._sources.append(read)

    def collect(self, read: Callable[[], dict[Metric, Series]]) -> None:
        """Several declared families read together at scrape time (the process metrics: one read of /proc);
        a family ``read()`` leaves out is not rendered (e.g. memory where the platform cannot tell)."""
        self._collectors.append(read)

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
            histograms = {
                metric: {labels: _copy(h) for labels, h in series.items()}
                for metric, series in self._histograms.items()
            }
        for metric in sorted(counters, key=lambda m: m.name):
            series = counters[metric] or ({(): 0.0} if not metric.labels else {})
            _family(lines, metric.family, "counter", metric.help, series)
        for metric in sorted(self._gauges, key=lambda m: m.name):
            _family(lines, metric.family, "gauge", metric.help, self._gauges[metric]())
        for metric in sorted(histograms, key=lambda m: m.name):
            _histogram(lines, metric, histograms[metric])
        for collect in self._collectors:
            for metric, series in sorted(collect().items(), key=lambda item: item[0].family):
                _family(lines, metric.family, metric.kind, metric.help, series)
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
    found = next((m for m in CATALOGUE if m.name == metric and m.kind == "counter" and m.namespace == "glassbox"), None)
    if found is None:
        raise KeyError(f"no counter {metric!r} in the catalogue")
    return found


def _check_stage(metric: Metric, labels: dict[str, str]) -> None:
    assert metric is STAGE_DURATION and labels.get("stage") in STAGES, (metric, labels)
    assert sorted(labels) == sorted(("stage", *STAGES[labels["stage"]])), (metric, labels)


def _copy(histogram: Histogram) -> Histogram:
    copy = Histogram(len(histogram.buckets) - 1)
    copy.buckets, copy.sum, copy.count = list(histogram.buckets), histogram.sum, histogram.count
    return copy


def _histogram(lines: list[str], metric: Metric, series: dict[Labels, Histogram]) -> None:
    name = metric.family
    lines.append(f"# HELP {name} {_escape_help(metric.help)}")
    lines.append(f"# TYPE {name} histogram")
    for labels, histogram in sorted(series.items()):
        cumulative = 0
        for bound, count in zip((*STAGE_BUCKETS, float("inf")), histogram.buckets, strict=True):
            cumulative += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            lines.append(f"{name}_bucket{_labels((*labels, ('le', le)))} {cumulative}")
        lines.append(f"{name}_sum{_labels(labels)} {_number(histogram.sum)}")
        lines.append(f"{name}_count{_labels(labels)} {histogram.count}")


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
