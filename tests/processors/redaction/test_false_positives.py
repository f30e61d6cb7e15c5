"""Issue 9's false positives are gone and the true values next to them are still found; overlapping findings
resolve to one entity, and what is tagged is what was replaced (``recognizers.py``, ``overlaps.py``).

Real Presidio through the ``Redactor`` the workers run (default configuration, in this process)."""

from __future__ import annotations

import re

import pytest
from presidio_analyzer import RecognizerResult

from glassbox.collector.intake import normalize
from glassbox.processors import model as M
from glassbox.processors.redaction.config import RedactionConfig
from glassbox.processors.redaction.overlaps import NANP, resolve
from glassbox.processors.redaction.processor import RedactionProcessor
from tests.processors.conftest import chat_span, trace_request

IBAN_WITH_LUHN_DIGITS = "FR43 6673 4298 2147 4222 7556 308"  # "6673 4298 2147 4222" passes Luhn

# (text, entity that must not be found in it)
NOT_PII = [
    ("My order number is 482913756.", "US_SSN"),
    ('{"order_id": 731846205, "status": "shipped"}', "US_SSN"),
    ("Ship it to ZIP 94105-1234 please.", "US_SSN"),
    ("The ZIP+4 on the label is 10001-4356.", "US_SSN"),
    ("My phone number is 011-15-2345-0221.", "US_SSN"),
    ("Upgraded to 4.1.12.3 yesterday.", "IP_ADDRESS"),
    ("Upgraded the agent to 4.1.12.3 last night.", "IP_ADDRESS"),
    ("The kiosk runs version 10.2.0.1 of the firmware.", "IP_ADDRESS"),
    ("build 1.2.3.4.5 fixed the crash", "IP_ADDRESS"),
    ("pip install oakly-sdk==2.0.1.4", "IP_ADDRESS"),
    ("release 4.1.12.3-beta is out", "IP_ADDRESS"),
    ("git clone git@github.com:oakandpine/shop.git", "EMAIL_ADDRESS"),
    ("remote: ssh://git@gitlab.com/oakandpine/guides.git", "EMAIL_ADDRESS"),
    ("git push git@git.internal.example:team/kiosk.git main", "EMAIL_ADDRESS"),
    ("add the deploy key to git@github.com first", "EMAIL_ADDRESS"),
    ("hg clone ssh://hg@bitbucket.org/oak/repo", "EMAIL_ADDRESS"),
    ("Please check card 4111111111111111 again.", "US_BANK_NUMBER"),
    ("Can you check order 48291375 again?", "US_BANK_NUMBER"),
    ("Call 212-555-0199 now.", "UK_NHS"),
    (f"Wire the refund to IBAN {IBAN_WITH_LUHN_DIGITS}.", "CREDIT_CARD"),
]

# (text, the value, its entity): each still found, as that entity
PII = [
    ("SSN 536-22-8741 (billing ZIP 94105-1234)", "536-22-8741", "US_SSN"),
    ("536-22-8741", "536-22-8741", "US_SSN"),
    ("ssn 536 22 8741", "536 22 8741", "US_SSN"),
    ("my ssn is 536228741", "536228741", "US_SSN"),
    ("social security number: 536228741", "536228741", "US_SSN"),
    ("The request came from 10.0.0.5.", "10.0.0.5", "IP_ADDRESS"),
    ("ip=192.168.1.1", "192.168.1.1", "IP_ADDRESS"),
    ("Upgraded to 4.1.12.3 but host 10.0.0.5 still runs version 4.0.9.1.", "10.0.0.5", "IP_ADDRESS"),
    ("Updated the DNS record to 203.0.113.42", "203.0.113.42", "IP_ADDRESS"),
    ("The version is fine. 10.0.0.5 is the host.", "10.0.0.5", "IP_ADDRESS"),
    ("fe80::1 answered", "fe80::1", "IP_ADDRESS"),
    ("ana.lopez@example.com", "ana.lopez@example.com", "EMAIL_ADDRESS"),
    ("git@example.com is our bot's mailbox", "git@example.com", "EMAIL_ADDRESS"),
    (
        "Push to git@github.com:oak/shop.git and email dana@oakandpine.example.",
        "dana@oakandpine.example",
        "EMAIL_ADDRESS",
    ),
    ("scp notes.txt ana@build.example:/tmp", "ana@build.example", "EMAIL_ADDRESS"),
    ("My checking account number is 12345678.", "12345678", "US_BANK_NUMBER"),
    ("Please check account 4549393625 for the refund.", "4549393625", "US_BANK_NUMBER"),
    ("Use account 6884470653 for the refund.", "6884470653", "US_BANK_NUMBER"),
    ("Please check card 4111 1111 1111 1111 again.", "4111 1111 1111 1111", "CREDIT_CARD"),
    (f"My bank account is {IBAN_WITH_LUHN_DIGITS}.", IBAN_WITH_LUHN_DIGITS, "IBAN_CODE"),
    ("nhs number 943 476 5919", "943 476 5919", "UK_NHS"),
    ("Call 212-555-0199 now.", "212-555-0199", "PHONE_NUMBER"),
    ("reach me on +1 212-555-0199", "+1 212-555-0199", "PHONE_NUMBER"),
]


def _found(redactor, text: str) -> list[tuple[str, str]]:
    (outcome,) = redactor.redact([text])
    assert outcome.error is None
    return [(f.entity, text[f.start : f.end]) for f in outcome.findings]


@pytest.mark.parametrize(("text", "entity"), NOT_PII)
def test_look_alikes_are_not_flagged(redactor, text, entity):
    assert entity not in {e for e, _ in _found(redactor, text)}


@pytest.mark.parametrize(("text", "value", "entity"), PII)
def test_true_values_next_to_them_are_still_found(redactor, text, value, entity):
    assert (entity, value) in _found(redactor, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call 212-555-0199 now.", [("PHONE_NUMBER", "212-555-0199")]),
        # found only in the normalized view (non-breaking hyphens): one entity there too
        ("Call 212\u2011555\u20110199 now.", [("PHONE_NUMBER", "212\u2011555\u20110199")]),
        ("Please check card 4111111111111111 again.", [("CREDIT_CARD", "4111111111111111")]),
        (
            "The SSN was 536-22-8741 and the phone 212-555-0199.",
            [("US_SSN", "536-22-8741"), ("PHONE_NUMBER", "212-555-0199")],
        ),
        (f"Wire the refund to IBAN {IBAN_WITH_LUHN_DIGITS}.", [("IBAN_CODE", IBAN_WITH_LUHN_DIGITS)]),
        ("My checking account number is 6421338132.", [("US_BANK_NUMBER", "6421338132")]),
        ("nhs number 943 476 5919", [("UK_NHS", "943 476 5919")]),
    ],
)
def test_overlaps_resolve_to_one_entity_and_findings_are_what_was_replaced(redactor, text, expected):
    (outcome,) = redactor.redact([text])
    assert [(f.entity, text[f.start : f.end]) for f in outcome.findings] == expected
    assert re.findall(r"<([A-Z_]+)>", outcome.text) == [entity for entity, _ in expected]
    for _, value in expected:
        assert value not in outcome.text


def test_the_prefilter_still_trusts_the_replaced_recognizers(redactor):
    """Same patterns, so the gates still hold: the entities stay gated (not analysed on every text)."""
    names = {type(r).__name__ for r in redactor.analyzer.registry.recognizers}
    assert {"GlassboxSsnRecognizer", "GlassboxIpRecognizer", "GlassboxBankRecognizer", "GlassboxNhsRecognizer"} <= names
    assert {"US_SSN", "IP_ADDRESS", "US_BANK_NUMBER", "UK_NHS", "EMAIL_ADDRESS"} <= set(redactor.gated)


async def test_tags_say_what_the_text_says():
    processor = RedactionProcessor(RedactionConfig(workers=0))
    processor.start()
    try:
        spans = normalize.spans(trace_request([chat_span(1, "Call me on 212-555-0199", "Noted, I will call you.")]))
        batch = await processor.process(M.Batch(spans=spans))
        span = batch.spans[0]
        assert span.input.messages[0].content == "Call me on <PHONE_NUMBER>"
        assert span.tags["pii.type"] == ["phone_number"]
        assert {t for types in span.redaction.found.values() for t in types} == {"PHONE_NUMBER"}
    finally:
        processor.shutdown()


# --- resolve() on its own ----------------------------------------------------------------------------------------


def _r(entity: str, start: int, end: int, score: float, **metadata: object) -> RecognizerResult:
    return RecognizerResult(entity, start, end, score, recognition_metadata=dict(metadata))


def _spans(results: list[RecognizerResult]) -> list[tuple[str, int, int]]:
    return [(r.entity_type, r.start, r.end) for r in results]


def test_resolve_leaves_separate_results_alone_and_is_idempotent():
    results = [_r("EMAIL_ADDRESS", 30, 45, 1.0), _r("PHONE_NUMBER", 0, 12, 0.4)]
    once = resolve(results)
    assert _spans(once) == [("PHONE_NUMBER", 0, 12), ("EMAIL_ADDRESS", 30, 45)]
    assert once[0] is results[1] and once[1] is results[0]
    assert _spans(resolve(once)) == _spans(once)
    assert resolve([]) == []


def test_resolve_prefers_checksummed_and_specific_over_generic():
    assert _spans(resolve([_r("US_BANK_NUMBER", 5, 21, 0.4), _r("CREDIT_CARD", 5, 21, 1.0)])) == [
        ("CREDIT_CARD", 5, 21)
    ]
    assert _spans(resolve([_r("CREDIT_CARD", 10, 29, 1.0), _r("IBAN_CODE", 0, 33, 1.0)])) == [("IBAN_CODE", 0, 33)]
    assert _spans(resolve([_r("PHONE_NUMBER", 0, 11, 0.75), _r("US_SSN", 0, 11, 0.5)])) == [("US_SSN", 0, 11)]
    assert _spans(resolve([_r("DATE_TIME", 0, 10, 0.85), _r("PHONE_NUMBER", 0, 10, 0.4)])) == [("PHONE_NUMBER", 0, 10)]


def test_resolve_uk_nhs_on_a_north_american_number_is_the_phone_number():
    nhs = _r("UK_NHS", 0, 12, 1.0, **{NANP: True})
    assert _spans(resolve([nhs, _r("PHONE_NUMBER", 0, 12, 0.4)])) == [("PHONE_NUMBER", 0, 12)]
    # without the phone finding (PHONE_NUMBER off, or no region matched) it stays: nothing is dropped
    assert _spans(resolve([nhs])) == [("UK_NHS", 0, 12)]


def test_resolve_context_words_and_the_whole_span_decide_between_generic_numbers():
    # "account" lifted the bank number to 0.4; the phone recognizer found the digits without its words
    assert _spans(resolve([_r("PHONE_NUMBER", 8, 18, 0.4), _r("US_BANK_NUMBER", 8, 18, 0.4)])) == [
        ("US_BANK_NUMBER", 8, 18)
    ]
    # a phone number with a country code is the phone number, not the licence-shaped digits inside it
    assert _spans(resolve([_r("PHONE_NUMBER", 0, 17, 0.4), _r("US_DRIVER_LICENSE", 10, 17, 0.4)])) == [
        ("PHONE_NUMBER", 0, 17)
    ]


def test_resolve_keeps_every_flagged_character_in_the_winner_span():
    merged = resolve(
        [_r("UK_NHS", 3, 15, 1.0, **{NANP: True}), _r("PHONE_NUMBER", 0, 15, 0.4), _r("EMAIL_ADDRESS", 20, 30, 1.0)]
    )
    assert _spans(merged) == [("PHONE_NUMBER", 0, 15), ("EMAIL_ADDRESS", 20, 30)]
    chained = resolve([_r("PERSON", 0, 8, 0.85), _r("EMAIL_ADDRESS", 5, 25, 1.0), _r("URL", 20, 40, 0.6)])
    assert _spans(chained) == [("EMAIL_ADDRESS", 0, 40)]
