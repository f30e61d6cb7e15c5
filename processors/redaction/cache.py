"""Content-addressed LRU cache of redaction outcomes, bounded by entries and by (estimated) bytes.

Why: an LLM call re-sends the system prompt and the whole conversation so far; without a cache every turn
re-analyses every earlier message. Keys are BLAKE2b-128 digests of the UTF-8 text (a collision would hand one
text another text's redaction, so no 64-bit ``hash()``); values are the ``Outcome`` (redacted copy only when
it differs, findings). Failed outcomes are never stored — a timeout under load must not stick.
"""

from __future__ import annotations

import hashlib
import sys
from collections import OrderedDict
from typing import Any

_ENTRY_OVERHEAD = 200  # dict slot, OrderedDict links, tuple headers: a conservative estimate


def key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _size(outcome: Any) -> int:
    size = _ENTRY_OVERHEAD + 16
    if outcome.text is not None:
        size += sys.getsizeof(outcome.text)
    return size + 72 * len(outcome.findings)


class OutcomeCache:
    def __init__(self, max_entries: int, max_bytes: int):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._data: OrderedDict[bytes, tuple[Any, int]] = OrderedDict()
        # One (outcome, size) for every text with nothing found and nothing changed (a handful of distinct values:
        # clean, skipped by the prefilter): the worker sends a new equal tuple each time, 160 bytes an entry.
        self._shared: dict[Any, tuple[Any, int]] = {}
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._data)

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0 and self.max_bytes > 0

    def get(self, k: bytes) -> Any | None:
        entry = self._data.get(k)
        if entry is None:
            self.misses += 1
            return None
        self._data.move_to_end(k)
        self.hits += 1
        return entry[0]

    def put(self, k: bytes, outcome: Any) -> None:
        if not self.enabled or outcome.error is not None:
            return
        plain = outcome.text is None and not outcome.findings  # most texts: nothing found, nothing changed
        entry = self._shared.get(outcome) if plain else None
        if entry is None:
            entry = (outcome, _size(outcome))
            if plain:
                self._shared[outcome] = entry
        size = entry[1]
        if size > self.max_bytes // 8:  # one huge text must not flush everything else
            return
        old = self._data.pop(k, None)
        if old is not None:
            self.bytes -= old[1]
        self._data[k] = entry
        self.bytes += size
        while len(self._data) > self.max_entries or self.bytes > self.max_bytes:
            _, (_, dropped) = self._data.popitem(last=False)
            self.bytes -= dropped
            self.evictions += 1

    def hit_ratio(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def clear(self) -> None:
        self._data.clear()
        self.bytes = 0
