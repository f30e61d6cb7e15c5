"""The ``cost`` processor: estimated cost in USD of every LLM and embedding call.

Modules, in the order a span meets them: ``catalog`` decides which price applies (the pricing file's entries,
then genai-prices, matched around the library: provider names as OpenTelemetry reports them, router prefixes,
aliases, response model before request model), ``calc`` turns reported token counts into billed ones and USD,
``processor`` writes the result and counts what it could not price. ``pricing_file`` reads and validates the
user's prices; ``config.CostConfig`` lists the settings.
"""

from __future__ import annotations

from glassbox.processors.base import Context, Problems, ProcessorFactory
from glassbox.processors.cost.catalog import Catalog, names_of
from glassbox.processors.cost.config import CostConfig
from glassbox.processors.cost.pricing_file import Entry, PricingFileError, in_file_order, load, resolve
from glassbox.processors.cost.processor import CostProcessor


def _create(config: CostConfig, context: Context) -> CostProcessor:
    return CostProcessor(config, context)


def _check(config: CostConfig, context: Context) -> Problems:
    """What ``start()`` would refuse: an unreadable or invalid pricing file (each problem with its path), a
    ``based_on`` model or an alias target that neither genai-prices nor the file knows."""
    entries: list[Entry] = []
    found: list[str] = []
    problems: Problems = []
    if config.pricing_file:
        try:
            entries, found = load(resolve(config.pricing_file, context.base_dir))
        except PricingFileError as exc:
            return [("pricing_file", str(exc))]
    catalog = Catalog(entries)
    for entry in entries:
        if entry.based_on is not None and catalog.library(entry.provider, [entry.based_on]) is None:
            found.append(f"models[{entry.index}].based_on: genai-prices has no model {entry.based_on!r}")
    problems += [("pricing_file", problem) for problem in in_file_order(found)]
    for name, target in config.model_aliases.items():
        known = catalog.library(None, [target]) is not None or any(
            entry.matches(form) for entry in entries if entry.patterns for form in names_of(target, {})
        )
        if not known:
            problems.append(
                (f"model_aliases.{name}", f"neither genai-prices nor the pricing file has a price for {target!r}")
            )
    return problems


FACTORY = ProcessorFactory(name="cost", config=CostConfig, create=_create, check=_check)
