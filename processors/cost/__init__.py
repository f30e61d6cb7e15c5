"""The ``cost`` processor: estimated cost in USD of every LLM and embedding call."""

from glassbox.processors.base import ProcessorFactory
from glassbox.processors.cost.config import CostConfig
from glassbox.processors.cost.processor import CostProcessor

FACTORY = ProcessorFactory(name="cost", config=CostConfig, create=lambda config, context: CostProcessor(config))
