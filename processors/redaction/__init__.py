"""PII redaction (the ``redaction`` processor): Presidio everywhere content can hide, failing closed.

Modules, in the order data flows: ``walk`` finds every string in a batch (model fields and the OTLP copy),
``engine`` dedupes and caches them (``cache``) and sends the rest to ``pool`` workers that prefilter
(``gates``) and run Presidio (``analyzer``, ``recognizers``, ``phone``, ``nlp``); ``processor`` writes the results
back and records what was found. Config: ``config.RedactionConfig``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from glassbox.processors.base import Context, Problems, ProcessorFactory
from glassbox.processors.redaction.config import RedactionConfig

if TYPE_CHECKING:
    from glassbox.processors.redaction.processor import RedactionProcessor


def _create(config: RedactionConfig, context: Context) -> RedactionProcessor:
    from glassbox.processors.redaction.processor import RedactionProcessor  # Presidio loads only when used

    return RedactionProcessor(config)


def _check(config: RedactionConfig, context: Context) -> Problems:
    from glassbox.processors.redaction.analyzer import startup_problems

    return startup_problems(config, context.deep)


FACTORY = ProcessorFactory(name="redaction", config=RedactionConfig, create=_create, check=_check, redacts=True)
