"""The ``debug`` processor: logs what passes through a point of the chain, changes nothing."""

from glassbox.processors.base import ProcessorFactory
from glassbox.processors.debug.config import DebugProcessorConfig
from glassbox.processors.debug.processor import DebugProcessor

FACTORY = ProcessorFactory(
    name="debug", config=DebugProcessorConfig, create=lambda config, context: DebugProcessor(config)
)
