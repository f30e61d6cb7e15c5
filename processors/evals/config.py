"""Settings of the ``evals`` processor."""

from __future__ import annotations

from glassbox.processors.base import ComponentConfig


class EvalsConfig(ComponentConfig):
    """(skeleton: filled in by the evals processor's implementation)"""
