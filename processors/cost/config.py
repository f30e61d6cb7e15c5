"""Settings of the ``cost`` processor."""

from __future__ import annotations

from glassbox.processors.base import ComponentConfig


class CostConfig(ComponentConfig):
    """(skeleton: filled in by the cost processor's implementation)"""
