"""The prefilter: which entities could possibly be found in a text, decided without running Presidio.

Each gate is a *necessary* condition read off the recognizers' own patterns (e.g. every US_SSN pattern needs
nine digits; every e-mail needs an ``@``; a phone number needs a candidate of phonenumbers' own candidate
regex, the exact one ``PhoneNumberMatcher`` scans with). A text is only analysed for the entities whose gate
passes, so Presidio's results on what does run are identical to running every recognizer — checked by
``tests/processors/test_redaction_engine.py`` on the harness corpus. Digits are counted with ``\\d`` (every
Unicode decimal digit), a superset of the ``[0-9]`` most patterns use, so counts never undershoot.

Gates are only trusted for the recognizer classes and pattern fingerprints they were derived from (Presidio
2.2.366). A worker that finds anything else for an entity (a custom recognizer, an NER model, a changed
pattern after an upgrade) reports the entity as ungated and it is always analysed.

This module imports neither Presidio nor spaCy; gates run in the worker, just before Presidio.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from phonenumbers.phonenumbermatcher import _PATTERN as PHONE_CANDIDATE  # what PhoneNumberMatcher scans for

_RUNS = re.compile(r"\d+")
_L = r"[^\W\d_]"  # any letter: patterns use [A-Z] with IGNORECASE, which also folds letters like K (Kelvin)


class Features(NamedTuple):
    digits: int  # decimal digits in the text (any script: ``\d``)
    longest: int  # longest run of consecutive digits


Gate = Callable[[str, Features], bool]  # (text, its digit counts) -> could this entity be found?


def features(text: str) -> Features:
    runs = _RUNS.findall(text)
    return Features(sum(map(len, runs)), max(map(len, runs), default=0))


def _has(pattern: str, digits: int = 0, longest: int = 0, literal: str = "") -> Gate:
    """Gate: at least ``digits`` digits, a run of ``longest``, ``literal`` in the text, and a match of
    ``pattern`` (a relaxation every recognizer pattern of the entity contains). Patterns start at a digit or a
    literal where they can (letters go in lookbehinds after it): stdlib ``re`` scans a leading
    ``[^\\W\\d_]`` class at every position, ten times slower."""
    rx = re.compile(pattern)
    return lambda text, f: (
        f.digits >= digits and f.longest >= longest and literal in text and rx.search(text) is not None
    )


def _phone(text: str, f: Features) -> bool:
    return f.digits > 0 and PHONE_CANDIDATE.search(text) is not None


_IPV4 = re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d")


def _ip(text: str, f: Features) -> bool:
    # IPv4 forms (also IPv4-embedded IPv6) need d.ddd.ddd.d; IPv6 forms need "::" or all 7 colons (the only
    # form without "::").
    return (f.digits >= 4 and _IPV4.search(text) is not None) or "::" in text or text.count(":") >= 7


_MAC = re.compile(r"[:-]\w\w[:-]\w\w[:-]\w\w[:-]\w\w[:-]|\.\w{4}\.")  # 6 pairs / 3 quads, separators first


def _mac(text: str, f: Features) -> bool:
    return _MAC.search(text) is not None


GATES: dict[str, Gate] = {
    "EMAIL_ADDRESS": _has(r"@\w", literal="@"),  # the domain starts with \w+
    "PHONE_NUMBER": _phone,
    # Presidio's card pattern: 4 [- ]? 3-4 [- ]? 3-4 [- ]? 3-5 digits; glassbox's PAN supplement: 12-19 in a
    # row, groups of 4, or 4-6-4/5. Each starts with 4 digits, [- ]?, 3-6 digits, [- ]?, 3-4 digits.
    "CREDIT_CARD": _has(r"\d{4}[- ]?\d{3,6}[- ]?\d{3,4}", digits=12, longest=3),
    "IBAN_CODE": _has(r"\d\d(?<=" + _L + _L + r"\d\d)", digits=2, longest=2),  # two letters, two digits
    "IP_ADDRESS": _ip,
    # SSN1..5: 5-4, 3-6, 3-2-4, 9 in a row, 3.2.4 with one of "- ." — all of them fit 3[- .]?2[- .]?4.
    "US_SSN": _has(r"\d{3}[- .]?\d{2}[- .]?\d{4}", digits=9, longest=3),
    "US_ITIN": _has(r"9\d{2}[- ]?\d{2}[- ]?\d{4}", digits=9, longest=3),
    "US_PASSPORT": _has(r"\d{8}", longest=8),  # 9 digits, or a letter and 8
    # Every alternative has a letter next to a digit, or 6 digits in a row (or Presidio's typo "A-Z]{2}").
    "US_DRIVER_LICENSE": _has(r"\d(?:(?<=" + _L + r"\d)|(?<=\]\d)|(?=" + _L + r")|\d{5})", digits=1),
    "US_BANK_NUMBER": _has(r"\d{8}", longest=8),
    "UK_NHS": _has(r"\d{3}[- ]?\d{3}[- ]?\d{4}", digits=10, longest=3),
    "CRYPTO": _has(r"[13]\w{25}", digits=1),  # (bc1|[13]) + 25 or more of [a-zA-HJ-NP-Z0-9]
    # two letters, or a letter and a 9, then 7 digits
    "MEDICAL_LICENSE": _has(r"\d{7}(?<=(?:" + _L + _L + "|" + _L + r"9)\d{7})", longest=7),
    "MAC_ADDRESS": _mac,
    "UUID": _has(r"-\w{4}-\w{4}-\w{4}-", literal="-"),  # 8-4-4-4-12
    "URL": _has(r"\." + _L, literal="."),  # every URL pattern needs "[.]" and a TLD (letters)
    "DATE_TIME": _has(r"\d", digits=2),
}

# The recognizers (class name → fingerprint of their patterns) each gate was derived from.
TRUSTED: dict[str, dict[str, str]] = {
    "EMAIL_ADDRESS": {"EmailAnyTldRecognizer": "004723abbb67ff6c"},
    "PHONE_NUMBER": {"GlassboxPhoneRecognizer": "e3b0c44298fc1c14"},
    "CREDIT_CARD": {"CreditCardRecognizer": "f619fa242c932c37", "PanRecognizer": "*"},
    "IBAN_CODE": {"IbanRecognizer": "1f98697e78e08d67"},
    "IP_ADDRESS": {"IpRecognizer": "cfb3dcee56e4ba68"},
    "US_SSN": {"UsSsnRecognizer": "400daa2c76cbccfc"},
    "US_ITIN": {"UsItinRecognizer": "af44300f0806197a"},
    "US_PASSPORT": {"UsPassportRecognizer": "17d2231b678cee52"},
    "US_DRIVER_LICENSE": {"UsLicenseRecognizer": "72240fdaaa632297"},
    "US_BANK_NUMBER": {"UsBankRecognizer": "77ff5492baf67207"},
    "UK_NHS": {"NhsRecognizer": "d813b701023b5188"},
    "CRYPTO": {"CryptoRecognizer": "9d9a993fd6aee894"},
    "MEDICAL_LICENSE": {"MedicalLicenseRecognizer": "8b00da21c7ca480a"},
    "MAC_ADDRESS": {"MacAddressRecognizer": "29b78c23d14de7ad"},
    "UUID": {"UuidRecognizer": "829f95c95367c972"},
    "URL": {"UrlRecognizer": "58b9dd4a6a951039"},
    "DATE_TIME": {"DateRecognizer": "fff22af26e61ae48"},
}


def fingerprint(recognizer: object) -> str:
    patterns = getattr(recognizer, "patterns", None) or []
    return hashlib.sha256("|".join(p.regex for p in patterns).encode()).hexdigest()[:16]


def trusted(entity: str, recognizers: Iterable[object]) -> bool:
    """Whether ``entity``'s gate is sound for exactly these recognizers (all of the entity's recognizers)."""
    expected = TRUSTED.get(entity)
    if expected is None:
        return False
    seen = False
    for rec in recognizers:
        seen = True
        want = expected.get(type(rec).__name__)
        if want is None or (want != "*" and want != fingerprint(rec)):
            return False
    return seen


class Prefilter:
    """Maps a text to the entities worth analysing it for; ungated entities are always included.

    ``needs_context`` (entity → context words) is for entities whose every pattern scores below the entity's
    threshold, so only Presidio's context boost can keep a result: with glassbox's tokenizer (lemma = lowercase
    word) a boost needs a context word inside a lowercase token, hence inside the lowercase text. No word, no
    result — the entity is not analysed. An empty word list means no result can ever pass.
    """

    def __init__(
        self,
        entities: Iterable[str],
        gated: Iterable[str],
        needs_context: Mapping[str, Sequence[str]] | None = None,
        overrides: dict[str, Callable[[str], bool]] | None = None,
    ):
        """``overrides``: entity → a sharper exact test from its recognizer (glassbox's phone recognizer
        knows which candidates no region can verify), used after the gate passes."""
        gated = set(gated)
        needs_context = needs_context or {}
        overrides = overrides or {}
        self.entities = tuple(entities)

        def sharpen(gate: Gate, test: Callable[[str], bool]) -> Gate:
            return lambda text, f: gate(text, f) and test(text)

        self.gates = [
            (
                e,
                sharpen(GATES[e], overrides[e]) if e in overrides else GATES[e],
                tuple(needs_context[e]) if e in needs_context else None,
            )
            for e in self.entities
            if e in gated and e in GATES
        ]
        self.always = tuple(e for e in self.entities if not (e in gated and e in GATES))

    def __call__(self, text: str) -> tuple[str, ...]:
        if not self.gates:
            return self.always
        f = features(text)
        lower: str | None = None
        out = list(self.always)
        for entity, gate, words in self.gates:
            if words is not None:
                if not words:
                    continue
                if lower is None:
                    lower = text.lower()
                if not any(w in lower for w in words):
                    continue
            if gate(text, f):
                out.append(entity)
        return tuple(out)
