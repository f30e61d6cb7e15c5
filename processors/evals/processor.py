"""The ``evals`` processor (skeleton: passes batches through until it is implemented)."""

from __future__ import annotations

from glassbox.processors.evals.config import EvalsConfig
from glassbox.processors.model import Batch


class EvalsProcessor:
    def __init__(self, config: EvalsConfig):
        self.config = config

    def start(self) -> None:
        return None

    def process(self, batch: Batch) -> Batch:
        return batch

    def shutdown(self) -> None:
        return None
