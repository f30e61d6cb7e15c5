"""THE registry: every receiver, processor and exporter the relay can build, one line each.

Adding a component = one folder (its factory, config model and code) + one line here. The config sections
(``receivers:``, ``processors:``, ``exporters:``), their validation, ``glassbox validate`` and the contract test
(tests/test_components.py) all follow from these tables.
"""

from __future__ import annotations

from typing import TypeVar

from glassbox.collector.exporters import datadog as datadog_exporter
from glassbox.collector.exporters import debug as debug_exporter
from glassbox.collector.exporters import local as local_exporter
from glassbox.collector.exporters import metrics as metrics_exporter
from glassbox.collector.exporters import null as null_exporter
from glassbox.collector.exporters import otlp as otlp_exporter
from glassbox.collector.exporters.base import ExporterFactory
from glassbox.collector.receivers import otlp as otlp_receiver
from glassbox.collector.receivers.base import ReceiverFactory
from glassbox.processors import cost, evals, prompts, redaction
from glassbox.processors import debug as debug_processor
from glassbox.processors.base import ProcessorFactory

F = TypeVar("F", ReceiverFactory, ProcessorFactory, ExporterFactory)


def _by_name(*factories: F) -> dict[str, F]:
    return {factory.name: factory for factory in factories}


RECEIVERS: dict[str, ReceiverFactory] = _by_name(
    otlp_receiver.FACTORY,
)
PROCESSORS: dict[str, ProcessorFactory] = _by_name(
    redaction.FACTORY,
    cost.FACTORY,
    prompts.FACTORY,
    evals.FACTORY,
    debug_processor.FACTORY,
)
EXPORTERS: dict[str, ExporterFactory] = _by_name(
    datadog_exporter.FACTORY,
    otlp_exporter.FACTORY,
    local_exporter.FACTORY,
    debug_exporter.FACTORY,
    metrics_exporter.FACTORY,
    null_exporter.FACTORY,
)
