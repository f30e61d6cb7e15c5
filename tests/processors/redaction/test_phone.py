"""Phone numbers: no silent give-up on long texts, any region after a phone word, fewer look-alikes, and a
prefilter test (``could_match``) that stays a necessary condition of a finding. Real phonenumbers and Presidio."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from faker import Faker
from phonenumbers import PhoneNumberFormat, PhoneNumberMatcher, PhoneNumberType

from bench.pii import corpus
from glassbox.processors.redaction import phone
from glassbox.processors.redaction.analyzer import Redactor
from glassbox.processors.redaction.config import DEFAULT_PHONE_REGIONS, RedactionConfig
from glassbox.processors.redaction.phone import lookalike
from glassbox.processors.redaction.recognizers import GlassboxPhoneRecognizer

ENTITIES = ["PHONE_NUMBER"]


def _spans(rec: GlassboxPhoneRecognizer, text: str) -> list[str]:
    return [text[r.start : r.end] for r in rec.analyze(text, ENTITIES)]


# --- issue 9: long texts ------------------------------------------------------------------------------------------


def test_number_after_65k_rejected_candidates_in_400kb_is_redacted():
    """phonenumbers stops after 65,535 rejected candidates and reports nothing; ours keeps looking."""
    text = "12.34 " * 66_000 + "call me at +1 415-555-0137 or 020 7946 0958"
    assert len(text) > 390_000
    # the library limit is real: stock matching gives up before the numbers
    assert list(PhoneNumberMatcher(text, "US")) == []
    assert _spans(GlassboxPhoneRecognizer(), text) == ["+1 415-555-0137", "020 7946 0958"]
    outcome = Redactor(RedactionConfig(workers=0, text_timeout=30)).redact([text])[0]
    assert outcome.error is None
    assert outcome.text is not None and outcome.text.endswith("call me at <PHONE_NUMBER> or <PHONE_NUMBER>")


def test_distinct_decoys_do_not_exhaust_anything():
    """Distinct candidates (no memo hits) before the number: still found."""
    rng = random.Random(4)
    text = ", ".join(f"({rng.randint(10, 99)}) {rng.randint(1000, 9999)}" for _ in range(70_000))
    text += " and my number is 020 7946 0958"
    assert _spans(GlassboxPhoneRecognizer(), text)[-1] == "020 7946 0958"


# --- issue 10: regions ----------------------------------------------------------------------------------------------

OTHER_REGIONS = ("ES", "IT", "NL", "AU", "JP", "PL", "SE", "CH", "BE", "MX", "ZA", "KR", "NG", "AT", "PT", "CN")


@pytest.mark.parametrize("region", OTHER_REGIONS)
@pytest.mark.parametrize("template", ["Call me on {}.", "my mobile: {}", "WhatsApp {} please", "tel. {}"])
def test_national_number_of_any_region_after_a_phone_word(region, template):
    assert region not in DEFAULT_PHONE_REGIONS
    rec = GlassboxPhoneRecognizer(supported_regions=DEFAULT_PHONE_REGIONS)
    for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
        example = phonenumbers.example_number_for_type(region, kind)
        national = phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
        text = template.format(national)
        found = _spans(rec, text)
        assert found and national.endswith(found[0][-4:]) and len(found[0]) >= len(national) - 4, (text, found)


@pytest.mark.parametrize("region", OTHER_REGIONS)
def test_international_numbers_of_any_region_need_no_phone_word(region):
    rec = GlassboxPhoneRecognizer(supported_regions=DEFAULT_PHONE_REGIONS)
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    for fmt in (PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.E164):
        value = phonenumbers.format_number(example, fmt)
        assert _spans(rec, f"see {value} for details") == [value]


def test_a_region_outside_the_list_needs_the_phone_word():
    rec = GlassboxPhoneRecognizer(supported_regions=("US",))
    assert _spans(rec, "see 612 34 56 78 for details") == []
    assert _spans(rec, "phone 612 34 56 78 for details") == ["612 34 56 78"]


# --- false positives ------------------------------------------------------------------------------------------------

LOOKALIKES = [
    '{"event": "checkout", "ts": 1732924800, "items": 2}',
    "The webhook was sent at epoch 1700000000.",
    "created_at=1732924800123",
    "Invoice INV-2024-004417 is attached.",
    "Invoice #4410023456 covers both items.",
    "invoice no. 20240117-0042 was paid",
    "SKU 8801234567 is the oak finish.",
    "item 88-1234-5678 (replacement part)",
    "part no. 0612-3456-78",
    "The manual is ISBN 978-3-16-148410-0.",
    "9780306406157 is the catalogue's ISBN.",
    "See ISBN 0-306-40615-2 for the care guide.",
    "The warehouse is at 48.8584, 2.2945.",
    "coordinates: (35.6762, 139.6503)",
    "lat 19.1646 lon -99.1332",
    "order 4412345678 has shipped",
    "My order number is 4155550137.",
    "delivered on 2026-04-21",
    "The ZIP+4 on the label is 16478-8622.",
    "from 152.59.76.232 again",
]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalikes_are_not_phone_numbers(text):
    assert _spans(GlassboxPhoneRecognizer(), text) == []


def test_lookalikes_were_phone_numbers_before():
    """The shapes above are real false positives of stock matching (so the test above tests something)."""
    stock = GlassboxPhoneRecognizer(context_regions=False, lookalikes=False)
    flagged = [t for t in LOOKALIKES if _spans(stock, t)]
    assert len(flagged) >= 10, flagged


def test_a_phone_word_keeps_a_timestamp_shaped_number():
    """1732924800 is also a valid São Paulo-state landline: with "call" before it, it stays a phone number."""
    rec = GlassboxPhoneRecognizer()
    assert _spans(rec, "call me at 1732924800") == ["1732924800"]
    assert _spans(rec, "ts 1732924800") == []


def _true_phones() -> list[str]:
    rng = random.Random(1)
    texts = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for fmt in (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.E164):
                value = phonenumbers.format_number(example, fmt)
                texts.append(
                    rng.choice(["call me at {}", "{}", "my number: {}.", "Tel.{}", "{}, {}"]).format(value, value)
                )
    for locale in ("en_US", "en_GB", "de_DE", "fr_FR", "pt_BR", "hi_IN", "es_ES", "it_IT", "nl_NL", "ja_JP", "en_AU"):
        fake = Faker(locale)
        fake.seed_instance(2)
        for _ in range(40):
            texts.append(rng.choice(["call {}", "{}", "phone: {}", "mobile {}.", "x {} y"]).format(fake.phone_number()))
    return texts + ["1.415.555.0137", "4155550137,4155550138", "tel 06.12.34.56.78", "(415) 555-0137 ext. 12"]


def test_the_lookalike_filter_drops_no_true_phone_number():
    """Every match of a real number (every region's examples in three formats, Faker's numbers) is kept."""
    filtered, unfiltered = GlassboxPhoneRecognizer(), GlassboxPhoneRecognizer(lookalikes=False)
    for text in _true_phones():
        kept = {(r.start, r.end) for r in filtered.analyze(text, ENTITIES)}
        found = {(r.start, r.end) for r in unfiltered.analyze(text, ENTITIES)}
        assert found <= kept, [(text[s:e], lookalike(text, s, e)) for s, e in found - kept]


# --- the prefilter's phone test -------------------------------------------------------------------------------------


def _generated_texts() -> list[str]:
    rng = random.Random(11)
    texts = [t.text for t in corpus.single(1500, 3).texts] + [t.text for t in corpus.multi_turn(1500, 3).texts]
    texts += _true_phones()
    texts += [corpus.phone_lookalike(rng) for _ in range(400)]
    words = ["call", "Phone", "tel", "WhatsApp", "mobile:", "ring", "fax", "Tel.", "cell", "sms", "order", ""]
    alphabet = "0123456789 -./()+x"
    for _ in range(3000):
        digits = "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 24)))
        gap = " " * rng.randint(0, 45)
        texts.append(f"{rng.choice(words)}{gap}{digits}{rng.choice(['', '.', ' ok', 'x'])}")
    return texts


def test_could_match_is_necessary_for_a_finding():
    """If the recognizer finds anything in a text, ``could_match`` said so first (the prefilter relies on it)."""
    prefilter, analyzer = GlassboxPhoneRecognizer(), GlassboxPhoneRecognizer()
    texts = _generated_texts()
    skipped = 0
    for text in texts:
        if not prefilter.could_match(text):
            skipped += 1
            assert analyzer.analyze(text, ENTITIES) == [], text
    assert skipped > len(texts) // 10  # and it does rule texts out


def test_could_match_then_analyze_equals_analyze_alone():
    """The scan kept between ``could_match`` and ``analyze`` changes nothing."""
    a, b = GlassboxPhoneRecognizer(), GlassboxPhoneRecognizer()
    for text in _generated_texts()[::7]:
        a.could_match(text)
        assert [(r.start, r.end) for r in a.analyze(text, ENTITIES)] == [
            (r.start, r.end) for r in b.analyze(text, ENTITIES)
        ]


def test_phone_regions_are_normalised_and_checked():
    assert RedactionConfig(phone_regions=["us", "GB", "US"]).phone_regions == ["US", "GB"]
    with pytest.raises(ValueError, match="unknown phone regions"):
        RedactionConfig(phone_regions=["XX"])


@pytest.mark.parametrize("word", ["calls", "telefono", "cellphone", "phones", "called", "téléphone", "telefone"])
def test_a_longer_phone_word_is_not_shadowed_by_a_shorter_one(word):
    """The flat alternation stopped at the first listed word ("call", "telefon", "cell") and then rejected it
    for the letter after it; the factored one matches the whole word."""
    text = f"{word}: 612 34 56 78"
    assert list(phone._phone_words(text)) == [len(word)]
