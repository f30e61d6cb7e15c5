"""The redaction engine against stock Presidio: what the speed-ups must not change, and what glassbox adds.

Everything runs real Presidio 2.2.366 and real phonenumbers; the corpora are the harness's (seeded Faker).
"""

from __future__ import annotations

import logging
import random
import socket

import phonenumbers
import pytest
from faker import Faker
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from bench.pii import corpus
from glassbox.processors.redaction.analyzer import Finding, Outcome, Redactor
from glassbox.processors.redaction.cache import OutcomeCache, key
from glassbox.processors.redaction.config import RedactionConfig
from glassbox.processors.redaction.engine import RedactionEngine
from glassbox.processors.redaction.nlp import ContextNlpEngine, LazyArtifacts
from glassbox.processors.redaction.recognizers import GlassboxPhoneRecognizer


def _texts(n: int, seed: int) -> list[str]:
    texts = [t.text for t in corpus.single(n, seed).texts] + [t.text for t in corpus.multi_turn(n, seed).texts]
    rng = random.Random(seed)
    alphabet = "0123456789 -./:()+@abcxyzKſ\n#;=_"
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(5, 80))) for _ in range(n // 2)]
    return texts


def test_prefilter_changes_no_result(redactor):
    """Gates only skip recognizers that cannot match: same findings, scores and output as running them all."""
    texts = _texts(300, 21)
    fast = redactor.redact(texts)
    full = redactor.redact(texts, prefilter=False)
    assert [o.findings for o in fast] == [o.findings for o in full]
    assert [o.text for o in fast] == [o.text for o in full]
    assert sum(o.skipped for o in fast) > len(texts) // 10  # and it does skip


def _phone_texts() -> list[str]:
    rng = random.Random(5)
    out = []
    for locale in ("en_US", "en_GB", "de_DE", "fr_FR", "he_IL", "hi_IN", "en_CA", "pt_BR", "es_ES", "it_IT", "ja_JP"):
        fake = Faker(locale)
        fake.seed_instance(3)
        for _ in range(40):
            number = fake.phone_number()
            out.append(
                rng.choice(["call {} now", "{}", "tel:{}.", "x{}y", "({})", "order {} ok", "{}:30"]).format(number)
            )
    for region in ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR", "AG", "JM", "IM"):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for fmt in (
                phonenumbers.PhoneNumberFormat.NATIONAL,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.E164,
            ):
                out.append(f"reach me on {phonenumbers.format_number(example, fmt)} please")
            out.append(
                f"dial 00{example.country_code}{example.national_number} or 011 {example.country_code} "
                f"{example.national_number}"
            )
    digits = "0123456789"
    for prefix in ("+0", "+00", "+999 ", "++44 ", "+ (44) ", "＋44", "+1-", "+44x", "+8", "+38"):
        for _ in range(15):
            out.append(f"ring {prefix}{''.join(rng.choice(digits) for _ in range(rng.randint(6, 12)))} now")
    for _ in range(400):
        groups = [("".join(rng.choice(digits) for _ in range(rng.randint(1, 6)))) for _ in range(rng.randint(1, 5))]
        out.append(rng.choice(["+", "", "0", "00", "1-", "(0)"]) + rng.choice([" ", "-", ".", "/", ""]).join(groups))
    return out + _texts(120, 8)


def test_phone_matcher_finds_exactly_what_presidio_finds():
    """Memo, candidate floors and the national-number check skip only parses that could not verify."""
    ours, stock = GlassboxPhoneRecognizer(context_regions=False, lookalikes=False), PhoneRecognizer()
    texts = _phone_texts()
    for text in texts * 2:  # twice: the second pass answers from the memo
        assert sorted((r.start, r.end) for r in ours.analyze(text, ["PHONE_NUMBER"])) == sorted(
            (r.start, r.end) for r in stock.analyze(text, ["PHONE_NUMBER"])
        ), text


def test_windowed_context_matches_presidios_whole_text_context():
    engine = ContextNlpEngine()
    engine.load()
    stock = LemmaContextAwareEnhancer(context_prefix_count=5, context_suffix_count=3)
    rng = random.Random(2)
    texts = _texts(150, 13) + ["   x  ", "a", "my driver's license number is D1234567", "x " * 400 + "123"]
    for text in texts:
        for start in {rng.randrange(len(text)) for _ in range(6)} | {len(text) - 1}:
            if text[start].isspace():
                continue
            art = LazyArtifacts(text, engine, "en")
            assert sorted(art.context_words(start, 5, 3)) == sorted(
                stock._extract_surrounding_words(art, text[start : start + 3], start)
            )


@pytest.mark.parametrize(
    "text, entity",
    [
        ("mastercard 2221000000000009 exp 05/29", "CREDIT_CARD"),  # 2-series: not in Presidio's pattern
        ("maestro 676199605707", "CREDIT_CARD"),  # 12 digits
        ("visa 4789754192136377626 thanks", "CREDIT_CARD"),  # 19 digits
        ("write to support@oakandpine.example today", "EMAIL_ADDRESS"),  # not a public suffix
        ("pay ES1524393328683679160110 email: a@b.co", "IBAN_CODE"),  # a word after the IBAN
        ("from 2001:db8::8a2e:370:7334 and 10.0.0.5", "IP_ADDRESS"),
    ],
)
def test_what_stock_presidio_misses_is_found(redactor, text, entity):
    found = redactor.redact([text])[0]
    assert entity in {f.entity for f in found.findings}
    assert found.text is not None


def test_version_pins_are_not_email_addresses(redactor):
    assert redactor.redact(["pip install react@18.2.0 python@3.11"])[0].findings == ()


@pytest.mark.parametrize(
    "text, redacted",
    [
        ("Order 48213975 is late", False),
        ("my checking account number is 48213975", True),
        ("Driver license D1234567 issued in Ohio", True),
        ("ticket K2265 again", False),
        ("my passport number is 912803456", True),
    ],
)
def test_false_positive_prone_recognizers_need_context(redactor, text, redacted):
    outcome = redactor.redact([text])[0]
    weak = {"US_BANK_NUMBER", "US_DRIVER_LICENSE", "US_PASSPORT"}
    assert bool({f.entity for f in outcome.findings} & weak) is redacted, outcome


def test_operators_replace_mask_hash_and_drop():
    salt = "a-deployment-salt-0123456789"
    settings = RedactionConfig(
        workers=0,
        hash_salt=salt,
        operators={
            "EMAIL_ADDRESS": {"type": "hash"},
            "CREDIT_CARD": {"type": "mask", "masking_char": "#", "chars_to_mask": 12},
            "US_SSN": {"type": "drop"},
            "IP_ADDRESS": {"type": "replace", "new_value": "[ip]"},
        },
    )
    redactor = Redactor(settings)
    text = "mail ana@example.com card 4111111111111111 from 10.0.0.5"
    first, again, ssn = redactor.redact([text, "ana@example.com wrote again", "ssn 536-22-8741"])
    digest = first.text.split()[1]
    assert len(digest) == 64 and digest in again.text  # stable: same value, same digest
    assert "############1111" in first.text and "[ip]" in first.text
    assert ssn.drop and not first.drop
    other = Redactor(RedactionConfig(workers=0, hash_salt=salt + "x", operators={"EMAIL_ADDRESS": {"type": "hash"}}))
    assert digest not in other.redact([text])[0].text  # the salt is what makes it a keyed pseudonym


def test_custom_recognizers_regex_context_and_deny_list():
    settings = RedactionConfig(
        workers=0,
        custom_recognizers=[
            {
                "name": "employee",
                "entity": "EMPLOYEE_ID",
                "patterns": [{"regex": r"\bE-\d{6}\b", "score": 0.3}],
                "context": ["employee"],
            },
            {"name": "vip", "entity": "VIP_NAME", "deny_list": ["Zorblax"]},
        ],
        entity_thresholds={"EMPLOYEE_ID": 0.4},
    )
    redactor = Redactor(settings)
    with_context, without, vip = redactor.redact(["employee number E-123456", "part E-123456", "hi Zorblax!"])
    assert with_context.text == "employee number <EMPLOYEE_ID>"
    assert without.text is None  # 0.3 < 0.4 without the context word
    assert vip.text == "hi <VIP_NAME>!"


def test_tldextract_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    redactor = Redactor(RedactionConfig(workers=0, entities=["EMAIL_ADDRESS"]))
    assert redactor.redact(["reach me: ana.lopez@mail.co.uk"])[0].text == "reach me: <EMAIL_ADDRESS>"


def test_presidio_logs_are_silent(caplog):
    caplog.set_level(logging.DEBUG)
    Redactor(RedactionConfig(workers=0)).redact(["card 4111 1111 1111 1111"])
    assert not [r for r in caplog.records if r.name.startswith("presidio") and r.levelno >= logging.INFO]


def test_cache_is_bounded_by_entries_and_bytes():
    cache = OutcomeCache(max_entries=3, max_bytes=10_000)
    for i in range(5):
        cache.put(key(f"t{i}"), Outcome("x" * 10, (Finding("EMAIL_ADDRESS", 0, 1, 1.0),)))
    assert len(cache) == 3 and cache.evictions == 2
    assert cache.get(key("t0")) is None and cache.get(key("t4")) is not None
    assert cache.hit_ratio() == 0.5
    small = OutcomeCache(max_entries=1000, max_bytes=8_000)
    for i in range(50):
        small.put(key(f"t{i}"), Outcome("y" * 100))
    assert small.bytes <= 8_000 and len(small) < 50
    small.put(key("big"), Outcome("z" * 5_000))  # > max_bytes / 8: not cached at all
    assert small.get(key("big")) is None
    small.put(key("failed"), Outcome(None, error="timeout"))  # failures are never cached
    assert small.get(key("failed")) is None


def test_cache_shares_one_entry_for_every_text_where_nothing_was_found():
    cache = OutcomeCache(max_entries=1000, max_bytes=1 << 20)
    for i in range(100):  # as a worker sends them: a new, equal tuple for every text
        cache.put(key(f"clean {i}"), Outcome(None))
        cache.put(key(f"skipped {i}"), Outcome(None, skipped=True))
    cache.put(key("found"), Outcome("<EMAIL_ADDRESS>", (Finding("EMAIL_ADDRESS", 0, 5, 1.0),)))
    assert len({id(cache._data[key(f"clean {i}")]) for i in range(100)}) == 1
    assert cache.get(key("clean 7")) == Outcome(None) and cache.get(key("skipped 7")) == Outcome(None, skipped=True)
    assert cache.get(key("found")).findings  # findings are never shared
    assert (
        cache.bytes
        == 100 * (cache._data[key("clean 0")][1] + cache._data[key("skipped 0")][1]) + (cache._data[key("found")][1])
    )


def test_engine_dedupes_and_caches_history():
    engine = RedactionEngine(RedactionConfig(workers=0))
    engine.start()
    try:
        history = ["You are a helpful assistant.", "my email is ana@example.com", "Sure, noted."]
        first = engine.redact_sync(history + ["and my phone is +1 415-555-0137"])
        second = engine.redact_sync(history + ["and my phone is +1 415-555-0137", "thanks"])
        assert first["my email is ana@example.com"].text == "my email is <EMAIL_ADDRESS>"
        assert second["and my phone is +1 415-555-0137"].text == "and my phone is <PHONE_NUMBER>"
        assert engine.texts["cache_hit"] == 4
        assert engine.gauges()["cache_hit_ratio"] > 0.4
    finally:
        engine.shutdown()
