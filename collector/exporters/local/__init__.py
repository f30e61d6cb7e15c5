"""The ``local`` exporter: what would reach Datadog, stored in SQLite, listed by ``glassbox spans``."""

from glassbox.collector.exporters.base import ExporterFactory
from glassbox.collector.exporters.local.config import LocalExporterConfig, check
from glassbox.collector.exporters.local.exporter import LocalExporter

FACTORY = ExporterFactory(
    name="local",
    config=LocalExporterConfig,
    create=lambda config, context: LocalExporter(config, context.base_dir),
    check=check,
    egress=False,
)
