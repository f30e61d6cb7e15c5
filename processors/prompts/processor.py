"""The ``prompts`` processor: the prompt name and version of every LLM call, for "which prompt version made cost
per successful request go up?".

The app's own prompt identity wins (intake reads every convention: Datadog's prompt tracking, gen_ai.prompt.*,
Traceloop, Langfuse, OpenInference, llm.prompt_name); a prompt the app named without a version gets a short
hash of its template as version. Otherwise the registry file (``registry.py``) is matched against the call's
system prompt and first messages (``matcher.py``), on redacted text. The prompt goes to ``meta.input.prompt``
and, with ``tags``, to ``prompt_name:``/``prompt_version:`` tags; a tie between templates is tagged
``prompt.ambiguous:<names>`` and counted, never guessed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from glassbox.processors import model as M
from glassbox.processors.base import where_it_failed
from glassbox.processors.prompts import registry
from glassbox.processors.prompts.config import PromptsConfig
from glassbox.processors.prompts.matcher import Match, Matcher, Tie

log = logging.getLogger("glassbox.processors.prompts")
Labels = tuple[tuple[str, str], ...]


class PromptsProcessor:
    def __init__(self, config: PromptsConfig, base_dir: Path | None = None):
        self.config = config
        self.path = resolve(config, base_dir)
        self.matcher: Matcher | None = None
        self.spans: dict[str, int] = {"app": 0, "registry": 0, "ambiguous": 0, "none": 0}
        self.errors = 0

    def start(self) -> None:
        if self.path is not None:
            self.matcher = Matcher(registry.load(self.path), self.config.cache_entries)
            log.info("prompt registry %s: %d template(s)", self.path, self.matcher.size)

    def shutdown(self) -> None:
        return None

    def process(self, batch: M.Batch) -> M.Batch:
        for span in batch.spans:
            if span.kind != M.LLM or span.tags.get("glassbox.scrubbed"):
                continue
            try:
                self._one(span)
            except Exception as exc:  # noqa: BLE001 — a prompt we cannot name is not worth a scrubbed batch
                self.errors += 1
                log.error("prompts: span %s left without a prompt (%s)", span.span_id, where_it_failed(exc))
        return batch

    def _one(self, span: M.Span) -> None:
        prompt = span.prompt
        if prompt is not None:
            if not prompt.version and (prompt.template or prompt.chat_template):
                body = {"template": prompt.template} if prompt.template else {"chat_template": prompt.chat_template}
                prompt.version = registry.content_version(body)
                span.set_prompt(prompt)
            self.spans["app"] += 1
            self._tag(span, prompt)
            return
        found = self.matcher.match(span.input.messages) if self.matcher is not None else None
        if isinstance(found, Match):
            prompt = _prompt(found)
            span.set_prompt(prompt)
            self.spans["registry"] += 1
            self._tag(span, prompt)
        elif isinstance(found, Tie):
            span.set_tag("prompt.ambiguous", sorted({entry.name for entry in found.entries}))
            self.spans["ambiguous"] += 1
        else:
            self.spans["none"] += 1

    def _tag(self, span: M.Span, prompt: M.Prompt) -> None:
        if not self.config.tags:
            return
        name = prompt.name or prompt.id
        if name:
            span.set_tag("prompt_name", name)
        if prompt.version:
            span.set_tag("prompt_version", prompt.version)

    def metrics(self) -> dict[str, tuple[str, str, dict[Labels, float]]]:
        """name -> (counter|gauge, help, {labels: value}); read at scrape time."""
        return {
            "prompts_spans": (
                "counter",
                "LLM spans by where their prompt identity came from (app, registry), "
                "ambiguous registry matches, and none",
                {(("source", k),): v for k, v in self.spans.items()},
            ),
            "prompts_errors": ("counter", "LLM spans left without a prompt by an unexpected error", {(): self.errors}),
            "prompts_registry_templates": (
                "gauge",
                "templates in the prompt registry",
                {(): self.matcher.size if self.matcher else 0},
            ),
            "prompts_cache_hits": (
                "counter",
                "registry matches answered from the cache",
                {(): self.matcher.hits if self.matcher else 0},
            ),
        }


def resolve(config: PromptsConfig, base_dir: Path | None) -> Path | None:
    if config.registry is None:
        return None
    path = Path(config.registry)
    return base_dir / path if not path.is_absolute() and base_dir is not None else path


def _prompt(found: Match) -> M.Prompt:
    entry = found.entry
    return M.Prompt(
        id=entry.name,
        name=entry.name,
        version=entry.version,
        template=entry.template.source if entry.template is not None else None,
        chat_template=[{"role": role, "content": text.source} for role, text in entry.chat_template]
        if entry.chat_template
        else None,
        variables=dict(found.variables),
        tags=dict(entry.tags),
        label=entry.label,
        context_variable_keys=list(entry.context_variables),
        query_variable_keys=list(entry.query_variables),
        source="registry",
    )
