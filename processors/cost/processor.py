"""The ``cost`` processor (skeleton: passes batches through until it is implemented)."""

from __future__ import annotations

from glassbox.processors.cost.config import CostConfig
from glassbox.processors.model import Batch


class CostProcessor:
    def __init__(self, config: CostConfig):
        self.config = config

    def start(self) -> None:
        return None

    def process(self, batch: Batch) -> Batch:
        return batch

    def shutdown(self) -> None:
        return None
