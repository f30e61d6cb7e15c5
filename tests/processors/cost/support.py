"""Helpers for the cost processor's tests: spans built the two ways the relay gets them (model spans in code,
and OTLP attributes through the relay's own ``normalize``), and hand-worked prices in ``Decimal``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from glassbox.processors.base import Context
from glassbox.processors.cost import FACTORY
from glassbox.processors.cost.config import CostConfig
from glassbox.processors.cost.processor import CostProcessor
from tests.processors.conftest import trace_request

NOV_2026 = 1_793_491_200_000_000_000  # 2026-11-01T00:00:00Z, in ns: prices are date-effective
MAY_2025 = 1_746_057_600_000_000_000  # 2025-05-01T00:00:00Z
COST_KEYS = set(M.COST_METRICS)


def usd(*parts: tuple[float, str]) -> float:
    """Σ tokens × USD per million tokens, worked exactly (Decimal) from the published per-million prices."""
    return float(sum(Decimal(tokens) * Decimal(price) for tokens, price in parts) / Decimal(1_000_000))


def processor(**config: Any) -> CostProcessor:
    made = FACTORY.create(CostConfig.model_validate(config), Context())
    assert isinstance(made, CostProcessor)
    made.start()
    return made


def model_span(
    model: str | None,
    provider: str | None,
    *,
    kind: str = M.LLM,
    start_ns: int = NOV_2026,
    duration_ns: int = 1_000_000_000,
    metadata: dict[str, Any] | None = None,
    **tokens: float,
) -> M.Span:
    """A span as code builds it (no OTLP copy): tokens by their Datadog names, e.g. input_tokens=21."""
    return M.Span(
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="00f067aa0ba902b7",
        parent_id=None,
        name="chat",
        kind=kind,
        start_ns=start_ns,
        duration_ns=duration_ns,
        model_name=model,
        model_provider=provider,
        metadata=dict(metadata or {}),
        metrics=dict(tokens),
    )


def otlp_span(attributes: dict[str, Any], resource: dict[str, Any] | None = None) -> M.Span:
    """A span as the relay reads it from OTLP: the instrumentation's attributes through ``normalize``."""
    request = trace_request([{"span_id": 1, "name": "chat", "attributes": attributes}], resource)
    request.resource_spans[0].scope_spans[0].spans[0].start_time_unix_nano = NOV_2026
    request.resource_spans[0].scope_spans[0].spans[0].end_time_unix_nano = NOV_2026 + 2_000_000_000
    (span,) = normalize.spans(request)
    return span


def priced(span: M.Span, proc: CostProcessor | None = None) -> dict[str, float]:
    """The span's cost metrics after the processor ran."""
    (proc or processor()).process(M.Batch(spans=[span]))
    return {key: value for key, value in span.metrics.items() if key in COST_KEYS}
