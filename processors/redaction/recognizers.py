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
"""

from __future__ import annotations

import re
from typing import Any

from presidio_analyzer import EntityRecognizer, Pattern, RecognizerResult
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    PhoneRecognizer,
)

_NUMERIC_TLD = re.compile(r"\.\d+$")


class EmailAnyTldRecognizer(EmailRecognizer):
    def __init__(self, **kwargs: Any):
        kwargs.setdefault("name", "EmailAnyTldRecognizer")
        super().__init__(**kwargs)

    def validate_result(self, pattern_text: str) -> bool | None:
        if super().validate_result(pattern_text):  # Presidio's check: a public suffix → score 1.0
            return True
        domain = pattern_text.rpartition("@")[2]
        return False if _NUMERIC_TLD.search(domain) else None  # any other alphabetic TLD: pattern score


def case_sensitive_iban() -> IbanRecognizer:
    return IbanRecognizer(name="IbanRecognizerCaseSensitive")


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
