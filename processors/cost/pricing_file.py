"""The user pricing file (``processors.cost.pricing_file``): prices that override or extend genai-prices.

YAML or JSON (``.json`` is read as JSON, anything else as YAML), one top-level key ``models``, a list of entries
tried in order; the first entry that matches a span decides its price, before genai-prices is consulted::

    models:
      # a negotiated discount on list prices: 20% off every Azure OpenAI model
      - provider: azure.ai.openai
        multiplier: 0.8
      # a fine-tune with its own prices (USD per million tokens, like every price in this file)
      - model: "ft:gpt-4o-mini-2024-07-18:acme::*"
        input: 0.30
        output: 1.20
        cache_read: 0.15
      # a model priced like another one, times a factor
      - model: acme-router-small
        based_on: gpt-4o-mini
        multiplier: 1.1
      # a self-hosted model billed by the GPU-hour: cost = span duration × gpu_hour / concurrency
      - model: llama-3.3-70b-instruct
        provider: vllm
        gpu_hour: 4.10
        concurrency: 8

Keys of an entry:

- ``model``: a name or a list of names, ``*`` matches anything; case-insensitive; matched against the response
  model, then the request model, as reported and without a router prefix (``openai/``, ``bedrock/``, ...).
  Optional for a ``multiplier``-only entry (then it applies to every model of ``provider``, or to all).
- ``provider``: only spans of this provider: the name the instrumentation reports (``azure.ai.openai``) or
  genai-prices' id (``azure``).
- Explicit prices: ``input`` and ``output`` (required), ``cache_read`` and ``cache_write`` (default: ``input``),
  ``reasoning`` (default: ``output``), all in USD per million tokens.
- ``multiplier`` (> 0): genai-prices' price times this factor; with ``based_on``, the price of that model.
- ``gpu_hour`` (USD per hour of span duration) and ``concurrency`` (requests sharing the GPU, default 1).

An entry is one of: explicit prices, ``gpu_hour``, or ``multiplier`` / ``based_on``. Every problem is reported
with its path (``models[2].input: expected a number``) by ``glassbox validate`` and at startup.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

TOKEN_PRICE_KEYS = ("input", "output", "cache_read", "cache_write", "reasoning")
KNOWN_KEYS = ("model", "provider", *TOKEN_PRICE_KEYS, "multiplier", "based_on", "gpu_hour", "concurrency")
_MILLION = Decimal(1_000_000)
_INDEX = re.compile(r"models\[(\d+)\]")


@dataclass(frozen=True)
class TokenPrices:
    """Explicit prices of one entry, in USD per token."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    reasoning: Decimal


@dataclass(frozen=True)
class Entry:
    """One validated entry of the pricing file."""

    index: int
    patterns: tuple[re.Pattern[str], ...]  # empty: every model
    provider: str | None = None  # lowercase
    prices: TokenPrices | None = None
    multiplier: Decimal = Decimal(1)
    based_on: str | None = None
    gpu_hour: Decimal | None = None
    concurrency: int = 1
    names: tuple[str, ...] = field(default=())  # as written, for messages

    def applies_to(self, provider: str | None, provider_id: str | None) -> bool:
        return self.provider is None or self.provider in (provider, provider_id)

    def matches(self, name: str) -> bool:
        return not self.patterns or any(pattern.fullmatch(name) for pattern in self.patterns)


class PricingFileError(Exception):
    """The file cannot be read or parsed at all (one message)."""


def resolve(path: str, base_dir: Path | None) -> Path:
    """Relative paths are relative to the config file's folder (the current directory without one)."""
    candidate = Path(path).expanduser()
    return base_dir / candidate if not candidate.is_absolute() and base_dir is not None else candidate


def load(path: Path) -> tuple[list[Entry], list[str]]:
    """The entries of a pricing file and every problem found in it (``models[i].key: message``).

    Raises ``PricingFileError`` when the file cannot be read or parsed at all."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PricingFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PricingFileError(f"cannot read {path}: not UTF-8 text") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise PricingFileError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise PricingFileError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    return parse(data)


def parse(data: Any) -> tuple[list[Entry], list[str]]:
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        got = type(data).__name__ if data is not None else "an empty file"
        return [], [f"expected a mapping with a 'models' list, got {got}"]
    problems = [f"{key}: unknown key (the file has one key, models)" for key in data if key != "models"]
    entries = []
    for index, raw in enumerate(data["models"]):
        entry = _entry(index, raw, problems)
        if entry is not None:
            entries.append(entry)
    return entries, problems


def in_file_order(problems: list[str]) -> list[str]:
    """Problems sorted by the entry they belong to (``models[i]``), file-level ones first; stable otherwise."""

    def entry(problem: str) -> int:
        match = _INDEX.match(problem)
        return int(match.group(1)) if match else -1

    return sorted(problems, key=entry)


def _entry(index: int, raw: Any, problems: list[str]) -> Entry | None:
    where = f"models[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping (model, prices, ...), got {type(raw).__name__}")
        return None
    before = len(problems)
    for key in raw:
        if key not in KNOWN_KEYS:
            problems.append(f"{where}.{key}: unknown key (expected one of: {', '.join(KNOWN_KEYS)})")
    names = _names(raw.get("model"), f"{where}.model", problems)
    provider = _text(raw.get("provider"), f"{where}.provider", problems)
    based_on = _text(raw.get("based_on"), f"{where}.based_on", problems)
    numbers = {key: _number(raw.get(key), f"{where}.{key}", problems) for key in (*TOKEN_PRICE_KEYS, "gpu_hour")}
    multiplier = _number(raw.get("multiplier"), f"{where}.multiplier", problems, positive=True)
    concurrency = _count(raw.get("concurrency"), f"{where}.concurrency", problems)

    explicit = [key for key in TOKEN_PRICE_KEYS if key in raw]
    kinds = [
        kind
        for kind, present in (
            ("explicit prices", bool(explicit)),
            ("gpu_hour", "gpu_hour" in raw),
            ("multiplier/based_on", "multiplier" in raw or "based_on" in raw),
        )
        if present
    ]
    if not kinds:
        problems.append(
            f"{where}: give prices (input and output, USD per million tokens), a multiplier, a based_on model, "
            "or gpu_hour"
        )
    elif len(kinds) > 1:
        problems.append(f"{where}: {' and '.join(kinds)} cannot be combined; one entry prices one way")
    if explicit:
        for key in ("input", "output"):
            if key not in raw:
                problems.append(f"{where}.{key}: required with explicit prices (use 0 for a free direction)")
    if "concurrency" in raw and "gpu_hour" not in raw:
        problems.append(f"{where}.concurrency: only meaningful with gpu_hour")
    if "model" not in raw and (explicit or "gpu_hour" in raw or based_on is not None):
        problems.append(f"{where}.model: required unless the entry is only a multiplier (then it applies to all)")
    if len(problems) > before:
        return None

    prices = None
    if explicit:
        inp, out = numbers["input"], numbers["output"]
        assert inp is not None and out is not None  # checked above
        prices = TokenPrices(
            input=inp / _MILLION,
            output=out / _MILLION,
            cache_read=(numbers["cache_read"] if numbers["cache_read"] is not None else inp) / _MILLION,
            cache_write=(numbers["cache_write"] if numbers["cache_write"] is not None else inp) / _MILLION,
            reasoning=(numbers["reasoning"] if numbers["reasoning"] is not None else out) / _MILLION,
        )
    return Entry(
        index=index,
        patterns=tuple(_pattern(name) for name in names),
        provider=provider.lower() if provider else None,
        prices=prices,
        multiplier=multiplier if multiplier is not None else Decimal(1),
        based_on=based_on,
        gpu_hour=numbers["gpu_hour"],
        concurrency=concurrency if concurrency is not None else 1,
        names=tuple(names),
    )


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in name.strip().lower().split("*")))


def _names(raw: Any, where: str, problems: list[str]) -> list[str]:
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else [raw]
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        problems.append(f"{where}: expected a model name or a list of names")
        return []
    return [v.strip() for v in values]


def _text(raw: Any, where: str, problems: list[str]) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        problems.append(f"{where}: expected a name")
        return None
    return raw.strip()


def _number(raw: Any, where: str, problems: list[str], positive: bool = False) -> Decimal | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        problems.append(f"{where}: expected a number")
        return None
    value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
    if not value.is_finite():
        problems.append(f"{where}: expected a finite number")
        return None
    if positive and value <= 0:
        problems.append(f"{where}: must be greater than 0")
        return None
    if value < 0:
        problems.append(f"{where}: must not be negative")
        return None
    return value


def _count(raw: Any, where: str, problems: list[str]) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        problems.append(f"{where}: expected a whole number of at least 1")
        return None
    return raw
