"""Settings of the ``cost`` processor (``processors: cost:`` in the relay config).

Every field has a safe default: prices from the ``genai-prices`` data shipped in its wheel (nothing is fetched,
ever: this processor never starts the library's price updater), the app's own cost kept, unknown models tagged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from glassbox.processors.base import ComponentConfig


class CostConfig(ComponentConfig):
    """Estimated cost in USD of every LLM and embedding span, from genai-prices and an optional pricing file.

    Prices are never fetched at run time: the processor uses the data bundled with the pinned ``genai-prices``
    release, and a new price means a new release of it (or an entry in ``pricing_file``)."""

    pricing_file: str | None = Field(
        default=None,
        description="YAML or JSON file of prices that override or extend genai-prices (negotiated discounts, "
        "fine-tunes, self-hosted models per token or per GPU-hour); relative to the config file's folder. "
        "See processors/cost/pricing_file.py for the format",
    )
    app_cost: Literal["keep", "replace"] = Field(
        default="keep",
        description="when the app reports its own total (OpenLIT's gen_ai.usage.cost): keep = the app's total "
        "stays, and glassbox's input/output breakdown is added only if it agrees with that total within "
        "app_cost_tolerance; replace = glassbox's numbers win whenever it can price the span",
    )
    app_cost_tolerance: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="relative difference under which the app's total and glassbox's agree (0.01 = 1%); "
        "larger differences are counted in glassbox_cost_app_disagreements_total",
    )
    unpriced_tag: bool = Field(
        default=True,
        description="tag spans whose model has no price with cost.unpriced_model:<model> (they never get a $0 cost)",
    )
    model_aliases: dict[str, str] = Field(
        default_factory=dict,
        description="model name as reported → model to price it as, e.g. Azure OpenAI deployment names "
        "({my-gpt4o-deployment: gpt-4o}) or gateway aliases; case-insensitive. The response model, when the "
        "span has one, usually carries the real name already",
    )
    input_tokens_include_cache: dict[str, bool] = Field(
        default_factory=dict,
        description="per provider as reported (gen_ai.provider.name, e.g. anthropic): whether its input token "
        "count already includes cache reads and writes. Overrides the detection (the OTel rule: it does; "
        "OpenLIT's Anthropic and Bedrock spans: it does not); an input smaller than its cache counts always "
        "means it does not",
    )
    output_tokens_include_reasoning: dict[str, bool] = Field(
        default_factory=dict,
        description="per provider as reported: whether its output token count already includes reasoning tokens "
        "(the OTel rule, and the default); an output smaller than its reasoning count always means it does not",
    )

    @field_validator("model_aliases")
    @classmethod
    def _aliases(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k, v in value.items() if not k.strip() or not v.strip()]
        if bad:
            raise ValueError(f"aliases need a name and a model, got {bad}")
        return {k.strip().lower(): v.strip() for k, v in value.items()}

    @field_validator("input_tokens_include_cache", "output_tokens_include_reasoning")
    @classmethod
    def _providers(cls, value: dict[str, bool]) -> dict[str, bool]:
        return {k.strip().lower(): v for k, v in value.items()}
