"""Token counts as the span reports them → the counts that are billed → USD, in ``Decimal``.

Billed counts (what genai-prices calls usage): ``input`` is every input token, cache reads and writes included;
``output`` is every output token, reasoning included. What the span reports depends on the instrumentation:

- the OTel GenAI conventions (``gen_ai.usage.input_tokens`` "SHOULD include all types of input tokens,
  including cached tokens"; reasoning "SHOULD be included in" output), OpenAI's own usage, OpenLLMetry
  (OpenAI and Anthropic: it adds Anthropic's cache counts into the input), openai-v2, the OTel Anthropic
  instrumentation and OpenLIT's OpenAI spans all report inclusive counts;
- OpenLIT's Anthropic and Bedrock spans report the provider's raw ``input_tokens``, which *exclude* cache reads
  and writes (its own cost code adds them on top).

``read_usage`` takes the convention as arguments (decided per span by the processor) and also trusts the
numbers: an input smaller than its cache reads + writes can only be exclusive, an output smaller than its
reasoning tokens can only exclude them. Nothing is ever counted twice.

A tier (long context) applies to the whole request once the billed input (cached tokens included) passes its
threshold, exactly as genai-prices decides it (``calc_unit_price``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from genai_prices.types import calc_unit_price

from glassbox.processors import model as M
from glassbox.processors.cost.catalog import GpuHours, Sheet

ZERO = Decimal(0)
_NS_PER_HOUR = Decimal(3_600_000_000_000)


class InvalidUsage(ValueError):
    """A token count that cannot be billed (negative, not a number)."""


@dataclass(frozen=True, slots=True)
class Usage:
    input: Decimal  # billed input: cache reads and writes included
    output: Decimal  # billed output: reasoning included
    cache_read: Decimal
    cache_write: Decimal
    reasoning: Decimal
    reported: frozenset[str]  # which of the span's token metrics were present (decides the breakdown keys)


@dataclass(frozen=True, slots=True)
class Cost:
    input: Decimal
    output: Decimal
    total: Decimal  # input + output, except by_duration (only the total is known)
    non_cached_input: Decimal
    cache_read_input: Decimal
    cache_write_input: Decimal
    reasoning_output: Decimal  # part of ``output``, not in addition to it
    by_duration: bool = False  # priced by GPU time


def _tokens(metrics: dict[str, float], key: str) -> Decimal | None:
    raw = metrics.get(key)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) or raw < 0:
        raise InvalidUsage(f"{key}={raw!r}")
    if isinstance(raw, int):
        return Decimal(raw)
    return Decimal(int(raw)) if raw.is_integer() else Decimal(repr(raw))


def read_usage(metrics: dict[str, float], cache_in_input: bool, reasoning_in_output: bool) -> Usage | None:
    """The billed counts of a span, or None when it reports neither input nor output tokens."""
    inp = _tokens(metrics, M.INPUT_TOKENS)
    out = _tokens(metrics, M.OUTPUT_TOKENS)
    if inp is None and out is None:
        return None
    cache_read = _tokens(metrics, M.CACHE_READ_TOKENS) or ZERO
    cache_write = _tokens(metrics, M.CACHE_WRITE_TOKENS) or ZERO
    reasoning = _tokens(metrics, M.REASONING_TOKENS) or ZERO
    inp = inp or ZERO
    out = out or ZERO
    if not cache_in_input or cache_read + cache_write > inp:
        inp += cache_read + cache_write
    if not reasoning_in_output or reasoning > out:
        out += reasoning
    reported = frozenset(
        key
        for key in (M.OUTPUT_TOKENS, M.CACHE_READ_TOKENS, M.CACHE_WRITE_TOKENS, M.REASONING_TOKENS)
        if metrics.get(key) is not None
    )
    return Usage(inp, out, cache_read, cache_write, reasoning, reported)


def token_cost(sheet: Sheet, usage: Usage) -> Cost:
    per = 1_000_000 if sheet.per_million else 1
    threshold = usage.input  # the whole prompt, cached tokens included, decides the tier

    def part(price: object, count: Decimal) -> Decimal:
        if price is None or not count:
            return ZERO
        return calc_unit_price(price, count, threshold, per)  # type: ignore[arg-type]

    non_cached = usage.input - usage.cache_read - usage.cache_write
    cache_read = part(sheet.cache_read if sheet.cache_read is not None else sheet.input, usage.cache_read)
    cache_write = part(sheet.cache_write if sheet.cache_write is not None else sheet.input, usage.cache_write)
    non_cached_cost = part(sheet.input, non_cached) + sheet.per_request  # a per-request fee is input-side
    if sheet.reasoning is not None:  # a reasoning rate of its own (2 models in genai-prices; pricing file entries)
        reasoning = part(sheet.reasoning, usage.reasoning)
        output = part(sheet.output, usage.output - usage.reasoning) + reasoning
    else:
        reasoning = part(sheet.output, usage.reasoning)
        output = part(sheet.output, usage.output)
    inp = non_cached_cost + cache_read + cache_write
    return Cost(inp, output, inp + output, non_cached_cost, cache_read, cache_write, reasoning)


def duration_cost(price: GpuHours, duration_ns: int) -> Cost:
    """GPU time: the span's duration × the hourly rate, shared by ``concurrency`` requests."""
    total = Decimal(max(0, duration_ns)) / _NS_PER_HOUR * price.per_hour / price.concurrency
    return Cost(ZERO, ZERO, total, ZERO, ZERO, ZERO, ZERO, by_duration=True)
