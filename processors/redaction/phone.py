"""phonenumbers' ``PhoneNumberMatcher``, made cheap without changing a single match.

Why: Presidio's PhoneRecognizer runs one matcher per region (8 by default) over every text, and each matcher
parses every digit group it finds ("2", "2026", "$149.99", order numbers) — over half of Presidio's time
without NER. The matcher's loop (candidate regex, trimming) stays phonenumbers' own; what is skipped is
only work whose answer is known:

1. Floors: a candidate with fewer digits than any number valid in the region could have (its shortest
   national number, or its international prefix + the world's shortest number; 5 after a ``+``) is
   rejected without parsing — ``"2"``, ``"3-5"``, ``"2026"`` never become a US number.
2. ``NationalCheck``: a candidate of digits and phone punctuation only (no plus, no letters) that does not
   start with the region's international prefix can only become a national number — its digits minus a
   country code and/or national prefix. If none of those few variants matches a number type (pattern and
   lengths) of the region's country code, or the country's formats require a national prefix it lacks
   ("48213975" in Germany), ``_parse_and_verify`` is answered without ``parse`` — all from phonenumbers'
   own metadata and functions.
3. ``TextScan``: the 8 regions of one text share the candidate regex's results, and a candidate dead in every
   region (below every floor; or digits and ASCII hyphens only — which leaves no inner matches — rejected by
   every region's check) is stepped over, exactly as ``_find`` steps over a rejected candidate. If no live
   candidate is left, the recognizer is not even called (the prefilter asks ``could_match``).
4. A "+<known country code>" candidate is parsed once per text, not once per region (parse ignores the default
   region then; after "+0…" or an unknown code phonenumbers retries with the region's rules, so not those).
5. A memo of ``_extract_match`` verdicts per region across texts, keyed by what the verdict depends on: the
   candidate, the characters just before and after it (VALID leniency rejects numbers glued to letters),
   whether ``:MM`` follows a time-stamp-like candidate.

One difference on purpose: phonenumbers gives up after 65,535 rejected candidates (``max_tries``) and returns
what it found so far, so a number after ~65,000 short numbers in a 400 KB message was never seen. These
matchers never give up (``UNLIMITED_TRIES``); the per-text deadline bounds the time and fails the text closed.
``tests/processors/test_redaction_engine.py`` compares matches with stock matchers on Faker numbers of 11
locales, phonenumbers' example numbers in three formats, random digit strings and the harness corpora.

Beyond the matchers (``GlassboxPhoneRecognizer`` turns each on; ``tests/processors/redaction/test_phone.py``):

* ``context_windows`` / ``context_matches``: after a phone word (call, tel, mobile, whatsapp, …) a plain
  candidate is tried in every region whose ``NationalCheck`` accepts its digits, so a national number of a
  country outside ``phone_regions`` is found where someone says it is a phone number.
* ``lookalike``: a match labelled or shaped as something else (order/invoice/SKU/ISBN labels, codes such as
  INV-2024-…, epoch timestamps, ISBN check digits, coordinates and prices, dates, IPv4, ZIP+4) is dropped.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import phonenumbers
from phonenumbers import Leniency, PhoneMetadata, PhoneNumberMatch, PhoneNumberMatcher
from phonenumbers import phonenumbermatcher as _pm
from phonenumbers import phonenumberutil as _pu

# phonenumbers internals the national-prefix rule is read with (present in 8.x and 9.x); without them the check
# is skipped, never guessed.
_HAS_PREFIX_RULES = all(
    hasattr(_pu, f)
    for f in (
        "_choose_formatting_pattern_for_number",
        "_formatting_rule_has_first_group_only",
        "_maybe_strip_national_prefix_carrier_code",
    )
)

_DIGIT = re.compile(r"\d")  # Unicode decimal digits, as phonenumbers normalizes them
_PLUS = frozenset("+\uff0b")  # phonenumbers' _PLUS_CHARS
_START = re.compile("[+\uff0b\\d]")  # phonenumbers' _VALID_START_CHAR: where parse starts reading
_LETTERS = re.compile(r"[^\W\d_]")


def _known_country_code_after_plus(candidate: str) -> bool:
    """The candidate starts (where parse starts) with a plus, then a country code phonenumbers knows, and has
    no letters but an extension's x (so nothing turns letters into digits)."""
    start = _START.search(candidate)
    if start is None or start.group() not in _PLUS:
        return False
    if any(c not in "xX" for c in _LETTERS.findall(candidate)):
        return False
    digits = "".join(str(unicodedata.digit(c)) for c in _DIGIT.findall(candidate[start.end() :])[:3])
    if not digits or digits[0] == "0":
        return False
    return any(int(digits[:i]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE for i in range(1, len(digits) + 1))


_NON_DIGIT = re.compile(r"\D")
_SECOND_START = _pm._SECOND_NUMBER_START_PATTERN  # type: ignore[attr-defined]  # what _find trims a candidate at
_DIGITS_HYPHENS = re.compile(r"[\d-]+")
_NOWHERE: dict[tuple, bool] = {}  # (region checks, digits) -> no region accepts them
# Digits, whitespace and phonenumbers' punctuation minus "x" (an extension marker): a "plain" candidate.
_PLAIN = re.compile("[\\d\\s" + re.escape(_pm._VALID_PUNCTUATION.replace("x", "")) + "]+")  # type: ignore[attr-defined]

_MISS = object()
# phonenumbers' matcher gives up, silently, after ``max_tries`` (65,535) rejected candidates: a number after that
# many decoys would leak. Ours never gives up; the per-text deadline bounds the time and fails the text closed.
UNLIMITED_TRIES = 1 << 62


@cache
def _world_min_nsn() -> int:
    lengths: list[int] = []
    for md in [
        *(PhoneMetadata.metadata_for_region(region) for region in phonenumbers.SUPPORTED_REGIONS),
        *(PhoneMetadata.metadata_for_nongeo_region(code) for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS),
    ]:
        if md is not None and md.general_desc is not None:
            lengths.extend(md.general_desc.possible_length)
    return min(lengths)


def min_digits(region: str, leniency: int) -> int:
    """Fewest digits a candidate without a plus sign needs to verify in ``region`` at ``leniency`` (0 when
    unknown: no prune): a national number, or the region's international prefix + an international number."""
    import sre_parse  # deprecated alias, still the way to get a pattern's minimum width

    md = PhoneMetadata.metadata_for_region(region)
    if md is None or md.general_desc is None:
        return 0
    lengths = list(md.general_desc.possible_length)
    if leniency < Leniency.VALID:
        lengths += list(md.general_desc.possible_length_local_only)
    if not lengths:
        return 0
    idd = sre_parse.parse(md.international_prefix).getwidth()[0] if md.international_prefix else 0
    return max(0, min(min(lengths), idd + PLUS_FLOOR))


_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


class NationalCheck:
    """Whether a plain national-format number could verify in one region, without parsing it.

    phonenumbers' ``parse`` turns such a candidate (digits and phone punctuation only, not starting with the
    region's international prefix) into a national number that is its digits, possibly minus a leading country
    code and/or a national prefix (``national_prefix_for_parsing`` of the region, or of the country code's main
    region after a code was taken off; a transform rule may rewrite it, as phonenumbers does with ``re.sub``;
    at most twice). VALID leniency then needs that number to match a number type (fixed line, mobile, toll
    free, ...) of some region with this country code: pattern and possible lengths. The check enumerates
    those few variants and tests each against one alternation per length of every such type pattern. POSSIBLE
    leniency only needs a possible length, so only lengths are tested."""

    def __init__(self, region: str, leniency: int):
        import sre_parse  # deprecated alias, still the way to get a pattern's width

        md = PhoneMetadata.metadata_for_region(region)
        assert md is not None and md.country_code is not None, region  # regions come validated from the config
        self.cc = str(md.country_code)
        self.valid = leniency >= Leniency.VALID
        by_length: dict[int, list[str]] = {}
        self.lengths: set[int] = set()
        for sibling in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(md.country_code, ()):
            smd = PhoneMetadata.metadata_for_region(sibling)
            general = getattr(smd, "general_desc", None)
            if general is None or not general.possible_length:
                self.by_length = None  # unknown sibling: never reject
                return
            self.lengths |= set(general.possible_length)
            if not self.valid:
                self.lengths |= set(general.possible_length_local_only)
            for name in _TYPES:
                desc = getattr(smd, name, None)
                if desc is None or not desc.national_number_pattern:
                    continue
                for n in desc.possible_length or general.possible_length:
                    by_length.setdefault(n, []).append(f"(?:{desc.national_number_pattern})")
        self.by_length = {n: re.compile("|".join(sorted(set(p)))) for n, p in by_length.items()}
        self.rules = []
        main = phonenumbers.region_code_for_country_code(md.country_code)
        widths = {0}
        for name in dict.fromkeys((region, main)):
            rmd = PhoneMetadata.metadata_for_region(name)
            if rmd is not None and rmd.national_prefix_for_parsing:
                self.rules.append((re.compile(rmd.national_prefix_for_parsing), rmd.national_prefix_transform_rule))
                lo, hi = sre_parse.parse(rmd.national_prefix_for_parsing).getwidth()
                widths |= set(range(lo, min(hi, 40) + 1))
                if rmd.national_prefix_transform_rule:
                    widths = set()  # a rewrite can lengthen the number: no length shortcut
        lengths = {n for pattern in [self.by_length] for n in pattern} | self.lengths
        # Digit counts that could survive: a number length plus a stripped prefix (≤ 2 of them) and/or code.
        self.allowed = (
            frozenset(n + a + b + c for n in lengths for a in widths for b in widths for c in (0, len(self.cc)))
            if widths
            else None
        )
        self.idd = re.compile(md.international_prefix) if md.international_prefix else None
        self.main = PhoneMetadata.metadata_for_region(main) if self.valid and _HAS_PREFIX_RULES else None

    def _strip(self, number: str) -> Iterator[str]:
        for pattern, rule in self.rules:
            m = pattern.match(number)
            if not m:
                continue
            if rule and m.groups() and m.groups()[-1] is not None:
                yield re.sub(pattern, rule, number, count=1)
            elif m.end():
                yield number[m.end() :]

    def _variants(self, number: str) -> Iterator[tuple[str, bool]]:
        """(national number, whether a leading country code was taken off) for each way parse could go."""
        bases = [(number, False), (number[len(self.cc) :], True)] if number.startswith(self.cc) else [(number, False)]
        for base, from_cc in bases:
            yield base, from_cc
            for once in self._strip(base):
                yield once, from_cc
                for twice in self._strip(once):
                    yield twice, from_cc

    def _prefix_ok(self, national: str, number: str) -> bool:
        """phonenumbers' ``_is_national_prefix_present_if_required`` for a number read in national format
        (country code from the default region): formats that require the national prefix (e.g. "0" in DE)
        reject a number typed without it."""
        if self.main is None:
            return True
        rule = _pu._choose_formatting_pattern_for_number(self.main.number_format, national)
        if rule is None or not rule.national_prefix_formatting_rule or rule.national_prefix_optional_when_formatting:
            return True
        if _pu._formatting_rule_has_first_group_only(rule.national_prefix_formatting_rule):
            return True
        return bool(_pu._maybe_strip_national_prefix_carrier_code(number, self.main)[2])

    def rejects(self, number: str) -> bool:
        """``number``: the candidate's digits (ASCII), for a candidate without plus signs or letters."""
        if self.by_length is None or (self.idd is not None and self.idd.match(number)):
            return False  # unknown metadata, or an international dialling prefix: any country's rules apply
        if self.allowed is not None and len(number) not in self.allowed:
            return True
        for national, from_cc in self._variants(number):
            if self.valid:
                rx = self.by_length.get(len(national))
                if rx is not None and rx.fullmatch(national) and (from_cc or self._prefix_ok(national, number)):
                    return False
            elif len(national) in self.lengths:
                return False
        return True


PLUS_FLOOR = 1 + _world_min_nsn()  # "+" country code (≥1 digit) + the shortest national number anywhere


class TextScan:
    """What every region's matcher of one text shares: ``_PATTERN.search`` results by start index, and digit
    counts by candidate (the candidate chain is the same in every region until a region matches)."""

    __slots__ = ("text", "searches", "digits", "plain", "floor", "checks", "international")

    def __init__(self, text: str, floor: int = 0, checks: tuple[NationalCheck, ...] = ()):
        self.text = text
        self.floor = floor  # candidates with fewer digits (and no plus) are dead in every region
        self.checks = checks  # every configured region's NationalCheck
        self.searches: dict[int, tuple[int, int] | None] = {}
        self.digits: dict[str, tuple[int, bool]] = {}
        self.plain: dict[str, str | None] = {}
        self.international: dict[tuple[int, str], Any] = {}  # (offset, candidate) -> verdict, any region

    def search(self, index: int) -> tuple[int, int] | None:
        """The next candidate from ``index`` that some region could verify. A dead candidate is stepped over
        exactly as ``_find`` would after ``_extract_match`` returned None (from its start + trimmed length),
        so every region sees the chain it would have seen, minus candidates it would have rejected."""
        try:
            return self.searches[index]
        except KeyError:
            pass
        at = index
        while True:
            m = _pm._PATTERN.search(self.text, at)
            if m is None:
                found = None
                break
            start, end = m.span()
            candidate = self.text[start:end]
            cut = _SECOND_START.search(candidate)  # what _find does before _extract_match
            if cut:
                candidate = candidate[: cut.start()]
            if not self.floor or not (self.dead(candidate) or self.nowhere(candidate)):
                found = (start, end)
                break
            at = start + len(candidate)
        self.searches[index] = found
        return found

    def plain_number(self, candidate: str) -> str | None:
        """The candidate's digits (ASCII) if it holds only digits, spaces and phone punctuation, else None."""
        try:
            return self.plain[candidate]
        except KeyError:
            pass
        number = None
        if _PLAIN.fullmatch(candidate):
            digits = _NON_DIGIT.sub("", candidate)
            number = digits if digits.isascii() else "".join(str(unicodedata.digit(c)) for c in digits)
        self.plain[candidate] = number
        return number

    def counts(self, candidate: str) -> tuple[int, bool]:
        """(digits, has a plus sign) of a candidate."""
        try:
            return self.digits[candidate]
        except KeyError:
            found = self.digits[candidate] = (len(_DIGIT.findall(candidate)), bool(_PLUS & set(candidate)))
            return found

    def dead(self, candidate: str, floor: int | None = None) -> bool:
        digits, plus = self.counts(candidate)
        return digits < (PLUS_FLOOR if plus else (self.floor if floor is None else floor))

    def nowhere(self, candidate: str) -> bool:
        """A candidate of digits and ASCII hyphens only has no inner matches (every one of phonenumbers'
        inner-match patterns needs a slash, bracket, dot, space or wide dash), so if no region's national
        check accepts it whole, no region can match anything in it. Verdicts are kept across texts."""
        if not self.checks or not _DIGITS_HYPHENS.fullmatch(candidate):
            return False
        number = self.plain_number(candidate)
        if number is None:
            return False
        verdict = _NOWHERE.get((self.checks, number))
        if verdict is None:
            if len(_NOWHERE) > 20_000:
                _NOWHERE.clear()
            verdict = _NOWHERE[(self.checks, number)] = all(check.rejects(number) for check in self.checks)
        return verdict


class MemoMatcher(PhoneNumberMatcher):
    def __init__(
        self, scan: TextScan, region: str, leniency: int, memo: dict, floor: int, lengths: NationalCheck
    ) -> None:
        super().__init__(scan.text, region, leniency=leniency, max_tries=UNLIMITED_TRIES)
        self._scan = scan
        self._memo = memo
        self._floor = floor
        self._lengths = lengths

    @classmethod
    def factory(cls, region: str, leniency: int, size: int) -> Callable[[TextScan], Iterator[PhoneNumberMatch]]:
        memo: dict = {}
        floor = min_digits(region, leniency)
        lengths = NationalCheck(region, leniency)

        def matches(scan: TextScan) -> Iterator[PhoneNumberMatch]:
            if len(memo) > size:
                memo.clear()
            return iter(cls(scan, region, leniency, memo, floor, lengths))

        matches.check = lengths  # type: ignore[attr-defined]
        return matches

    def _find(self, index: int):  # noqa: ANN202 — phonenumbers 9.0's _find, with the shared search
        search = self._scan.search
        match = search(index)
        while self._max_tries > 0 and match is not None:
            start, end = match
            candidate = self._trim_after_first_match(_SECOND_START, self.text[start:end])
            if len(candidate) >= self._min_candidate_length:
                found = self._extract_match(candidate, start)
                if found is not None:
                    return found
                self._max_tries -= 1
            index = start + len(candidate)
            match = search(index)
        return None

    def _parse_and_verify(self, candidate: str, offset: int):  # noqa: ANN202 — phonenumbers' signature
        number = self._scan.plain_number(candidate)
        if number is not None and self._lengths.rejects(number):
            return None
        if _known_country_code_after_plus(candidate):
            # "+<valid country code>…": parse never looks at the default region, and VALID's checks read only the
            # number and the characters around it, so every region's verdict is the same — once per text. (After
            # "+0…" or an unknown code, phonenumbers retries without the plus, with the region's rules.)
            cache = self._scan.international
            key = (offset, candidate)
            if key not in cache:
                cache[key] = super()._parse_and_verify(candidate, offset)
            return cache[key]
        return super()._parse_and_verify(candidate, offset)

    def _extract_match(self, candidate: str, offset: int):  # noqa: ANN202 — phonenumbers' signature
        if self._floor and self._scan.dead(candidate, self._floor):
            return None
        text = self.text
        end = offset + len(candidate)
        stamp = _pm._TIME_STAMPS_SUFFIX.match(text, end) is not None if _pm._TIME_STAMPS.search(candidate) else None
        key = (candidate, text[offset - 1] if offset > 0 else "", text[end] if end < len(text) else "", stamp)
        hit = self._memo.get(key, _MISS)
        if hit is _MISS:
            match = super()._extract_match(candidate, offset)
            self._memo[key] = None if match is None else (match.start - offset, match.raw_string, match.number)
            return match
        if hit is None:
            return None
        rel, raw, number = hit
        return PhoneNumberMatch(offset + rel, raw, number)


# --- beyond the configured regions: any region's national format after a phone word ----------------------------

# Words that say "a phone number follows" (English and the commonest others). A national-format number of a
# country outside ``phone_regions`` is looked for, in every region, only in the window after one of them.
_WORDS = (
    r"phone|phones|telephone|tel|tél|téléphone|telefon|telefono|teléfono|telefone|mobile|mobil|móvil|cell|"
    r"cellphone|cel|celular|cellulare|handy|portable|gsm|whats\s?app|viber|signal|telegram|sms|fax|mob|tlf|fon|"
    r"ph|call|calls|called|calling|ring|dial|text\s+me|reach\s+me|contact\s+number|hotline|helpline"
)


def _trie(words: list[str]) -> str:
    """The alternation ``a|b|...`` as a regex factored by common prefixes (``c(?:all(?:ed|ing|s)?|el...)``):
    ``re`` tries each alternative at every position, so a flat list of 45 words costs 2.5x more; the factored
    form also matches the longest word, where the flat one stopped at the first listed ("call" in "calls")."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for token in re.findall(r"\\s[?+]|.", word):  # \s? and \s+ stay whole
            node = node.setdefault(token, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [key + build(node[key]) for key in sorted(k for k in node if k)]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and "" not in node else "(?:" + "|".join(branches) + ")"
        return body + ("?" if "" in node else "")

    return build(trie)


_FACTORED = _trie(_WORDS.split("|"))
PHONE_WORDS = re.compile(rf"(?<![^\W\d_])(?:{_FACTORED})(?![^\W\d_])", re.IGNORECASE)
_WORDS_LOWER = re.compile(_FACTORED)  # on the lowercased text: ten times faster than IGNORECASE
_LETTER = re.compile(r"[^\W\d_]")
CONTEXT_CHARS = 40  # a candidate must start within this many characters after the phone word's end


def _phone_words(text: str) -> Iterator[int]:
    """End offsets of the phone words in ``text`` (whole words, any case)."""
    lower = text.lower()
    if len(lower) != len(text):  # a character whose lowercase is longer (İ): offsets would drift
        yield from (m.end() for m in PHONE_WORDS.finditer(text))
        return
    for m in _WORDS_LOWER.finditer(lower):
        start, end = m.span()
        if (start and _LETTER.match(text, start - 1)) or _LETTER.match(text, end):
            continue
        yield end


def context_windows(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` from right after a phone word to the end of the last candidate (phonenumbers' own
    candidate regex) that starts within ``CONTEXT_CHARS`` of it, plus one character; windows are merged. A number
    in another region's national format is only looked for inside these (so this is also the prefilter's
    test)."""
    windows: list[tuple[int, int]] = []
    for at in _phone_words(text):
        if windows and at < windows[-1][1]:
            continue  # already inside a window
        end = None
        limit = at + CONTEXT_CHARS
        m = _pm._PATTERN.search(text, at, limit + 8)  # bounded: never a scan of the rest of a long text
        while m is not None and m.start() <= limit:
            whole = _pm._PATTERN.match(text, m.start())
            end = whole.end() if whole is not None else m.end()
            m = _pm._PATTERN.search(text, end, limit + 8)
        if end is not None:
            windows.append((at, min(len(text), end + 1)))  # + the character after: VALID rejects a glued letter
    return windows


@cache
def _all_checks() -> dict[str, NationalCheck]:
    return {region: NationalCheck(region, Leniency.VALID) for region in sorted(phonenumbers.SUPPORTED_REGIONS)}


@cache
def _checks_for_length(n: int) -> tuple[tuple[str, NationalCheck], ...]:
    """The regions whose check could accept a number of ``n`` digits (most reject on length alone)."""
    return tuple((r, c) for r, c in _all_checks().items() if c.allowed is None or n in c.allowed)


def warm_context_checks() -> None:
    """Build every region's check and the per-length lists now (at startup)."""
    for n in range(1, _pm._MAX_LENGTH_FOR_NSN + _pm._MAX_LENGTH_COUNTRY_CODE + 1):  # type: ignore[attr-defined]
        _checks_for_length(n)


_ACCEPTING: dict[str, tuple[str, ...]] = {}


def regions_accepting(number: str) -> tuple[str, ...]:
    """Regions whose national-number check lets the digits ``number`` through (kept across texts)."""
    found = _ACCEPTING.get(number)
    if found is None:
        if len(_ACCEPTING) > 20_000:
            _ACCEPTING.clear()
        found = tuple(r for r, check in _checks_for_length(len(number)) if not check.rejects(number))
        _ACCEPTING[number] = found
    return found


@functools.lru_cache(maxsize=20_000)
def _snippet_matches(snippet: str, region: str, leniency: int) -> tuple[PhoneNumberMatch, ...]:
    return tuple(PhoneNumberMatcher(snippet, region, leniency=leniency, max_tries=UNLIMITED_TRIES))


def context_matches(
    text: str, windows: list[tuple[int, int]], exclude: frozenset[str], leniency: int, covered: list[tuple[int, int]]
) -> Iterator[tuple[PhoneNumberMatch, str]]:
    """(match, region) for numbers in another region's national format inside the context windows: each plain
    candidate (digits and phone punctuation; one with a plus or letters was the configured regions' to find)
    that no ``covered`` span (the configured regions' matches) overlaps is matched by phonenumbers' own matcher,
    with its neighbouring characters, in the first region whose check accepts its digits and that finds it."""
    for start, end in windows:
        at = start
        while True:
            m = _pm._PATTERN.search(text, at, end)
            if m is None or m.start() >= end - 1:
                break
            cstart = m.start()
            candidate = m.group()
            cut = _SECOND_START.search(candidate)
            if cut:
                candidate = candidate[: cut.start()]
            cend = cstart + len(candidate)
            at = max(cend, cstart + 1)
            if any(s < cend and cstart < e for s, e in covered) or not _PLAIN.fullmatch(candidate):
                continue
            digits = _NON_DIGIT.sub("", candidate)
            if not digits.isascii():
                digits = "".join(str(unicodedata.digit(c)) for c in digits)
            if len(digits) < 4:
                continue
            lo = max(0, cstart - 1)  # the characters around it, as VALID leniency and the time-stamp rule read them
            snippet = text[lo : cend + 4]
            for region in regions_accepting(digits):
                if region in exclude:
                    continue
                found = _snippet_matches(snippet, region, leniency)
                if found:
                    for match in found:
                        yield PhoneNumberMatch(lo + match.start, match.raw_string, match.number), region
                    break


# --- numbers that verify as phone numbers but are something else -----------------------------------------------

# A label right before the number that says what it is (order 4412345678, "ts": 1732924800, ISBN 0-306-…).
_LABEL = re.compile(
    r"(?<![^\W\d_])(?:invoice|inv|order|ord|sku|item|part|product|model|serial|s/n|isbn|issn|ean|upc|gtin|asin|"
    r"tracking|shipment|parcel|ticket|case|ref|reference|receipt|transaction|txn|confirmation|booking|"
    r"reservation|po|id|ts|timestamp|epoch|time|date|[a-z]+_at|[a-z]+_(?:id|ts|time)|version|ver|build|v|"
    r"lat|lng|lon|long|latitude|longitude|coordinates|coords|zip|postcode|postal\s+code)"
    r"(?:\s*(?:no|nr|num|number|#|id|code)\b\.?)?(?:\s+(?:is|was))?[\s\"':=#(\[]*$",
    re.IGNORECASE,
)
# Glued to a code before it: INV-2024-004417, AB/12345678 (not tel-, fon: …, which are phone words).
_GLUED = re.compile(r"([^\W_]*[^\W\d_][^\W_]*)[-_/.#]$")
_IN_NUMBER_BEFORE = re.compile(r"\d\.$")  # not commas: "4155550137,4155550138" is a list of two
_IN_NUMBER_AFTER = re.compile(r"\.\d")
_DECIMAL = re.compile(r"(0|[1-9]\d*)\.(\d+)")  # 48.8584, 1643.63: one dot, no leading zero
_DATE = re.compile(r"(?:19|20)\d\d([-/.])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])")  # 2026-04-21
_ZIP4 = re.compile(r"[1-9]\d{4}-\d{4}")  # a US ZIP+4 (94105-1234)
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)")


def _ean_ok(digits: str) -> bool:
    return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0


def _isbn10_ok(chars: str) -> bool:
    values = [10 if c in "xX" else int(c) for c in chars]
    return sum(v * (10 - i) for i, v in enumerate(values)) % 11 == 0


def lookalike(text: str, start: int, end: int) -> str | None:
    """Why the phone-number match ``text[start:end]`` is something else — a label or code before it, a piece of
    a decimal number, a date, an epoch timestamp, an ISBN, a coordinate or price, an IPv4 address, a ZIP+4 —
    or None. A phone word just before it (call, tel, whatsapp …) keeps a bare timestamp or ZIP+4-like number;
    labels, codes and check digits win over it."""
    raw = text[start:end]
    if "+" in raw or "\uff0b" in raw:
        return None  # "+<country code>": written as a phone number
    before = text[max(0, start - 40) : start]
    glued = _GLUED.search(before)
    if glued and not PHONE_WORDS.fullmatch(glued.group(1)):
        return "code"
    if _LABEL.search(before):
        return "label"
    if _IN_NUMBER_BEFORE.search(before) or _IN_NUMBER_AFTER.match(text, end):
        return "fragment"  # the digits after the dot of 19.1646, or before it
    digits = _NON_DIGIT.sub("", raw)
    shape = raw.strip("()[] ")
    if _DATE.fullmatch(shape):
        return "date"
    if len(digits) == 13 and digits[:3] in ("978", "979") and _ean_ok(digits):
        return "isbn"
    if re.fullmatch(r"\d{1,5}-\d{1,7}-\d{1,7}-[\dxX]", shape) and len(digits) + (shape[-1] in "xX") == 10:
        if _isbn10_ok(shape.replace("-", "")):
            return "isbn"
    if _IPV4.fullmatch(shape):
        return "ipv4"
    decimal = _DECIMAL.fullmatch(shape)
    if decimal and (len(decimal.group(1)) <= 3 or len(decimal.group(2)) <= 2):
        return "decimal"
    if shape.isdigit() and (
        (len(shape) == 10 and 1_000_000_000 <= int(shape) < 2_100_000_000)
        or (len(shape) == 13 and 1_000_000_000_000 <= int(shape) < 2_100_000_000_000)
    ):
        if not PHONE_WORDS.search(text, max(0, start - CONTEXT_CHARS), start):
            return "timestamp"
    if _ZIP4.fullmatch(shape) and not PHONE_WORDS.search(text, max(0, start - CONTEXT_CHARS), start):
        return "zip"
    return None
