"""The cardinality guard: what a span's tags may become on a metric.

Datadog bills and slows down per distinct tag combination, and a metric tag is never redacted again, so only the
base tags and allow-listed span tags reach a metric (``derive`` decides which), values are reduced to Datadog's
tag alphabet, and each tag of each metric takes at most ``max_tag_values`` distinct values per window (an hour by
default: a new prompt version next week still gets its own series); later values fold into ``other``. An
allow-listed tag whose value looks like free text (whitespace, or longer than ``FREE_TEXT_LENGTH``) folds too.
Every fold is counted by tag and reason for ``/metrics``.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable

OTHER = "other"
FREE_TEXT_LENGTH = 64
MAX_TAG_LENGTH = 200  # Datadog's limit for a whole "key:value" tag
# Tags whose values come from a fixed vocabulary: never folded.
FIXED = frozenset({"span_kind", "status", "assessment"})
_INVALID = re.compile(r"[^a-z0-9_\-:./]")
_UNDERSCORES = re.compile(r"_{2,}")

RawTags = tuple[tuple[str, str], ...]  # sorted (key, value) pairs as the span has them


@functools.lru_cache(maxsize=8192)
def tag_value(raw: str) -> str:
    """A value in Datadog's tag alphabet (lowercase letters, digits, ``_ - : . /``), so ``,`` ``|`` ``#`` and line
    breaks can never break a DogStatsD line, and ``Feature`` and ``feature`` are one value."""
    text = _UNDERSCORES.sub("_", _INVALID.sub("_", raw.strip().lower())).strip("_")
    return text[:MAX_TAG_LENGTH] or "_"


def free_text(raw: str) -> bool:
    return len(raw) > FREE_TEXT_LENGTH or any(ch.isspace() for ch in raw.strip())


class CardinalityGuard:
    def __init__(self, max_values: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.max_values = max_values
        self.window = window
        self.clock = clock
        self.folded: dict[tuple[str, str], int] = {}  # (tag, reason) → points whose value became `other`
        self._window_ends = clock() + window
        self._seen: dict[tuple[str, str], set[str]] = {}  # (metric, tag) → values admitted this window
        # raw tags → (metric, extra) → tags: a span like the last one costs one lookup per metric. Only results
        # without a fold are kept, so the cache is bounded by the admitted values, not by what spans send.
        self._cache: dict[RawTags, dict[tuple[str, RawTags], tuple[str, ...]]] = {}

    def tags(
        self, metric: str, raw: RawTags, extra: RawTags = (), free: frozenset[str] = frozenset()
    ) -> tuple[str, ...]:
        """``key:value`` tags for one point of ``metric``; ``free``: keys whose free-text values fold."""
        now = self.clock()
        if now >= self._window_ends:
            self._seen.clear()
            self._cache.clear()
            self._window_ends = now + self.window
        by_metric = self._cache.get(raw)
        if by_metric is not None:
            cached = by_metric.get((metric, extra))
            if cached is not None:
                return cached
        out: list[str] = []
        folded = False
        for key, value in (*raw, *extra):
            if key in free and free_text(value):
                value, folded = OTHER, True
                self._count(key, "free_text")
            else:
                value = tag_value(value)
            if key not in FIXED and value != OTHER:
                seen = self._seen.get((metric, key))
                if seen is None:
                    seen = self._seen[(metric, key)] = set()
                if value not in seen:
                    if len(seen) >= self.max_values:
                        value, folded = OTHER, True
                        self._count(key, "max_tag_values")
                    else:
                        seen.add(value)
            out.append(f"{key}:{value}")
        result = tuple(sorted(set(out)))
        if not folded:
            self._cache.setdefault(raw, {})[(metric, extra)] = result
        return result

    def _count(self, tag: str, reason: str) -> None:
        self.folded[(tag, reason)] = self.folded.get((tag, reason), 0) + 1
