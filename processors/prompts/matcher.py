"""Which registry template an LLM call used: an index on each template's literal prefix, then one anchored
regular expression per candidate.

Each of a span's system messages (the first message when there is none; an app may add a second system message,
e.g. retrieved context) is looked up in the index of string templates, and its first messages in the index of
chat templates. The index is keyed on the first
``PREFIX`` characters of each template's leading literal (white space normalised; shorter literals are keyed on
what they have), so a span costs a few dictionary lookups and a regex for the few templates that start the same
way, whatever the registry's size. Of the templates that match, the most specific (most literal characters)
wins; two equally specific ones are a tie, which is reported, never guessed. Results are cached by content:
system prompts repeat on every call.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from glassbox.processors import model as M
from glassbox.processors.prompts.registry import Entry, Text

PREFIX = 64  # characters of leading literal the index keys on


@dataclass(frozen=True)
class Match:
    entry: Entry
    variables: dict[str, str]


@dataclass(frozen=True)
class Tie:
    entries: tuple[Entry, ...]


class _Index:
    def __init__(self, keyed: list[tuple[str, Entry]]):
        self.buckets: dict[tuple[int, str], list[Entry]] = {}
        for prefix, entry in keyed:
            key = prefix[:PREFIX]
            self.buckets.setdefault((len(key), key), []).append(entry)
        self.lengths = sorted({length for length, _ in self.buckets}, reverse=True)

    def candidates(self, text: str) -> list[Entry]:
        head = " ".join(text[: PREFIX * 4].split())
        found: list[Entry] = []
        for length in self.lengths:
            found.extend(self.buckets.get((length, head[:length]), ()))
        return found


class Matcher:
    def __init__(self, entries: list[Entry], cache_entries: int = 10_000):
        self.size = len(entries)
        self.strings = _Index([(e.template.prefix, e) for e in entries if e.template is not None])
        self.chats = _Index([(e.chat_template[0][1].prefix, e) for e in entries if e.chat_template])
        self.depth = max((len(e.chat_template) for e in entries if e.chat_template), default=0)
        self.cache: OrderedDict[tuple, Match | Tie | None] = OrderedDict()
        self.cache_entries = cache_entries
        self.hits = 0

    def match(self, messages: list[M.Message]) -> Match | Tie | None:
        systems = tuple(m.content for m in messages if m.role == "system" and m.content)
        if not systems and messages:
            systems = (messages[0].content,)
        head = tuple((m.role, m.content) for m in messages[: self.depth])
        key = (systems, head)
        cached = self.cache.get(key, _MISS)
        if cached is not _MISS:
            self.hits += 1
            self.cache.move_to_end(key)
            return cached  # type: ignore[return-value]
        result = self._match(systems, head)
        if self.cache_entries:
            self.cache[key] = result
            if len(self.cache) > self.cache_entries:
                self.cache.popitem(last=False)
        return result

    def _match(self, systems: tuple[str, ...], head: tuple[tuple[str, str], ...]) -> Match | Tie | None:
        found: list[Match] = []
        for system in systems:
            for entry in self.strings.candidates(system):
                assert entry.template is not None
                variables = _fullmatch(entry.template, system)
                if variables is not None and all(m.entry is not entry for m in found):
                    found.append(Match(entry, variables))
        if head:
            for entry in self.chats.candidates(head[0][1]):
                variables = _chat_match(entry, head)
                if variables is not None:
                    found.append(Match(entry, variables))
        if not found:
            return None
        best = max(match.entry.specificity for match in found)
        winners = [match for match in found if match.entry.specificity == best]
        if len(winners) > 1:
            return Tie(tuple(sorted((m.entry for m in winners), key=lambda e: (e.name, e.version))))
        return winners[0]


_MISS = object()


def _fullmatch(text: Text, content: str) -> dict[str, str] | None:
    match = text.pattern.fullmatch(content)
    if match is None:
        return None
    return {name: match.group(f"g{i}") for i, name in enumerate(text.groups)}


def _chat_match(entry: Entry, head: tuple[tuple[str, str], ...]) -> dict[str, str] | None:
    template = entry.chat_template or ()
    if len(head) < len(template):
        return None
    variables: dict[str, str] = {}
    for (role, text), (span_role, content) in zip(template, head):
        if role != span_role:
            return None
        found = _fullmatch(text, content)
        if found is None or any(variables.get(k, v) != v for k, v in found.items()):
            return None  # a variable repeated across messages must repeat its value
        variables.update(found)
    return variables
