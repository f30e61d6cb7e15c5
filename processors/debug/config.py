"""Settings of the ``debug`` processor."""

from __future__ import annotations

from typing import Literal

from glassbox.processors.base import ComponentConfig


class DebugProcessorConfig(ComponentConfig):
    """Logs a line per batch; ``detailed`` adds one line per GenAI span."""

    verbosity: Literal["basic", "detailed"] = "basic"
