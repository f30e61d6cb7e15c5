"""The ``evals`` processor: evaluation scores on LLM spans (built-in checks, an LLM judge, your own).

Modules: ``config`` (settings), ``processor`` (runs the evaluators on each span, tags failures, hands spans to
the judge), ``builtins`` (the deterministic checks) with ``patterns`` (refusal and prompt-injection pattern
sets), ``schema`` (a JSON Schema subset validator) and ``language`` (py3langid), ``custom`` (your functions),
``judge`` (the LLM judge, in the background), ``counters`` (/metrics).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from glassbox.processors.base import Context, Problems, ProcessorFactory, StartupError
from glassbox.processors.evals.config import EvalsConfig

if TYPE_CHECKING:
    from glassbox.processors.evals.processor import EvalsProcessor


def _create(config: EvalsConfig, context: Context) -> EvalsProcessor:
    from glassbox.processors.evals.processor import EvalsProcessor

    try:
        return EvalsProcessor(config, context)
    except Exception as exc:  # a custom function that cannot be imported (check() reports it first)
        raise StartupError(f"processors.evals: {type(exc).__name__}: {exc}") from None


def _check(config: EvalsConfig, context: Context) -> Problems:
    from glassbox.processors.evals.custom import problems

    found = problems(config.custom, context.base_dir)
    languages = config.builtins.language_mismatch.languages
    if config.builtins.language_mismatch.enabled and languages:
        from glassbox.processors.evals.language import Detector

        try:
            Detector(languages).load()
        except ValueError as exc:
            found.append(("builtins.language_mismatch.languages", f"{exc} (use py3langid's ISO 639-1 codes)"))
    return found


FACTORY = ProcessorFactory(name="evals", config=EvalsConfig, create=_create, check=_check)
