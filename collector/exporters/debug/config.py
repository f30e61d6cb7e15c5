"""Settings of the ``debug`` exporter."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from glassbox.collector.delivery.config import SendingConfig


class DebugExporterConfig(SendingConfig):
    flush_interval: float = Field(default=0.2, gt=0)
    verbosity: Literal["basic", "detailed"] = "basic"
