"""The ``metrics`` exporter: Datadog metrics derived from every GenAI span (requests, errors, latency, tokens,
cost, evaluations, PII), to the Agent over DogStatsD or agentless to the metrics intake API."""

from glassbox.collector.exporters.base import ExporterFactory
from glassbox.collector.exporters.metrics.config import MetricsExporterConfig, check, from_environment
from glassbox.collector.exporters.metrics.exporter import MetricsExporter

# egress: metrics carry no content, but tag values (allow-listed span tags, prompt and model names, error types)
# come from the app and leave the machine, so a pipeline without redaction needs send_unredacted like any other.
FACTORY = ExporterFactory(
    name="metrics",
    config=MetricsExporterConfig,
    create=lambda config, context: MetricsExporter(config),
    check=check,
    egress=True,
    from_environment=from_environment,
)
