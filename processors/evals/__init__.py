"""The ``evals`` processor: evaluation scores on LLM spans (built-in checks, an LLM judge, your own)."""

from glassbox.processors.base import ProcessorFactory
from glassbox.processors.evals.config import EvalsConfig
from glassbox.processors.evals.processor import EvalsProcessor

FACTORY = ProcessorFactory(name="evals", config=EvalsConfig, create=lambda config, context: EvalsProcessor(config))
