"""The relay's own counters and gauges, rendered in the Prometheus text format on ``/metrics``.

Names follow the OpenTelemetry Collector's self-telemetry (``otelcol_receiver_accepted_spans`` →
``glassbox_receiver_accepted_spans_total``). Every drop is a counter with a ``reason`` label.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Callable

Labels = tuple[tuple[str, str], ...]


class Telemetry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = defaultdict(dict)
        self._help: dict[str, str] = {}
        self._gauges: dict[str, tuple[str, Callable[[], dict[Labels, float]]]] = {}
        self._sources: list[Callable[[], dict[str, tuple[str, str, dict[Labels, float]]]]] = []

    def add(self, name: str, amount: float = 1, help: str = "", **labels: str) -> None:
        if not amount:
            return
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters[name]
            series[key] = series.get(key, 0) + amount
            if help:
                self._help.setdefault(name, help)

    def gauge(self, name: str, help: str, read: Callable[[], dict[Labels, float]]) -> None:
        """Register a gauge read at scrape time (queue sizes, pending joins)."""
        self._gauges[name] = (help, read)

    def source(self, read: Callable[[], dict[str, tuple[str, str, dict[Labels, float]]]]) -> None:
        """A component that keeps its own counters (e.g. a processor): ``read()`` returns
        name → (``counter`` | ``gauge``, help, {labels: value}), read at scrape time."""
        self._sources.append(read)

    def value(self, name: str, **labels: str) -> float:
        key = tuple(sorted(labels.items()))
        with self._lock:
            return self._counters.get(name, {}).get(key, 0)

    def total(self, name: str) -> float:
        with self._lock:
            return sum(self._counters.get(name, {}).values())

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            counters = {name: dict(series) for name, series in self._counters.items()}
        for name in sorted(counters):
            _family(lines, f"glassbox_{name}_total", "counter", self._help.get(name, name.replace("_", " ")),
                    counters[name])
        for name in sorted(self._gauges):
            help_text, read = self._gauges[name]
            _family(lines, f"glassbox_{name}", "gauge", help_text, read())
        for read in self._sources:
            for name, (kind, help_text, series) in sorted(read().items()):
                _family(lines, f"glassbox_{name}_total" if kind == "counter" else f"glassbox_{name}", kind,
                        help_text, series)
        return "\n".join(lines) + "\n"


def _family(lines: list[str], metric: str, kind: str, help_text: str, series: dict[Labels, float]) -> None:
    lines.append(f"# HELP {metric} {help_text}")
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


def _number(val: float) -> str:
    return str(int(val)) if float(val).is_integer() else repr(float(val))
