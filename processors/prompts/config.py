"""Settings of the ``prompts`` processor."""

from __future__ import annotations

from glassbox.processors.base import ComponentConfig


class PromptsConfig(ComponentConfig):
    """(skeleton: filled in by the prompts processor's implementation)"""
