"""Settings of the ``otlp`` exporter."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from glassbox.collector import validators
from glassbox.collector.delivery.config import SendingConfig


class OtlpExporterConfig(SendingConfig):
    endpoint: str = Field(description="base URL; /v1/traces, /v1/logs and /v1/metrics are appended")
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    compression: Literal["gzip", "none"] = "gzip"
    _endpoint = field_validator("endpoint")(validators.url)
