"""Settings of the ``prompts`` processor (``processors: prompts:`` in the relay config)."""

from __future__ import annotations

from pydantic import Field

from glassbox.processors.base import ComponentConfig


class PromptsConfig(ComponentConfig):
    """Prompt name and version on every LLM span: what the app said (any convention), else the best match in
    a prompt registry file."""

    registry: str | None = Field(
        default=None,
        description="YAML or JSON file of named, versioned templates with {{variable}} placeholders; relative "
        "paths are relative to the config file's folder. None: only the app's own prompt identity is used",
    )
    tags: bool = Field(default=True, description="add prompt_name:/prompt_version: tags (span events, OTLP copies)")
    cache_entries: int = Field(default=10_000, ge=0, description="remembered match results (system prompts repeat)")
