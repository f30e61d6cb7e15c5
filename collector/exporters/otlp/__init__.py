"""The ``otlp`` exporter: the redacted OTLP copy of every span, log record and metric, over OTLP/HTTP."""

from glassbox.collector.exporters.base import ExporterFactory
from glassbox.collector.exporters.otlp.config import OtlpExporterConfig
from glassbox.collector.exporters.otlp.exporter import OtlpExporter

FACTORY = ExporterFactory(
    name="otlp", config=OtlpExporterConfig, create=lambda config, context: OtlpExporter(config), plain_spans=True
)
