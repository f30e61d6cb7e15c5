"""Overlapping findings resolved to one entity, so the findings reported (the ``pii.type`` tags) are exactly
what the anonymizer replaced.

Presidio returns every recognizer's match; its anonymizer then keeps, per overlap, whichever scores higher,
so a US phone number that also passes the UK NHS checksum was tagged ``uk_nhs`` while the text said
``<PHONE_NUMBER>``. ``resolve`` runs on the analyzer's results, before the anonymizer.

The order, first wins:

1. a checksum over the whole value: IBAN_CODE (mod 97; a Luhn-valid digit run inside an IBAN is not a card),
   CREDIT_CARD (Luhn), CRYPTO;
2. specific shapes: EMAIL_ADDRESS, US_ITIN and US_SSN written with separators, IP_ADDRESS, MAC_ADDRESS, UUID,
   UK_NHS with an NHS word near (``NHS_CONTEXT``), URL;
3. any other entity (PERSON, LOCATION, ... from NER; custom recognizers);
4. generic digit runs. First one that spans the whole group ("+44 306 9990261" is a phone number, not the
   licence-shaped digits inside it); then those whose own context words were found (Presidio's enhancer
   lifted the score to ``CONFIRMED`` or more: "account" for a bank number, "phone" for a phone number); then
   by kind: US_SSN and US_ITIN without separators (an SSN needs its context words, ``recognizers.py``),
   US_DRIVER_LICENSE, MEDICAL_LICENSE, US_BANK_NUMBER ("account number" lifts a phone finding too, and a
   bank number only exists with its words), UK_NHS (mod 11 only: one 10-digit number in eleven passes),
   PHONE_NUMBER, UK_NHS on a valid North American number (``NANP``: it is the phone number), US_PASSPORT
   (its context words include "us", found in "use", "just", "business"), DATE_TIME.

Ties: higher score, then the longer span. Each group of (transitively) overlapping results becomes one result
labelled with the winner and spanning the whole group, so every character any recognizer flagged is still
replaced. This module imports nothing from Presidio (the relay process imports ``analyzer.py`` and never
loads Presidio).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

# recognition_metadata keys set by recognizers.GlassboxNhsRecognizer on a UK_NHS result
NANP = "glassbox_nanp"  # the digits are a valid North American number and no NHS word is near
NHS_CONTEXT = "glassbox_nhs_context"  # an NHS context word is near

_TIERS: tuple[tuple[str, ...], ...] = (
    ("IBAN_CODE", "CREDIT_CARD", "CRYPTO"),
    ("EMAIL_ADDRESS", "US_ITIN", "US_SSN", "IP_ADDRESS", "MAC_ADDRESS", "UUID", "UK_NHS", "URL"),
    (),  # every entity not listed
    (
        "US_SSN/bare",
        "US_ITIN/bare",
        "US_DRIVER_LICENSE",
        "MEDICAL_LICENSE",
        "US_BANK_NUMBER",
        "UK_NHS/checksum",
        "PHONE_NUMBER",
        "UK_NHS/nanp",
        "US_PASSPORT",
        "DATE_TIME",
    ),
)
_RANK = {kind: (len(_TIERS) - tier, -i) for tier, kinds in enumerate(_TIERS) for i, kind in enumerate(kinds)}
_OTHER = (len(_TIERS) - 2, 0)
_GENERIC = len(_TIERS) - 3
# The score at which a generic result had its context words (Presidio's enhancer adds 0.35 and lifts a boosted
# result to at least 0.4; these patterns score below 0.4, the phone recognizer 0.4). A UK_NHS or DATE_TIME
# score says nothing about context.
CONFIRMED = {"PHONE_NUMBER": 0.75, "UK_NHS/checksum": 2.0, "UK_NHS/nanp": 2.0, "DATE_TIME": 2.0}
_DEFAULT_CONFIRMED = 0.4


def _kind(result: Any) -> str:
    entity: str = result.entity_type
    if entity in ("US_SSN", "US_ITIN") and result.end - result.start != 11:  # 3-2-4 with separators: 11 chars
        return entity + "/bare"
    if entity == "UK_NHS":
        metadata = result.recognition_metadata or {}
        if metadata.get(NANP):
            return "UK_NHS/nanp"
        if not metadata.get(NHS_CONTEXT):
            return "UK_NHS/checksum"
    return entity


def _rank(result: Any, start: int, end: int) -> tuple[int, bool, bool, int, float, int]:
    kind = _kind(result)
    tier, position = _RANK.get(kind, _OTHER)
    generic = tier == _GENERIC
    covers = generic and result.start == start and result.end == end
    confirmed = generic and result.score >= CONFIRMED.get(kind, _DEFAULT_CONFIRMED) - 1e-9
    return tier, covers, confirmed, position, result.score, result.end - result.start


def resolve(results: Iterable[Any]) -> list[Any]:
    """Presidio ``RecognizerResult``s → no two overlapping, sorted by position (the order in the docstring).

    A result that overlaps no other is returned as it is; a winner whose span grows is a copy."""
    out: list[Any] = []
    group: list[Any] = []
    group_end = -1
    for result in sorted(results, key=lambda r: (r.start, r.end)):
        if group and result.start < group_end:
            group.append(result)
            group_end = max(group_end, result.end)
            continue
        if group:
            out.append(_merge(group))
        group, group_end = [result], result.end
    if group:
        out.append(_merge(group))
    return out


def _merge(group: list[Any]) -> Any:
    if len(group) == 1:
        return group[0]
    start, end = min(r.start for r in group), max(r.end for r in group)
    winner = max(group, key=lambda r: _rank(r, start, end))
    if (winner.start, winner.end) == (start, end):
        return winner
    merged = copy.copy(winner)
    merged.start, merged.end = start, end
    merged.recognition_metadata = dict(winner.recognition_metadata or {})
    return merged
