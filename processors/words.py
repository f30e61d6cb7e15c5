"""Which of many words occur in a text, in one pass (Aho-Corasick).

Shared by redaction's prefilter (context words), the evals' injection gates and the language check's function
words. Every occurrence counts,
overlapping ones included (``"system prompt"`` also holds ``"prompt"``), as a substring test (``word in text``)
would find them.

Two engines, chosen by where the search runs:

* ``release_gil=True`` — ahocorasick_rs over the text's UTF-8 bytes: 1.9 µs on the chat workload's 1 KB user
  messages where pyahocorasick takes 5.7. It releases the GIL on every call, which is free in a redaction worker
  (one Python thread) and costly anywhere else: behind one busy thread, getting the GIL back took 850 µs a call.
  Searching bytes is exact: a word's bytes occur in a text's bytes only where the word occurs, since UTF-8 never
  starts a character inside another.
* the default — pyahocorasick, which holds the GIL: the relay process, where the event loop shares it with the
  queue and redaction-feed threads. Its scan is lazy (``found``), so a caller can stop at the first words.

``present_in_each`` searches many texts in one call: with ``release_gil=True`` that is one GIL release for all of
them, which makes the faster engine worth it on the event-loop thread too (the evals' injection gates: one call
per batch, 2.0 µs per chat span where pyahocorasick takes 6.8).
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from itertools import accumulate

import ahocorasick
import ahocorasick_rs

_INDEX = operator.itemgetter(1)
_SEPARATOR = "\0"  # between the texts present_in_each searches together
_SEPARATOR_BYTES = _SEPARATOR.encode()


class Words:
    """A fixed set of words, searched for together."""

    def __init__(self, words: Iterable[str], *, release_gil: bool = False):
        self.words: tuple[str, ...] = tuple(sorted({word for word in words if word}))
        if any(_SEPARATOR in word for word in self.words):
            raise ValueError("a word holds NUL, which separates the texts present_in_each searches together")
        self.release_gil = release_gil
        self._bytes: ahocorasick_rs.BytesAhoCorasick | None = None
        self._str: ahocorasick.Automaton | None = None
        if not self.words:
            return
        if release_gil:
            self._bytes = ahocorasick_rs.BytesAhoCorasick([w.encode("utf-8", "surrogatepass") for w in self.words])
        else:
            self._str = ahocorasick.Automaton()
            for index, word in enumerate(self.words):
                self._str.add_word(word, index)
            self._str.make_automaton()

    def __len__(self) -> int:
        return len(self.words)

    def found(self, text: str) -> Iterator[int]:
        """The index (into ``words``) of every occurrence, in the order they end in the text, read lazily: a caller
        that has seen enough stops the scan (the language check's function words). Holds the GIL."""
        if self._str is not None:
            return map(_INDEX, self._str.iter(text))  # (end, index) pairs; map keeps the loop in C
        return iter(self.indexes(text))

    def indexes(self, text: str) -> list[int]:
        """The index (into ``words``) of every occurrence, in the order they end in the text."""
        if self._str is not None:
            return [index for _, index in self._str.iter(text)]
        if self._bytes is not None:
            found = self._bytes.find_matches_as_indexes(text.encode("utf-8", "surrogatepass"), overlapping=True)
            return [index for index, _, _ in found]
        return []

    def present(self, text: str) -> set[str]:
        """The words that occur in ``text``."""
        words = self.words
        return {words[index] for index in set(self.indexes(text))}

    def present_in_each(self, texts: list[str]) -> list[set[str]]:
        """``present`` of each text, in one search over all of them (joined by NUL, which no word holds, so no
        occurrence spans two texts)."""
        if self._bytes is None:
            return [self.present(text) for text in texts]
        return self.present_in_each_encoded([text.encode("utf-8", "surrogatepass") for text in texts])

    def present_in_each_encoded(self, encoded: list[bytes]) -> list[set[str]]:
        """``present_in_each`` of texts already UTF-8 encoded (``release_gil=True`` only)."""
        if self._bytes is None:
            raise TypeError("present_in_each_encoded needs Words(..., release_gil=True)")
        ends = list(accumulate(len(part) + 1 for part in encoded))  # where each text's separator ends
        found: list[set[str]] = [set() for _ in encoded]
        words = self.words
        for index, start, _ in self._bytes.find_matches_as_indexes(_SEPARATOR_BYTES.join(encoded), overlapping=True):
            found[bisect_right(ends, start)].add(words[index])
        return found
