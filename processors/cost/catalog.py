"""Which price applies to a span: the pricing file's entries first, then genai-prices, matched once per
(provider, response model, request model) and cached.

genai-prices does the matching of model ids (its ``equals`` / ``starts_with`` / regex clauses, dated snapshots
as themselves, Bedrock geo prefixes, Vertex ``@`` versions, Azure → OpenAI fallback). Around it, this module:

- maps the provider as OpenTelemetry reports it (``azure.ai.openai``, ``aws.bedrock``, ``gcp.vertex_ai``,
  ``mistral_ai``...) to genai-prices' provider id; an unknown or missing provider is inferred from the model
  (genai-prices' own rules, then a Bedrock-shaped id → AWS, then the first-party providers in turn);
- tries the response model before the request model (the request model may be an Azure deployment name, a
  gateway alias, or an alias like ``gpt-4o`` when the response names a snapshot genai-prices does not know yet);
- applies ``model_aliases``, lowercases, and strips what routers add: ``openai/``, ``azure/``, ``bedrock/``,
  ``vertex_ai/``... prefixes, Gemini's ``models/``, Vertex resource paths and Bedrock ARNs. A date or version
  is never stripped: ``gpt-4o-2024-05-13`` is priced as itself, and an unknown snapshot is not a known one.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from genai_prices import types as gp
from genai_prices.data_snapshot import find_provider_by_id, get_snapshot

from glassbox.processors.cost.pricing_file import Entry, TokenPrices

# Provider names as OpenTelemetry instrumentations report them (gen_ai.provider.name / gen_ai.system, lowercased
# and de-aliased by intake) → genai-prices provider ids. Names not listed go through genai-prices' own
# provider_match rules (which would map e.g. "azure.ai.openai" to OpenAI's prices, hence this table).
PROVIDER_IDS = {
    "openai": "openai",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "azure": "azure",
    "azure_openai": "azure",
    "aws.bedrock": "aws",
    "aws_bedrock": "aws",
    "bedrock": "aws",
    "aws": "aws",
    "gcp.vertex_ai": "google",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "vertex_ai": "google",
    "vertexai": "google",
    "gemini": "google",
    "google": "google",
    "google_genai": "google",
    "anthropic": "anthropic",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "mistral": "mistral",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "groq": "groq",
    "perplexity": "perplexity",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "moonshot_ai": "moonshotai",
    "together_ai": "together",
    "together": "together",
    "fireworks": "fireworks",
    "fireworks_ai": "fireworks",
    "openrouter": "openrouter",
    "cerebras": "cerebras",
}
# Prefixes routers and SDKs put in front of a model id (LiteLLM, OpenRouter, gateways): stripped, and used as
# the provider when the span names none.
ROUTER_PREFIXES = {
    "openai": "openai",
    "azure": "azure",
    "azure_ai": "azure",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "anthropic": "anthropic",
    "vertex_ai": "google",
    "vertex_ai_beta": "google",
    "gemini": "google",
    "google": "google",
    "mistral": "mistral",
    "mistralai": "mistral",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "groq": "groq",
    "xai": "x-ai",
    "x-ai": "x-ai",
}
# Tried in this order when neither the span's provider nor genai-prices' rules find the model
# (e.g. "text-embedding-3-small" with no provider).
FIRST_PARTY = ("openai", "anthropic", "google", "mistral")
# Bedrock model ids: "<vendor>.<model>", optionally behind a geo prefix (us., eu., apac., global., us-gov., ...).
_BEDROCK = re.compile(
    r"^(?:(?:us|eu|apac|au|ca|jp|in|us-gov|global)\.)?"
    r"(?:anthropic|amazon|meta|mistral|cohere|ai21|deepseek|qwen|openai|google|nvidia|writer|twelvelabs)\.[a-z0-9]"
)
_REQUESTS = "requests_kcount"


@dataclass(frozen=True)
class Sheet:
    """The prices that apply to a span: USD per million tokens from genai-prices (``Decimal`` or its
    ``TieredPrices``), or USD per token from the pricing file (``per_million=False``); None: not priced."""

    input: Any = None
    cache_read: Any = None  # None: cache reads pay the input price (genai-prices' rule)
    cache_write: Any = None  # None: cache writes pay the input price
    output: Any = None
    reasoning: Any = None  # None: reasoning tokens pay the output price
    per_request: Decimal = Decimal(0)  # USD per call, for the few models with a request fee
    per_million: bool = True
    token_priced: bool = True  # False: the model is priced in units spans do not carry (audio hours, characters)


@dataclass(frozen=True)
class GpuHours:
    """A self-hosted model billed by the time it runs: USD per hour of span duration / concurrency."""

    per_hour: Decimal
    concurrency: int = 1


@dataclass
class LibraryPrice:
    """A genai-prices model, resolved per request date and price context (service tier, batch)."""

    provider: gp.Provider
    model: gp.ModelInfo
    multiplier: Decimal = Decimal(1)
    _sheets: dict[tuple[int, tuple[tuple[str, str], ...]], Sheet] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.native = any(self.model is m for m in self.provider.models)  # genai-prices ignores context otherwise
        prices = self.model.prices if isinstance(self.model.prices, list) else []
        variants = self.model.price_variants or []
        self.time_of_day = any(
            isinstance(getattr(c, "constraint", None), gp.TimeOfDateConstraint) for c in [*prices, *variants]
        )

    def sheet(self, start_ns: int, context: tuple[tuple[str, str], ...]) -> Sheet:
        """The prices in force at the span's start (UTC day; time of day only for models priced by it)."""
        if start_ns <= 0:
            start_ns = time.time_ns()  # a span without a start time: today's prices
        day = int(start_ns // 86_400_000_000_000)
        key = (day if not self.time_of_day else int(start_ns // 60_000_000_000), context)
        sheet = self._sheets.get(key)
        if sheet is None:
            when = datetime.fromtimestamp((start_ns if self.time_of_day else day * 86_400_000_000_000) / 1e9, UTC)
            prices = self.model.get_prices(when, dict(context) if context and self.native else None)
            sheet = library_sheet(prices, self.multiplier)
            if len(self._sheets) > 512:
                self._sheets.clear()
            self._sheets[key] = sheet
        return sheet


Price = LibraryPrice | Sheet | GpuHours


def library_sheet(prices: gp.ModelPrice, multiplier: Decimal = Decimal(1)) -> Sheet:
    def scaled(value: Any) -> Any:
        if value is None or multiplier == 1:
            return value
        if isinstance(value, gp.TieredPrices):
            return gp.TieredPrices(
                base=value.base * multiplier,
                tiers=[gp.Tier(start=t.start, price=t.price * multiplier) for t in value.tiers],
            )
        return value * multiplier

    keys = ("input_mtok", "cache_read_mtok", "cache_write_mtok", "output_mtok", "output_reasoning_mtok")
    values = [getattr(prices, key, None) for key in keys]
    per_request = getattr(prices, _REQUESTS, None)
    priced = {k for k, v in prices.__dict__.items() if v is not None and not k.startswith("_")}
    token_keys = {*keys, _REQUESTS}
    inp, cache_read, cache_write, output, reasoning = (scaled(v) for v in values)
    return Sheet(
        inp,
        cache_read,
        cache_write,
        output,
        reasoning,
        per_request=(scaled(per_request) / 1000) if isinstance(per_request, Decimal) else Decimal(0),
        per_million=True,
        # a model with prices, none of them for tokens (audio hours, characters): spans cannot be priced
        token_priced=not priced or bool(priced & token_keys),
    )


def explicit_sheet(prices: TokenPrices) -> Sheet:
    return Sheet(
        input=prices.input,
        cache_read=prices.cache_read,
        cache_write=prices.cache_write,
        output=prices.output,
        reasoning=prices.reasoning,
        per_million=False,
    )


def names_of(raw: str, aliases: dict[str, str]) -> list[str]:
    """Lowercase forms of one reported model name to try: without router prefix, then as reported; each
    preceded by its alias when ``model_aliases`` has one."""
    name = raw.strip().lower()
    out: list[str] = []
    for form in (strip_routing(name), name):
        if form in aliases:
            out.append(aliases[form].strip().lower())
        out.append(form)
    return list(dict.fromkeys(n for n in out if n))


def strip_routing(name: str) -> str:
    """``openai/gpt-4o`` → ``gpt-4o``; Vertex resource paths, Gemini ``models/``, Bedrock ARNs → the model id."""
    if name.startswith("arn:") and "/" in name:
        return name.rsplit("/", 1)[1]  # arn:aws:bedrock:<region>:<acct>:inference-profile/us.anthropic.claude-…
    if name.startswith(("projects/", "publishers/")) and "/models/" in name:
        return name.rsplit("/models/", 1)[1]
    if name.startswith("models/"):
        return name[len("models/") :]
    head, sep, tail = name.partition("/")
    if sep and head in ROUTER_PREFIXES and tail:
        return strip_routing(tail)
    return name


def router_provider(name: str) -> str | None:
    head, sep, _ = name.strip().lower().partition("/")
    return ROUTER_PREFIXES.get(head) if sep else None


class Catalog:
    """The price of each (provider, response model, request model), decided once and cached."""

    MAX_CACHED = 4096

    def __init__(self, entries: list[Entry] | None = None, aliases: dict[str, str] | None = None):
        self.snapshot = get_snapshot()  # the data bundled in the wheel; nothing here starts the updater
        self.providers = {p.id: p for p in self.snapshot.providers}
        self.entries = entries or []
        self.aliases = aliases or {}
        self._plans: dict[tuple[str | None, str | None, str | None], Price | None] = {}
        self._library: dict[tuple[str | None, str], LibraryPrice | None] = {}
        self._based_on: dict[int, LibraryPrice | None] = {}
        for entry in self.entries:
            if entry.based_on is not None:
                self._based_on[entry.index] = self.library(entry.provider, [entry.based_on])

    # --- providers ---------------------------------------------------------------------------------------------

    def provider_id(self, provider: str | None) -> str | None:
        """genai-prices' id for a provider name as reported, or None when it has no prices for it."""
        if not provider:
            return None
        provider = provider.strip().lower()
        if provider in PROVIDER_IDS:
            return PROVIDER_IDS[provider]
        if provider in self.providers:
            return provider
        found = find_provider_by_id(self.snapshot.providers, provider)
        return found.id if found is not None else None

    # --- the decision ------------------------------------------------------------------------------------------

    def plan(self, provider: str | None, model: str | None, request_model: str | None) -> Price | None:
        """How to price a span of this provider and models; None when neither the file nor genai-prices knows
        the model."""
        key = (provider, model, request_model)
        try:
            return self._plans[key]
        except KeyError:
            pass
        price = self._decide(provider, [m for m in dict.fromkeys((model, request_model)) if m])
        if len(self._plans) >= self.MAX_CACHED:
            self._plans.pop(next(iter(self._plans)))
        self._plans[key] = price
        return price

    def _decide(self, provider: str | None, models: list[str]) -> Price | None:
        candidates = [name for model in models for name in names_of(model, self.aliases)]
        pid = self.provider_id(provider)
        for entry in self.entries:
            if not entry.applies_to(provider, pid) or not any(entry.matches(name) for name in candidates):
                continue
            if entry.prices is not None:
                return explicit_sheet(entry.prices)
            if entry.gpu_hour is not None:
                return GpuHours(entry.gpu_hour, entry.concurrency)
            base = self._based_on.get(entry.index) if entry.based_on is not None else self.library(provider, models)
            if base is not None:
                return LibraryPrice(base.provider, base.model, base.multiplier * entry.multiplier)
        return self.library(provider, models)

    def library(self, provider: str | None, models: list[str]) -> LibraryPrice | None:
        """genai-prices' model for the first of ``models`` it knows (response model before request model)."""
        for model in models:
            for name in names_of(model, self.aliases):
                found = self._find(provider, name)
                if found is not None:
                    return found
        return None

    def _find(self, provider: str | None, name: str) -> LibraryPrice | None:
        key = (provider, name)
        if key in self._library:
            return self._library[key]
        found = self._search(provider, name)
        if len(self._library) >= self.MAX_CACHED:
            self._library.pop(next(iter(self._library)))
        self._library[key] = found
        return found

    def _search(self, provider: str | None, name: str) -> LibraryPrice | None:
        order: list[str] = []
        for pid in (self.provider_id(provider), router_provider(name)):
            if pid is not None:
                order.append(pid)
        bare = strip_routing(name)
        if _BEDROCK.match(bare):
            order.append("aws")
        try:
            order.append(self.snapshot.find_provider(bare, None, None).id)  # genai-prices' model_match rules
        except LookupError:
            pass
        order.extend(FIRST_PARTY)
        for pid in dict.fromkeys(order):
            lib_provider = self.providers.get(pid)
            if lib_provider is None:
                continue
            model = lib_provider.find_model(name, all_providers=self.snapshot.providers)
            if model is not None:
                return LibraryPrice(lib_provider, model)
        return None
