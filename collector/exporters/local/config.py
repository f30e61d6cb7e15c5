"""Settings of the ``local`` exporter."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from glassbox.collector.delivery.config import SendingConfig
from glassbox.processors.units import Seconds


class LocalExporterConfig(SendingConfig):
    flush_interval: Seconds = Field(default=0.2, description="before a partial batch is sent (seconds, or 200ms)")
    path: str = Field(default="glassbox.db", description="SQLite file; relative to the config file's folder")
    max_spans: int = Field(default=100_000, gt=0, description="oldest spans are pruned beyond this")
    max_age: Seconds | None = Field(
        default=None, description="spans received longer ago are pruned (seconds, or 72h); unset: no age limit"
    )

    def resolved_path(self, base_dir: Path | None) -> Path:
        path = Path(self.path)
        return base_dir / path if not path.is_absolute() and base_dir is not None else path


def check(config: LocalExporterConfig, context: object) -> list[tuple[str, str]]:
    """The store's folder must exist or be creatable, and be writable (the store is created at start)."""
    path = config.resolved_path(getattr(context, "base_dir", None))
    folder = path.parent.resolve()
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if path.exists() and not os.access(path, os.W_OK):
        return [("path", f"{path} is not writable")]
    if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return [("path", f"cannot create {path}: {existing or folder} is not a writable folder")]
    return []
