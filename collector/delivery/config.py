"""Settings every exporter shares: batching, its queue's bounds and what happens when it is full, retries.

Each exporter's config model extends ``SendingConfig``, so ``exporters.<name>.queue_max_items`` etc. work the
same everywhere; an exporter may change a default (the ``local`` exporter flushes sooner).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from glassbox.processors.base import ComponentConfig


class SendingConfig(ComponentConfig):
    timeout: float = Field(default=10.0, gt=0, description="seconds per request")
    batch_max_items: int = Field(default=500, gt=0, le=10_000, description="items per send (and per SQLite statement)")
    flush_interval: float = Field(default=1.0, gt=0, description="seconds before a partial batch is sent")
    queue_max_items: int = Field(default=100_000, gt=0, description="items on disk for this exporter")
    queue_max_bytes: int = Field(default=1 << 30, gt=0, description="bytes on disk for this exporter")
    overflow: Literal["backpressure", "drop_oldest"] = Field(
        default="backpressure",
        description="when the queue is full: refuse new data (429/UNAVAILABLE) "
        "or delete the oldest items (each one counted)",
    )
    retry_initial_interval: float = Field(default=0.5, gt=0)
    retry_max_interval: float = Field(default=30.0, gt=0)
    retry_max_elapsed: float = Field(default=300.0, gt=0)
