"""Differential fuzz of the prefilter: whenever a gate says "skip", Presidio must find nothing of that entity.

The corpus is seeded and Unicode-heavy: e-mail, card, SSN, IBAN, IP, phone, ... shapes built from the
characters where stdlib ``re`` and the ``regex`` module Presidio uses disagree (combining marks, ZWJ/ZWNJ,
variation selectors, circled and mathematical letters, full-width forms, digits of every script including
those only ``regex``'s newer Unicode knows, the Kelvin sign, dotless and dotted i, long s) mixed with
ordinary text. Every skipped (text, entity) pair is analysed by the Redactor's own ``AnalyzerEngine`` (the
recognizers glassbox builds, for that entity only, no prefilter); a finding or an exception is a gate bug.
"""

from __future__ import annotations

import inspect
import random
import re
import sys
import uuid
from collections.abc import Sequence
from functools import cache
from typing import TypeVar

import pytest
import regex
from presidio_analyzer import PatternRecognizer
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from glassbox.processors.redaction.analyzer import LANGUAGE, Redactor
from glassbox.processors.redaction.config import RedactionConfig
from glassbox.processors.redaction.gates import GATES

SEED = 90210
T = TypeVar("T")
# How Presidio compiles every PatternRecognizer pattern (the registry sets the same on the ones it loads).
PRESIDIO_FLAGS = inspect.signature(PatternRecognizer.__init__).parameters["global_regex_flags"].default
TEXTS = 5000


@cache
def _code_points() -> tuple[str, ...]:
    return tuple(chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i <= 0xDFFF)


@cache
def _only_regex(cls: str) -> tuple[str, ...]:
    """Characters in ``regex``'s ``cls`` (with Presidio's flags) that stdlib ``re``'s ``cls`` lacks."""
    ours, std = regex.compile(cls, PRESIDIO_FLAGS), re.compile(cls)
    return tuple(c for c in _code_points() if ours.fullmatch(c) and not std.fullmatch(c))


COMBINING = "\u0301\u0308\u0327\u0345\u0650\u093c\u1ab0\u1dc0\u20dd\u20e3\ufe20"
JOINERS = "\u200d\u200c\u2060\u00ad\u200b"  # ZWJ, ZWNJ, word joiner, soft hyphen, zero-width space
VARIATION = "\ufe0e\ufe0f\U000e0100\U000e01ef\u180b"
CIRCLED = "ⒶⓐⓚⓩⓈ🄰🅐🅰"
MATH = "𝐀𝐳𝑥𝔸𝕜𝖘𝚤𝚥𝟎𝟗𝟘𝟡"
FULLWIDTH = "０１９ＡＺａｚ＠．－：＋／"
FOLDS = "\u212aſıİßﬀǅ\u212bµϐẞ"  # Kelvin sign, long s, dotless/dotted i, ...
NON_LATIN_DIGITS = "٠٣٩۴०५০৭๑๙߀᠐၉០᧐᭐꘠꧐𑁦𝟙"
SPACES = " \xa0\u2009\u3000\u2028\x1c\t\n"
DASHES = "-‐‑‒–—−﹣"
GLUE = (" ", ", ", ": ", " (", ") ", "\n")
ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
WORDS = (
    "please call me about my order, it shipped to the wrong address; thanks and regards from the team "
    "passport account bank license driver acct permit lic card visa iban ip mac wallet btc email phone "
    "pAſſport BANK liсense DEA medical itin ssn social security nhs uuid url website date birthday"
).split()


class Shapes:
    """Random PII-like strings whose characters lean on the classes the two engines disagree about."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.odd_w = _only_regex(r"\w")  # ~29,000: marks, joiners, newer letters
        self.odd_d = _only_regex(r"\d")  # digits newer than Python's Unicode database
        self.clean = False  # ASCII only, valid checksums: shapes Presidio does find, so each gate is exercised

    def pick(self, pool: Sequence[T]) -> T:
        return pool[self.rng.randrange(len(pool))]

    def hex(self) -> str:
        return "0123456789abcdefABCDEF" + ("" if self.clean else "０Ａａ" + FOLDS)

    def junk(self) -> str:
        return self.pick(self.pick((COMBINING, JOINERS, VARIATION, self.odd_w, SPACES)))

    def digit(self) -> str:
        r = self.rng.random()
        if r < 0.6 or self.clean:
            return str(self.rng.randrange(10))
        return self.pick(self.pick((NON_LATIN_DIGITS, self.odd_d, "０１２３４５６７８９", "𝟎𝟗𝟘𝟡")))

    def letter(self) -> str:
        if self.clean or self.rng.random() < 0.6:
            return self.pick(ASCII_LETTERS)
        return self.pick(self.pick((FOLDS, CIRCLED, MATH)))

    def digits(self, n: int) -> str:
        return "".join(self.digit() for _ in range(n))

    def sep(self, ascii_seps: str = " -") -> str:
        r = self.rng.random()
        if r < 0.5 or self.clean:
            return self.pick(ascii_seps)
        if r < 0.65:
            return ""
        return self.pick(self.pick((DASHES, SPACES, ".:/", JOINERS)))

    def sprinkle(self, s: str) -> str:
        """Inserts a mark, joiner, selector or odd word character here and there."""
        out = []
        for c in s:
            out.append(c)
            if self.rng.random() < 0.08:
                out.append(self.junk())
        return "".join(out)

    # --- shapes -----------------------------------------------------------------------------------------

    def email(self) -> str:
        local = "".join(self.pick((self.letter, self.digit, self.junk, lambda: self.pick("._+-")))() for _ in range(6))
        first = self.pick((self.junk, self.letter, lambda: self.pick(self.odd_w)))()
        label = first + "".join(self.letter() for _ in range(self.rng.randint(0, 6)))
        tld = self.pick(("com", "org", "net", "io", "example", "internal", "de", "ınfo", "İnfo", "\u212aids"))
        return local.strip() + self.pick("@@@＠") + label + self.pick("...．") + tld

    def card(self) -> str:
        lengths = self.pick(((4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (4, 4, 4, 4, 3), (16,), (13,), (19,), (12,)))
        lead = self.pick("345612")
        groups = [self.digits(n) for n in lengths]
        groups[0] = lead + groups[0][1:]
        if self.rng.random() < 0.5 and all(g.isascii() for g in groups):
            groups[-1] = groups[-1][:-1] + _luhn_digit("".join(groups)[:-1])
        s = self.sep()
        return s.join(groups)

    def ssn(self) -> str:
        a, b, c = self.digits(3), self.digits(2), self.digits(4)
        first = "9" if self.rng.random() < 0.3 else self.digit()
        middle = self.pick("56789") + self.digit() if first == "9" else b
        return first + a[1:] + self.sep(" -.") + middle + self.sep(" -.") + c

    def nhs(self) -> str:
        number = self.digits(10)
        if self.clean:
            check = (11 - sum(int(d) * (10 - i) for i, d in enumerate(number[:9])) % 11) % 11
            number = number[:9] + str(check % 10)
        return number[:3] + self.sep() + number[3:6] + self.sep() + number[6:]

    def run(self) -> str:
        return self.digits(self.rng.randint(6, 18))

    def iban(self) -> str:
        if self.rng.random() < 0.4:
            base = list(self.pick(("DE89370400440532013000", "GB82WEST12345698765432", "ES9121000418450200051332")))
            for _ in range(self.rng.randint(0, 2)):
                i = self.rng.randrange(len(base))
                base[i] = self.pick(FOLDS + base[i].lower() + self.digit())
            return self.sprinkle("".join(base)) if self.rng.random() < 0.3 else "".join(base)
        head = self.letter() + self.letter() + self.digit() + self.digit()
        body = self.sep(" -").join(
            "".join(self.pick((self.letter, self.digit))() for _ in range(4)) for _ in range(self.rng.randint(2, 6))
        )
        return head + self.sep(" -") + body

    def ip(self) -> str:
        if self.rng.random() < 0.5:
            quad = [str(self.rng.randrange(256)) for _ in range(4)]
            quad[self.rng.randrange(4)] = self.digits(self.rng.randint(1, 3))
            return self.pick("...．").join(quad) + (f"/{self.rng.randrange(33)}" if self.rng.random() < 0.2 else "")
        groups = ["".join(self.pick(self.hex()) for _ in range(4)) for _ in range(8)]
        if self.rng.random() < 0.5:
            cut = self.rng.randrange(1, 7)
            return ":".join(groups[:cut]) + "::" + ":".join(groups[cut + 1 :])
        return self.pick((":", ":", "：")).join(groups)

    def phone(self) -> str:
        cc = self.pick(("+1 ", "+44 ", "+49 ", "＋33 ", "+972-", "+91 ", "", "", "0", "(0)"))
        return cc + self.sep().join(self.digits(self.rng.randint(2, 4)) for _ in range(self.rng.randint(2, 4)))

    def mac(self) -> str:
        hexes = self.hex()
        if self.rng.random() < 0.3:
            return ".".join("".join(self.pick(hexes) for _ in range(4)) for _ in range(3))
        return self.pick(":-").join("".join(self.pick(hexes) for _ in range(2)) for _ in range(6))

    def uuid(self) -> str:
        if self.clean:
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        hexes = self.hex()
        return "-".join("".join(self.pick(hexes) for _ in range(n)) for n in (8, 4, 4, 4, 12))

    def url(self) -> str:
        host = "".join(self.letter() for _ in range(self.rng.randint(1, 8)))
        tld = self.pick(("com", "org", "ınfo", "İnfo", "\u212aids", "ſhop", "io", "uk", "DE", "ｃｏｍ", "çom"))
        return self.pick(("", "http://", "https://www.", "'", '"')) + host + self.pick("..．") + tld

    def date(self) -> str:
        month = self.pick(("JAN", "feb", "Mar", "DEC", "ſep", "oct", "NOV"))
        return self.pick(
            (
                f"{self.digit()}-{month}",
                f"{month}-{self.digits(2)}",
                f"{self.digits(2)}/{self.digits(2)}/{self.digits(4)}",
                f"{self.digits(4)}-{self.digits(2)}-{self.digits(2)}T{self.digits(2)}:{self.digits(2)}Z",
                f"{self.digit()}/{self.digits(2)}",
                f"{self.digits(2)}.{self.digits(2)}.{self.digits(2)}",
            )
        )

    def crypto(self) -> str:
        if self.clean:
            return self.pick(("1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"))
        chars = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz" + FOLDS
        body = "".join(self.pick(chars) for _ in range(self.rng.randint(24, 40)))
        return self.pick(("1", "3", "bc1", "BC1")) + body

    def medical(self) -> str:
        return self.pick("ABFMabfm" + FOLDS) + self.pick(("9", self.letter())) + self.digits(7)

    def license(self) -> str:
        return self.pick(
            (
                self.letter() + self.digits(self.rng.randint(1, 12)),
                self.digits(self.rng.randint(6, 9)) + self.letter(),
                self.digits(3) + self.letter() + self.letter() + self.digits(4),
                "A-Z]]" + self.digits(3),
                self.letter() + self.digit() + self.letter() + self.digit() + self.letter(),
                self.digits(self.rng.randint(6, 16)),
            )
        )

    def document(self) -> str:
        """A passport or bank account number after its context word (the only way either scores enough)."""
        word = self.pick(("passport", "passport#", "travel document", "account", "acct", "bank", "pAſſport", "BANK"))
        number = self.pick((self.digits(9), self.letter() + self.digits(8), self.digits(self.rng.randint(8, 17))))
        return word + self.pick((" ", ": ", " no. ")) + number

    def noise(self) -> str:
        return "".join(
            self.pick((self.junk, self.letter, self.digit, lambda: self.pick("@.:-/+ #_]")))()
            for _ in range(self.rng.randint(3, 30))
        )

    def text(self) -> str:
        makers = (
            self.email, self.card, self.ssn, self.nhs, self.run, self.iban, self.ip, self.phone, self.mac,
            self.uuid, self.url, self.date, self.crypto, self.medical, self.license, self.document, self.noise,
        )  # fmt: skip
        parts = []
        for _ in range(self.rng.randint(1, 3)):
            if self.rng.random() < 0.6:
                parts.append(" ".join(self.pick(WORDS) for _ in range(self.rng.randint(1, 4))))
            self.clean = self.rng.random() < 0.3
            shape = self.pick(makers)()
            parts.append(self.sprinkle(shape) if not self.clean and self.rng.random() < 0.35 else shape)
        glue = [self.junk() if self.rng.random() < 0.2 else self.pick(GLUE) for _ in parts]
        return "".join(p + g for p, g in zip(parts, glue, strict=True))


def _luhn_digit(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str(-total % 10)


def fuzz_corpus(n: int = TEXTS, seed: int = SEED) -> list[str]:
    shapes = Shapes(random.Random(seed))
    return [shapes.text() for _ in range(n)]


@pytest.fixture(scope="module")
def every_gate() -> Redactor:
    """Every entity that has a gate (URL, UUID, DATE_TIME too), analysed in this process."""
    return Redactor(RedactionConfig(workers=0, entities=sorted(GATES)))


def test_skip_means_presidio_finds_nothing(every_gate: Redactor) -> None:
    """For every fuzz text and every entity its gate skips, the analyzer finds nothing of that entity; for
    phone numbers, neither does Presidio's own ``PhoneRecognizer`` (stock phonenumbers matchers)."""
    assert every_gate.gated == sorted(GATES)  # every gate is in use, so every gate is fuzzed
    stock_phone = PhoneRecognizer(supported_regions=every_gate.settings.phone_regions)
    texts = fuzz_corpus()
    misses: dict[str, list[tuple[str, str]]] = {}
    skipped = dict.fromkeys(GATES, 0)
    found = dict.fromkeys(GATES, 0)
    for text in texts:
        analysed = set(every_gate.prefilter(text))
        for entity in every_gate.entities:
            try:
                results = every_gate.analyzer.analyze(
                    text=text, language=LANGUAGE, entities=[entity], allow_list=every_gate.allow_list
                )
                if entity == "PHONE_NUMBER" and entity not in analysed:
                    results += stock_phone.analyze(text, [entity])
                hit, outcome = bool(results), repr(sorted({text[r.start : r.end] for r in results}))
            except Exception as exc:  # noqa: BLE001 — Presidio failing is a result too: the text fails closed
                hit, outcome = True, f"raised {type(exc).__name__}"
            found[entity] += hit
            if entity not in analysed:
                skipped[entity] += 1
                if hit:
                    misses.setdefault(entity, []).append((text, outcome))
    report = {e: [f"{t!a} -> {o!a}" for t, o in m[:3]] + [f"({len(m)} in all)"] for e, m in misses.items()}
    assert not misses, report
    # The corpus exercises every gate both ways: Presidio finds each entity somewhere, each gate skips texts.
    assert all(found.values()), found
    assert all(skipped.values()), skipped


def test_every_stdlib_digit_is_a_regex_digit() -> None:
    """Digits are counted with ``regex``'s ``\\d``; the phone gate relies on that count covering phonenumbers'
    stdlib ``\\d`` (a newer Unicode database only adds digits)."""
    std, ours = re.compile(r"\d"), regex.compile(r"\d", PRESIDIO_FLAGS)
    assert not [c for c in _code_points() if std.match(c) and not ours.match(c)]


def test_gates_compile_like_presidio_and_trust_nothing_else() -> None:
    """Gates use Presidio's flags; a recognizer compiled with others (full case folding, version 1, Unicode
    word boundaries) is not gated."""
    from glassbox.processors.redaction.gates import FLAGS, same_engine

    assert FLAGS == PRESIDIO_FLAGS

    class Rec:
        def __init__(self, flags: int | None):
            self.global_regex_flags = flags

    assert same_engine(Rec(FLAGS)) and same_engine(Rec(regex.DOTALL | regex.MULTILINE))
    assert same_engine(object())  # no regex flags: not a regex recognizer (phone)
    for extra in (regex.FULLCASE, regex.VERSION1, regex.WORD):
        assert not same_engine(Rec(FLAGS | extra))
