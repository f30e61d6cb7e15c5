"""The ``datadog`` exporter: LLM Observability span events and evaluation metrics, agentless or via the Agent."""

from glassbox.collector.exporters.base import ExporterFactory
from glassbox.collector.exporters.datadog.config import DatadogExporterConfig, check, from_environment
from glassbox.collector.exporters.datadog.exporter import DatadogExporter

FACTORY = ExporterFactory(
    name="datadog",
    config=DatadogExporterConfig,
    create=lambda config, context: DatadogExporter(config),
    check=check,
    from_environment=from_environment,
)
