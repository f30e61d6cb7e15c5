"""The prefilter: which entities could possibly be found in a text, decided without running Presidio.

The rule: a gate is a *necessary* condition, computed with the recognizer's own engine and flags — a piece
that every match of every pattern of the entity contains (every US_SSN pattern has
``[0-9]{3}[- .]?[0-9]{2}[- .]?[0-9]{4}`` in it, every e-mail ``@\\w``), compiled as the recognizer compiles
it. Presidio's ``PatternRecognizer`` (our e-mail, PAN and IBAN recognizers are ones) uses the third-party
``regex`` module with ``DOTALL | MULTILINE | IGNORECASE`` (``FLAGS``); the phone recognizer is phonenumbers'
matcher on stdlib ``re``, so its gate is phonenumbers' own candidate regex. Stdlib ``re`` must not stand in
for ``regex``: its ``\\w`` lacks ~29,000 of ``regex``'s characters (combining marks, ZWJ/ZWNJ, variation
selectors, newer scripts), its ``\\d`` ~110 newer digits, and ``regex`` folds case its own way (``(?i)i``
matches "İ", ``(?i)I`` "ı", ``(?i)k`` the Kelvin sign). So gates keep the recognizers' own classes and
literals (``[A-Z]``, not "a letter"), may drop parts, and never add an anchor or a negative lookaround.
Digits are counted with ``regex``'s ``\\d``, a superset of ``[0-9]`` and of stdlib's ``\\d``. A text is only
analysed for the entities whose gate passes, so what Presidio finds is what running every recognizer finds —
checked on the harness corpus (``tests/processors/test_redaction_engine.py``) and by a differential fuzz test
on Unicode-heavy texts (``tests/processors/redaction/test_gate_fuzz.py``).

Gates are only trusted for the recognizer classes and pattern fingerprints they were derived from (Presidio
2.2.366), compiled with flags within ``FLAGS`` under ``regex``'s version 0. A worker that finds anything else
for an entity (a custom recognizer, an NER model, a changed pattern after an upgrade, other regex flags)
reports the entity as ungated and it is always analysed.

This module imports neither Presidio nor spaCy; gates run in the worker, just before Presidio.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import regex
from phonenumbers.phonenumbermatcher import _PATTERN as PHONE_CANDIDATE  # what PhoneNumberMatcher scans for

from glassbox.processors.words import Words

# PatternRecognizer's default ``global_regex_flags``, which the registry also sets on every recognizer it loads.
FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE


def _rx(pattern: str) -> Any:
    """``pattern`` compiled as Presidio compiles a recognizer's: ``regex``, ``FLAGS``, regex's default version."""
    return regex.compile(pattern, FLAGS)


_RUNS = _rx(r"\d+")


class Features(NamedTuple):
    digits: int  # decimal digits in the text (regex's ``\d``: any script, a superset of stdlib's)
    longest: int  # longest run of consecutive digits


Gate = Callable[[str, Features], bool]  # (text, its digit counts) -> could this entity be found?


def features(text: str) -> Features:
    runs = _RUNS.findall(text)
    return Features(sum(map(len, runs)), max(map(len, runs), default=0))


def _has(pattern: str, digits: int = 0, longest: int = 0, literal: str = "") -> Gate:
    """Gate: at least ``digits`` digits, a run of ``longest``, ``literal`` in the text, and a match of
    ``pattern`` (a piece every recognizer pattern of the entity contains, in the recognizer's own classes).
    Patterns start at a digit or a literal where they can (letters go in lookbehinds after it): a leading
    letter class is tried at every position, several times slower."""
    rx = _rx(pattern)
    return lambda text, f: (
        f.digits >= digits and f.longest >= longest and literal in text and rx.search(text) is not None
    )


def _phone(text: str, f: Features) -> bool:
    # phonenumbers' candidate regex, stdlib re as phonenumbers runs it; it needs a stdlib ``\d``, and every
    # stdlib digit is a regex digit (tests/processors/redaction/test_gate_fuzz.py checks all code points).
    return f.digits > 0 and PHONE_CANDIDATE.search(text) is not None


_IPV4 = _rx(r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]")  # octets are (?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)


def _ip(text: str, f: Features) -> bool:
    # IPv4 forms (also IPv4-embedded IPv6) need d.ddd.ddd.d; IPv6 forms need "::" or all 7 colons (the only
    # form without "::").
    return (f.digits >= 4 and _IPV4.search(text) is not None) or "::" in text or text.count(":") >= 7


_HEX = "[0-9A-Fa-f]"
_MAC = _rx(f"[:-]{_HEX}{{2}}[:-]{_HEX}{{2}}[:-]{_HEX}{{2}}[:-]{_HEX}{{2}}[:-]|\\.{_HEX}{{4}}\\.")  # separators first


def _mac(text: str, f: Features) -> bool:
    return _MAC.search(text) is not None


_DEA = "[abcdefghjklmprstuxABCDEFGHJKLMPRSTUX]"  # MedicalLicenseRecognizer's first character
_TLD_START = "|".join("abcdefghijklmnopqrstuvwxyz")  # TLDs are lowercase literals: fold them as literals

GATES: dict[str, Gate] = {
    "EMAIL_ADDRESS": _has(r"@\w", literal="@"),  # [@]\w+ — regex's \w, ZWJ and combining marks included
    "PHONE_NUMBER": _phone,
    # Presidio's card pattern: 4 [- ]? 3-4 [- ]? 3-4 [- ]? 3-5 \d; glassbox's PAN supplement: 12-19 in a row,
    # groups of 4, or 4-6-4/5. Each starts with 4 \d, [- ]?, 3-6 \d, [- ]?, 3-4 \d.
    "CREDIT_CARD": _has(r"\d{4}[- ]?\d{3,6}[- ]?\d{3,4}", digits=12, longest=3),
    # [A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]{4}){2,6} (the case-sensitive instance matches a subset)
    "IBAN_CODE": _has(r"[0-9]{2}(?<=[A-Z]{2}[0-9]{2})(?:[ -]?[A-Z0-9]{4}){2}", digits=2, longest=2),
    "IP_ADDRESS": _ip,
    # SSN1..5: 5-4, 3-6, 3-2-4, 9 in a row, 3.2.4 with one of "- ." — all of them fit 3[- .]?2[- .]?4.
    "US_SSN": _has(r"[0-9]{3}[- .]?[0-9]{2}[- .]?[0-9]{4}", digits=9, longest=3),
    # 9\d{2} [- ]? (5\d|6[0-5]|7\d|8[0-8]|9([0-2]|[4-9])) [- ]? \d{4}
    "US_ITIN": _has(r"9\d{2}[- ]?[5-9]\d[- ]?\d{4}", digits=9, longest=3),
    "US_PASSPORT": _has(r"[0-9]{8}", longest=8),  # 9 digits, or a letter and 8
    # Every alternative has a letter ([A-Z], H, V, X, R) next to a digit, or 6 digits in a row (or Presidio's
    # typo "A-Z]{2}").
    "US_DRIVER_LICENSE": _has(r"[0-9](?:(?<=(?:[A-Z]|H|V|X)[0-9])|(?<=\][0-9])|(?=[A-Z]|R)|[0-9]{5})", digits=1),
    "US_BANK_NUMBER": _has(r"[0-9]{8}", longest=8),
    "UK_NHS": _has(r"[0-9]{3}[- ]?[0-9]{3}[- ]?[0-9]{4}", digits=10, longest=3),
    "CRYPTO": _has(r"[13][a-zA-HJ-NP-Z0-9]{25}", digits=1),  # (bc1|[13])[a-zA-HJ-NP-Z0-9]{25,59}
    # a DEA letter, then a letter or a 9, then 7 \d
    "MEDICAL_LICENSE": _has(r"\d{7}(?<=(?:" + _DEA + "[a-zA-Z]|" + _DEA + r"9)\d{7})", longest=7),
    "MAC_ADDRESS": _mac,
    "UUID": _has(f"-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-", literal="-"),  # 8-4-4-4-12
    "URL": _has(r"[.](?:" + _TLD_START + ")", literal="."),  # every URL pattern has [.](?:com|...)
    # Every pattern has a digit, "5-JAN" (dd-MMM) only one ([1-9]); "JAN-26" has two, of regex's \d.
    "DATE_TIME": _has("", digits=1),
}

# The recognizers (class name → fingerprint of their patterns) each gate was derived from.
TRUSTED: dict[str, dict[str, str]] = {
    "EMAIL_ADDRESS": {"EmailAnyTldRecognizer": "004723abbb67ff6c"},
    "PHONE_NUMBER": {"GlassboxPhoneRecognizer": "e3b0c44298fc1c14"},
    "CREDIT_CARD": {"CreditCardRecognizer": "f619fa242c932c37", "PanRecognizer": "*"},
    "IBAN_CODE": {"IbanRecognizer": "1f98697e78e08d67"},
    "IP_ADDRESS": {"IpRecognizer": "cfb3dcee56e4ba68", "GlassboxIpRecognizer": "cfb3dcee56e4ba68"},
    "US_SSN": {"UsSsnRecognizer": "400daa2c76cbccfc", "GlassboxSsnRecognizer": "400daa2c76cbccfc"},
    "US_ITIN": {"UsItinRecognizer": "af44300f0806197a"},
    "US_PASSPORT": {"UsPassportRecognizer": "17d2231b678cee52"},
    "US_DRIVER_LICENSE": {"UsLicenseRecognizer": "72240fdaaa632297"},
    "US_BANK_NUMBER": {"UsBankRecognizer": "77ff5492baf67207", "GlassboxBankRecognizer": "77ff5492baf67207"},
    "UK_NHS": {"NhsRecognizer": "d813b701023b5188", "GlassboxNhsRecognizer": "d813b701023b5188"},
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
        if want is None or (want != "*" and want != fingerprint(rec)) or not same_engine(rec):
            return False
    return seen


def same_engine(recognizer: object) -> bool:
    """The recognizer's patterns run as the gates were compiled: ``regex`` version 0 (a default version 1 folds
    case in full: "ß" matches "ss"), with ``FLAGS`` or fewer — fewer flags only remove matches, as no gate has
    an anchor or a negative lookaround. Recognizers without ``global_regex_flags`` (phone) do not use regex."""
    flags = getattr(recognizer, "global_regex_flags", None)
    if flags is None:
        return True
    return regex.DEFAULT_VERSION == regex.VERSION0 and not flags & ~(FLAGS | regex.UNICODE)


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
        alone: bool = False,
    ):
        """``overrides``: entity → a sharper exact test from its recognizer (glassbox's phone recognizer
        knows which candidates no region can verify), used after the gate passes. ``alone``: this runs in a
        redaction worker, the process's only Python thread (the word search may then release the GIL)."""
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
                frozenset(needs_context[e]) if e in needs_context else None,
            )
            for e in self.entities
            if e in gated and e in GATES
        ]
        self.always = tuple(e for e in self.entities if not (e in gated and e in GATES))
        # Every context word of every entity in one automaton: one pass over the text says which occur (the
        # same substring test as ``word in text.lower()``, once instead of once per word and entity).
        self._words = Words((w for _, _, ws in self.gates if ws for w in ws), release_gil=alone)

    def __call__(self, text: str) -> tuple[str, ...]:
        if not self.gates:
            return self.always
        f = features(text)
        present: set[str] | None = None
        out = list(self.always)
        for entity, gate, words in self.gates:
            if words is not None:
                if present is None:
                    present = self._words.present(text.lower())
                if words.isdisjoint(present):
                    continue
            if gate(text, f):
                out.append(entity)
        return tuple(out)
