"""The ``prompts`` processor: prompt name and version on every LLM span, from the app or a prompt registry."""

from glassbox.processors.base import ProcessorFactory
from glassbox.processors.prompts.config import PromptsConfig
from glassbox.processors.prompts.processor import PromptsProcessor

FACTORY = ProcessorFactory(
    name="prompts", config=PromptsConfig, create=lambda config, context: PromptsProcessor(config)
)
