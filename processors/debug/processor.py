"""The ``debug`` processor: logs what passes through a point of the chain, changes nothing."""

from __future__ import annotations

import logging

from glassbox.processors.debug.config import DebugProcessorConfig
from glassbox.processors.model import Batch

log = logging.getLogger("glassbox.processors.debug")


class DebugProcessor:
    name = "debug"

    def __init__(self, config: DebugProcessorConfig):
        self.detailed = config.verbosity == "detailed"
        self.seen = 0

    def start(self) -> None:
        return None

    def process(self, batch: Batch) -> Batch:
        genai = [span for span in batch.spans if span.is_genai]
        self.seen += len(batch.spans)
        log.info("debug: %d span(s), %d GenAI, %d log record(s)", len(batch.spans), len(genai), len(batch.logs))
        if self.detailed:
            for span in genai:
                log.info(
                    "  %s %s model=%s in=%d out=%d metrics=%s",
                    span.kind,
                    span.name,
                    span.model_name,
                    len(span.input.messages),
                    len(span.output.messages),
                    span.metrics,
                )
        return batch

    def shutdown(self) -> None:
        return None
