from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from glassbox.collector.exporters.metrics.config import MetricsExporterConfig
from glassbox.collector.exporters.metrics.exporter import MetricsExporter
from glassbox.processors import model as M


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A temp dir with a short path: a Unix socket's path must fit in 108 bytes."""
    with tempfile.TemporaryDirectory(prefix="gbm") as path:
        yield Path(path)


def exporter(**settings: object) -> MetricsExporter:
    return MetricsExporter(MetricsExporterConfig.model_validate(settings))


def llm_span(i: int = 1, **fields: object) -> M.Span:
    values: dict[str, object] = {
        "trace_id": "ab" * 16,
        "span_id": f"{i:016x}",
        "parent_id": None,
        "name": "chat gpt-4o-mini",
        "kind": M.LLM,
        "start_ns": 1_700_000_000_000_000_000,
        "duration_ns": 1_250_000_000,
        "model_name": "gpt-4o-mini",
        "model_provider": "openai",
        "service": "support-bot",
        "env": "prod",
        "version": "1.4.2",
        "metrics": {M.INPUT_TOKENS: 120, M.OUTPUT_TOKENS: 30, M.TOTAL_COST: 0.00036},
        "prompt": M.Prompt(name="answer", version="v3"),
    }
    values.update(fields)
    return M.Span(**values)  # type: ignore[arg-type]
