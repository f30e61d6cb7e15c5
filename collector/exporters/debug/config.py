"""Settings of the ``debug`` exporter."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from glassbox.collector.delivery.config import SendingConfig
from glassbox.processors.units import Seconds


class DebugExporterConfig(SendingConfig):
    flush_interval: Seconds = Field(default=0.2, description="before a partial batch is sent (seconds, or 200ms)")
    verbosity: Literal["basic", "detailed"] = "basic"
