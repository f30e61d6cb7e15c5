"""The ``null`` exporter: accepts every span and drops it, counted (``glassbox_exporter_sent_items_total``).

What ``glassbox bench --exporter null`` measures against: the relay's spine (receive, decode, queue) without
rendering for, or sending to, a destination.
"""

from glassbox.collector.exporters.base import ExporterFactory
from glassbox.collector.exporters.null.config import NullExporterConfig
from glassbox.collector.exporters.null.exporter import NullExporter

FACTORY = ExporterFactory(
    name="null",
    config=NullExporterConfig,
    create=lambda config, context: NullExporter(),
    egress=False,
    plain_spans=True,  # it stands for any destination, the OTLP copy included
)
