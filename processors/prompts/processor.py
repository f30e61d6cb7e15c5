"""The ``prompts`` processor (skeleton: passes batches through until it is implemented)."""

from __future__ import annotations

from glassbox.processors.model import Batch
from glassbox.processors.prompts.config import PromptsConfig


class PromptsProcessor:
    def __init__(self, config: PromptsConfig):
        self.config = config

    def start(self) -> None:
        return None

    def process(self, batch: Batch) -> Batch:
        return batch

    def shutdown(self) -> None:
        return None
