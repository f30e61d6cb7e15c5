"""Which of many words occur in a text, in one pass: Aho-Corasick over the text's UTF-8 bytes (ahocorasick_rs).

Shared by redaction's prefilter (context words), the evals' injection gates and the language check's function
words. Every occurrence counts, overlapping ones included (``"system prompt"`` also holds ``"prompt"``), as a
substring test (``word in text``) would find them. Searching the UTF-8 bytes is exact: a word's bytes occur in a
text's bytes only where the word occurs, since UTF-8 never starts a character inside another. On the chat
workload's 1 KB user messages it takes 1.9 µs where pyahocorasick's str automaton took 5.7. pyahocorasick stays
where a lazy scan wins: the language check stops reading at its third function word.
"""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick_rs


class Words:
    """A fixed set of words, searched for together."""

    def __init__(self, words: Iterable[str]):
        self.words: tuple[str, ...] = tuple(sorted({word for word in words if word}))
        encoded = [word.encode("utf-8", "surrogatepass") for word in self.words]
        self._automaton = ahocorasick_rs.BytesAhoCorasick(encoded) if encoded else None

    def __len__(self) -> int:
        return len(self.words)

    def indexes(self, text: str | bytes) -> list[int]:
        """The index (into ``words``) of every occurrence, in the order they end in the text."""
        if self._automaton is None:
            return []
        data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        return [index for index, _, _ in self._automaton.find_matches_as_indexes(data, overlapping=True)]

    def present(self, text: str | bytes) -> set[str]:
        """The words that occur in ``text``."""
        words = self.words
        return {words[index] for index in set(self.indexes(text))}
