"""The ``debug`` exporter: one log line per span (``detailed`` adds the Datadog span event), nothing sent."""

from glassbox.collector.exporters.base import ExporterFactory
from glassbox.collector.exporters.debug.config import DebugExporterConfig
from glassbox.collector.exporters.debug.exporter import DebugExporter

FACTORY = ExporterFactory(
    name="debug", config=DebugExporterConfig, create=lambda config, context: DebugExporter(config)
)
