"""Recognizers glassbox adds to Presidio's, each a thin subclass so Presidio's validation and context apply.

* ``EmailAnyTldRecognizer`` (replaces ``EmailRecognizer``): Presidio's e-mail pattern and check, but an
  address whose domain is not on the public suffix list (``support@shop.example``, ``ana@corp.internal``) is
  still an address: Presidio drops it, this keeps it at the pattern's score (0.5); public suffixes still get
  1.0. Domains ending in a number (``react@18.2.0``, ``python@3.11``) stay rejected.
* ``case_sensitive_iban()``: Presidio's ``IbanRecognizer`` with its own default flags. The registry compiles
  every pattern with IGNORECASE, and then the IBAN pattern's optional trailing groups swallow the next word
  ("ES15… email" fails the checksum and the IBAN is lost); this instance runs beside the registry's.

* ``PanRecognizer``: card numbers Presidio's ``CreditCardRecognizer`` pattern cannot match — Mastercard's
  2221–2720 range, 12-digit Maestro, 18–19 digit PANs (Visa 19), JCB 2131/1800 — contiguous or grouped by
  spaces/hyphens. Same Luhn check (``validate_result``) and context words as Presidio's; a number that fails
  Luhn is dropped, exactly as Presidio does.
* ``GlassboxPhoneRecognizer``: Presidio's ``PhoneRecognizer`` (regions from config) whose phonenumbers matcher
  remembers per-candidate verdicts (``phone.MemoMatcher``), so the 8 default regions stop re-parsing the
  same "2", "2026" or "12/05" in every text.

Fewer false positives (issue 9), each a subclass with Presidio's patterns unchanged, so the prefilter's gates
still hold (``gates.TRUSTED``); a recognizer only drops or marks what Presidio's would have found:

* ``EmailAnyTldRecognizer`` also drops SSH remotes: ``git@github.com``, ``git@host:org/repo.git``,
  ``ssh://hg@host/...`` — a service account (git, hg, ...) on a code host or in remote syntax, not a mailbox.
  ``git@example.com`` in prose is still an e-mail.
* ``GlassboxSsnRecognizer``: a ZIP+4 (``94105-1234``, Presidio's "SSN1" shape) is never an SSN, nor a match
  inside a longer dashed or dotted number (``011-15-2345-0221``); 9 digits in a row (order, passport, bank
  numbers look the same) only with an SSN context word near. SSNs written with separators are found as
  before.
* ``GlassboxIpRecognizer``: a dotted quad inside a longer dotted number (``1.2.3.4.5``) or after a version
  cue (``version 4.1.12.3``, ``upgraded the agent to 4.1.12.3``, ``==4.1.12.3``, ``4.1.12.3-beta``) is a
  version, unless an IP word (ip, host, server, ...) is right before it.
* ``GlassboxBankRecognizer``: Presidio's context words without "check" (it matches "can you check order
  12345678"); "checking" stays. Overlaps with a card number are resolved in ``overlaps.resolve``.
* ``GlassboxNhsRecognizer``: one 10-digit number in eleven passes the NHS checksum, US phone numbers too; a
  match with an NHS word near is marked ``overlaps.NHS_CONTEXT``, one that is a valid North American number
  without one ``overlaps.NANP``, so ``overlaps.resolve`` can tell an NHS number from a phone or bank number
  on the same digits. Nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from presidio_analyzer import EntityRecognizer, Pattern, RecognizerResult
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    NhsRecognizer,
    PhoneRecognizer,
    UsBankRecognizer,
    UsSsnRecognizer,
)
from spacy.lang.en.stop_words import STOP_WORDS

from glassbox.processors.redaction.overlaps import NANP, NHS_CONTEXT

_NUMERIC_TLD = re.compile(r"\.\d+$")
# Words as glassbox's context tokenizer reads them (nlp._TOKEN): "536-22-8741" and "e-mail" are one word.
_WORD = re.compile(r"\w+(?:[.@'’\-/]\w+)*")
_SENTENCE_END = re.compile(r"[.!?;](?:\s|$)")


def context_near(text: str, start: int, end: int, words: Iterable[str], window: tuple[int, int] = (5, 3)) -> bool:
    """Whether a context word is among the ``window`` = (before, after) words around ``text[start:end]``, as
    Presidio's context enhancer decides it (a context word inside a word, stop words not counted), read off the
    text so it is the same with or without an NLP model. A context phrase ("social security") must appear as
    written in the words of the window."""
    before, after = window
    kept_before = _words(text[max(0, start - 64 * (before + 1)) : start], before, reverse=True)
    kept_after = _words(text[end : end + 64 * (after + 1)], after, reverse=False)
    kept = kept_before + kept_after
    joined = " ".join(kept)
    return any((w in joined) if " " in w else any(w in k for k in kept) for w in words)


def _words(chunk: str, n: int, reverse: bool) -> list[str]:
    found = [w.lower() for w in _WORD.findall(chunk)]
    if reverse:
        found.reverse()
    out: list[str] = []
    for w in found:
        if len(out) >= n:
            break
        if w not in STOP_WORDS:
            out.append(w)
    return out


# Service accounts that SSH remotes use (git@github.com, hg@bitbucket.org, aur@aur.archlinux.org) and the code
# hosts where user@host is always a remote, never a mailbox.
SSH_USERS = frozenset({"git", "hg", "aur", "gitea", "forgejo", "gogs"})
CODE_HOSTS = frozenset(
    {
        "github.com",
        "ssh.github.com",
        "gitlab.com",
        "altssh.gitlab.com",
        "bitbucket.org",
        "altssh.bitbucket.org",
        "ssh.dev.azure.com",
        "vs-ssh.visualstudio.com",
        "codeberg.org",
        "git.sr.ht",
        "hg.sr.ht",
        "gitee.com",
        "heroku.com",
        "aur.archlinux.org",
    }
)
_REMOTE_PATH = re.compile(r":[\w~./-]")  # git@host:org/repo.git (scp-like syntax)


def ssh_remote(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` (an e-mail match) is the user@host of an SSH remote: a service account on a code
    host, or in remote syntax (``ssh://`` before it, ``:path`` right after)."""
    user, _, host = text[start:end].rpartition("@")
    if user.lower() not in SSH_USERS:
        return False
    return (
        host.lower() in CODE_HOSTS
        or _REMOTE_PATH.match(text, end) is not None
        or text[max(0, start - 6) : start].lower().endswith("ssh://")
    )


class EmailAnyTldRecognizer(EmailRecognizer):
    def __init__(self, **kwargs: Any):
        kwargs.setdefault("name", "EmailAnyTldRecognizer")
        super().__init__(**kwargs)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: int | None = None
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [r for r in results if not ssh_remote(text, r.start, r.end)]

    def validate_result(self, pattern_text: str) -> bool | None:
        if super().validate_result(pattern_text):  # Presidio's check: a public suffix → score 1.0
            return True
        domain = pattern_text.rpartition("@")[2]
        return False if _NUMERIC_TLD.search(domain) else None  # any other alphabetic TLD: pattern score


def case_sensitive_iban() -> IbanRecognizer:
    return IbanRecognizer(name="IbanRecognizerCaseSensitive")


_ZIP4 = re.compile(r"[0-9]{5}-[0-9]{4}")
_NINE = re.compile(r"[0-9]{9}")
_GROUP_BEFORE = re.compile(r"[0-9][-.]$")
_GROUP_AFTER = re.compile(r"[-.][0-9]")


class GlassboxSsnRecognizer(UsSsnRecognizer):
    """Presidio's US_SSN recognizer without its two noisiest shapes (see the module docstring)."""

    def __init__(self, context_window: tuple[int, int] = (5, 3), **kwargs: Any):
        kwargs.setdefault("name", "GlassboxSsnRecognizer")
        super().__init__(**kwargs)
        self.context_window = context_window

    def invalidate_result(self, pattern_text: str) -> bool:
        return _ZIP4.fullmatch(pattern_text) is not None or super().invalidate_result(pattern_text)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: int | None = None
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [
            r
            for r in results
            if not _longer_number(text, r.start, r.end)
            and (
                _NINE.fullmatch(text, r.start, r.end) is None
                or context_near(text, r.start, r.end, self.context, self.context_window)
            )
        ]


def _longer_number(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` continues with another digit group (``011-15-2345-0221``, ``1.536.22.8741``)."""
    return _GROUP_BEFORE.search(text, max(0, start - 2), start) is not None or _GROUP_AFTER.match(text, end) is not None


_LONGER_BEFORE = re.compile(r"[0-9]\.$")
_LONGER_AFTER = re.compile(r"\.[0-9]")
_PRERELEASE = re.compile(r"[-+_.]?(?:alpha|beta|rc|dev|post|pre|snapshot|final)(?![^\W\d_])", re.IGNORECASE)
# A version noun right before the number ("version 4.1.12.3", "v 4.1.12.3", "release: 4.1.12.3", "pkg==4.1.12.3").
_VERSION_NOUN = re.compile(
    r"(?:\b(?:v|ver|version|versions|release|build|rev|revision|firmware|fw|sdk|patch|tag)\b\.?"
    r"(?:\s*[:=#]\s*|\s+(?:is|of|to)\s+|\s+)|[=~<>]=\s*)$",
    re.IGNORECASE,
)
# "upgraded the agent to 4.1.12.3", "bumped it to 4.1.12.3": a version verb, at most 4 words, then "to".
_VERSION_VERB = re.compile(
    r"\b(?:upgrad|updat|bump|downgrad|roll(?:ed)?\s+back)\w*((?:\s+[\w'-]+){0,4}?)\s+to\s+$", re.IGNORECASE
)
# Words that make the number an address wherever a version cue is (kept as IP_ADDRESS).
IP_WORDS = frozenset(
    {
        "ip",
        "ipv4",
        "ips",
        "address",
        "addr",
        "host",
        "hostname",
        "server",
        "node",
        "dns",
        "record",
        "gateway",
        "proxy",
        "router",
        "subnet",
        "endpoint",
        "vpn",
        "client",
        "peer",
        "machine",
        "box",
        "instance",
    }
)


class GlassboxIpRecognizer(IpRecognizer):
    """Presidio's IP_ADDRESS recognizer; a dotted quad that reads as a version is dropped (module docstring)."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("name", "GlassboxIpRecognizer")
        super().__init__(**kwargs)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: int | None = None
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [r for r in results if not version_number(text, r.start, r.end)]


def version_number(text: str, start: int, end: int) -> bool:
    """``text[start:end]``, an IPv4 match, is a version string rather than an address."""
    if ":" in text[start:end]:  # IPv6 forms
        return False
    if _LONGER_BEFORE.search(text, max(0, start - 2), start) or _LONGER_AFTER.match(text, end):
        return True  # a fifth dot group: 1.2.3.4.5, 10.2.0.1.7
    if _PRERELEASE.match(text, end):
        return True
    head = text[max(0, start - 80) : start]
    cut = [m.end() for m in _SENTENCE_END.finditer(head)]
    head = head[cut[-1] :] if cut else head
    words = [w.lower() for w in re.findall(r"[^\W\d_]+", head)]
    if words and words[-1] in IP_WORDS:
        return False
    if _VERSION_NOUN.search(head):
        return True
    verb = _VERSION_VERB.search(head)
    return verb is not None and not any(w.lower() in IP_WORDS for w in re.findall(r"[^\W\d_]+", verb.group(1)))


class GlassboxBankRecognizer(UsBankRecognizer):
    """Presidio's US_BANK_NUMBER recognizer; "check" is no longer a context word (module docstring)."""

    CONTEXT = [w for w in UsBankRecognizer.CONTEXT if w != "check"] + ["checking"]

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("name", "GlassboxBankRecognizer")
        super().__init__(**kwargs)


class GlassboxNhsRecognizer(NhsRecognizer):
    """Presidio's UK_NHS recognizer; marks what its context and the digits say (module docstring)."""

    def __init__(self, context_window: tuple[int, int] = (5, 3), **kwargs: Any):
        kwargs.setdefault("name", "GlassboxNhsRecognizer")
        super().__init__(**kwargs)
        self.context_window = context_window

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: int | None = None
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for r in results:
            if context_near(text, r.start, r.end, self.context, self.context_window):
                r.recognition_metadata[NHS_CONTEXT] = True
            elif north_american(text[r.start : r.end]):
                r.recognition_metadata[NANP] = True
        return results


def north_american(number: str) -> bool:
    """A valid +1 (NANP: US, Canada, Caribbean) number, per phonenumbers' metadata."""
    import phonenumbers

    digits = "".join(c for c in number if c.isdigit())
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse("+1" + digits)))
    except phonenumbers.NumberParseException:
        return False


class PanRecognizer(CreditCardRecognizer):
    PATTERNS = [
        Pattern("PAN contiguous 12-19 (glassbox)", r"\b[1-6]\d{11,18}\b", 0.3),
        Pattern("PAN groups of 4 (glassbox)", r"\b[1-6]\d{3}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?\b", 0.3),
        Pattern("PAN 4-6-4/5 (glassbox)", r"\b3\d{3}[ -]\d{6}[ -]\d{4,5}\b", 0.3),
    ]

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("patterns", [Pattern(p.name, p.regex, p.score) for p in self.PATTERNS])
        kwargs.setdefault("name", "PanRecognizer")
        super().__init__(**kwargs)


class GlassboxPhoneRecognizer(PhoneRecognizer):
    """``PhoneRecognizer.analyze`` as in Presidio 2.2.366, with the memoizing matcher (which never stops early),
    plus (both on by default, off gives stock Presidio's matches):

    * ``context_regions``: after a phone word (call, tel, mobile, whatsapp, …) a national-format number of
      *any* region is found, not only of ``supported_regions`` (``phone.context_matches``);
    * ``lookalikes``: matches that are labelled or shaped as something else (order/invoice/SKU numbers, epoch
      timestamps, ISBNs, coordinates, IPv4 addresses) are dropped (``phone.lookalike``)."""

    def __init__(
        self, *args: Any, memo_size: int = 10_000, context_regions: bool = True, lookalikes: bool = True, **kwargs: Any
    ):
        from glassbox.processors.redaction.phone import MemoMatcher, TextScan, min_digits

        self._scan = TextScan

        kwargs.setdefault("name", "PhoneRecognizer")
        super().__init__(*args, **kwargs)
        leniency = self.leniency if self.leniency is not None else 1  # Presidio's default (phonenumbers VALID)
        self._leniency = leniency
        self._matchers = {region: MemoMatcher.factory(region, leniency, memo_size) for region in self.supported_regions}
        floors = [min_digits(region, leniency) for region in self.supported_regions]
        self._floor = min(floors) if floors and all(floors) else 0
        self._checks = tuple(m.check for m in self._matchers.values())  # type: ignore[attr-defined]
        self._context_regions = context_regions
        if context_regions:  # every region's check, built at startup (~0.15 s), not on the first phone word
            from glassbox.processors.redaction.phone import warm_context_checks

            warm_context_checks()
        self._lookalikes = lookalikes
        self._configured = frozenset(self.supported_regions)
        self._last: Any = None
        self._last_windows: tuple[str, list[tuple[int, int]]] | None = None

    def scan(self, text: str) -> Any:
        """The text's shared candidate scan (kept for the ``analyze`` call that follows the prefilter)."""
        last = self._last
        if last is not None and last.text is text:
            return last
        self._last = self._scan(text, self._floor, self._checks)
        return self._last

    def windows(self, text: str) -> list[tuple[int, int]]:
        """The text's phone-word windows (kept, like ``scan``, for the ``analyze`` call after the prefilter)."""
        from glassbox.processors.redaction.phone import context_windows

        last = self._last_windows
        if last is not None and last[0] is text:
            return last[1]
        found = context_windows(text) if self._context_regions else []
        self._last_windows = (text, found)
        return found

    def could_match(self, text: str) -> bool:
        """Necessary for a finding (the prefilter's phone gate): a candidate some configured region could verify,
        or a candidate in a phone word's window (all that ``context_matches`` reads)."""
        return self.scan(text).search(0) is not None or bool(self.windows(text))

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        from glassbox.processors.redaction.phone import context_matches, lookalike

        results: list[RecognizerResult] = []
        scan = self.scan(text)
        self._last = None
        if scan.search(0) is not None:  # else no configured region could verify a candidate: all would find nothing
            for region in self.supported_regions:
                for match in self._matchers[region](scan):
                    results.append(self._get_recognizer_result(match, text, region, nlp_artifacts))
        windows = self.windows(text)
        self._last_windows = None
        if windows:
            covered = [(r.start, r.end) for r in results]
            for match, region in context_matches(text, windows, self._configured, self._leniency, covered):
                results.append(self._get_recognizer_result(match, text, region, nlp_artifacts))
        if self._lookalikes:
            results = [r for r in results if lookalike(text, r.start, r.end) is None]
        return EntityRecognizer.remove_duplicates(results)
