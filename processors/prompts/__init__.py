"""The ``prompts`` processor: prompt name and version on every LLM span, from the app or a prompt registry."""

from __future__ import annotations

from glassbox.processors.base import Context, Problems, ProcessorFactory
from glassbox.processors.prompts import registry
from glassbox.processors.prompts.config import PromptsConfig
from glassbox.processors.prompts.processor import PromptsProcessor, resolve


def _check(config: PromptsConfig, context: Context) -> Problems:
    """The registry file must load: every problem with its place in the file."""
    path = resolve(config, context.base_dir)
    if path is None:
        return []
    try:
        registry.load(path)
    except registry.RegistryError as exc:
        return [("registry", f"{where}: {message}" if where else message) for where, message in exc.problems]
    return []


FACTORY = ProcessorFactory(
    name="prompts",
    config=PromptsConfig,
    create=lambda config, context: PromptsProcessor(config, context.base_dir),
    check=_check,
)
