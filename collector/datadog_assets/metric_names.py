"""The derived metric names the relay emits from GenAI spans (the contract shared with the ``metrics``
exporter): the dashboards and monitors may query only these, so a renamed metric fails a test, not a graph."""

from __future__ import annotations

import re

# name -> (type, extra tags beyond the base tags)
DERIVED_METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "glassbox.llm.requests": ("count", ("status",)),
    "glassbox.llm.errors": ("count", ("error_type",)),
    "glassbox.llm.latency": ("distribution", ()),
    "glassbox.llm.time_to_first_token": ("distribution", ()),
    "glassbox.llm.input_tokens": ("count", ()),
    "glassbox.llm.output_tokens": ("count", ()),
    "glassbox.llm.cache_read_tokens": ("count", ()),
    "glassbox.llm.reasoning_tokens": ("count", ()),
    "glassbox.llm.estimated_cost_usd": ("distribution", ()),
    "glassbox.llm.json_invalid": ("count", ()),
    "glassbox.llm.refusals": ("count", ("category",)),
    "glassbox.llm.tool_failures": ("count", ()),
    "glassbox.llm.evaluations": ("count", ("eval_label", "assessment")),
    "glassbox.llm.eval_score": ("distribution", ("eval_label",)),
    "glassbox.llm.pii_detected": ("count", ("entity_type",)),
    "glassbox.llm.redaction_failed_closed": ("count", ()),
    "glassbox.embedding.requests": ("count", ("status",)),
    "glassbox.embedding.latency": ("distribution", ()),
    "glassbox.embedding.input_tokens": ("count", ()),
    "glassbox.embedding.estimated_cost_usd": ("distribution", ()),
    "glassbox.retrieval.requests": ("count", ()),
    "glassbox.retrieval.latency": ("distribution", ()),
    "glassbox.retrieval.documents": ("distribution", ()),
    "glassbox.retrieval.top_score": ("distribution", ()),
}

# Derived names have three parts (glassbox.<kind>.<name>); the relay's own /metrics names have two.
DERIVED_PREFIXES = ("glassbox.llm.", "glassbox.embedding.", "glassbox.retrieval.")
_METRIC = re.compile(r"\bglassbox\.[a-z0-9_]+(?:\.[a-z0-9_]+)*")


def metrics_in(text: str) -> set[str]:
    """Every ``glassbox.*`` metric name a query string mentions."""
    return set(_METRIC.findall(text))


def unknown_derived_metrics(text: str) -> set[str]:
    """Derived-looking names (glassbox.llm.*, .embedding.*, .retrieval.*) that the relay never emits."""
    return {name for name in metrics_in(text) if name.startswith(DERIVED_PREFIXES) and name not in DERIVED_METRICS}
