"""Settings of the ``null`` exporter: only the sending settings every exporter shares."""

from __future__ import annotations

from pydantic import Field

from glassbox.collector.delivery.config import SendingConfig
from glassbox.processors.units import Seconds


class NullExporterConfig(SendingConfig):
    flush_interval: Seconds = Field(default=0.05, description="before a partial batch is sent (seconds, or 50ms)")
