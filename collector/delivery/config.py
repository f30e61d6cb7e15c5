"""Settings every exporter shares: batching, its queue's bounds and what happens when it is full, retries.

Each exporter's config model extends ``SendingConfig``, so ``exporters.<name>.queue_max_items`` etc. work the
same everywhere; an exporter may change a default (the ``local`` exporter flushes sooner).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from glassbox.processors.base import ComponentConfig
from glassbox.processors.units import Bytes, Seconds


class SendingConfig(ComponentConfig):
    timeout: Seconds = Field(default=10.0, description="per request (seconds, or 500ms, 30s)")
    batch_max_items: int = Field(default=500, gt=0, le=10_000, description="items per send (and per SQLite statement)")
    flush_interval: Seconds = Field(default=1.0, description="before a partial batch is sent (seconds, or 200ms)")
    queue_max_items: int = Field(default=100_000, gt=0, description="items on disk for this exporter")
    queue_max_bytes: Bytes = Field(default=1 << 30, description="on disk for this exporter (bytes, or 512MiB, 1GiB)")
    overflow: Literal["backpressure", "drop_oldest"] = Field(
        default="backpressure",
        description="when the queue is full: refuse new data (429/UNAVAILABLE) "
        "or delete the oldest items (each one counted)",
    )
    retry_initial_interval: Seconds = Field(default=0.5, description="first retry delay (seconds, or 500ms)")
    retry_max_interval: Seconds = Field(default=30.0, description="longest retry delay (seconds, or 30s)")
    retry_max_elapsed: Seconds = Field(default=300.0, description="give up retrying after (seconds, or 5m)")
