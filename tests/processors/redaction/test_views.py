"""PII written in disguise (Unicode tricks, encodings) is found and the original is redacted (issue 9, root
causes 7 and 8): ``views.normalize``/``views.decoded`` map back exactly, and the real engine replaces every
disguised card, SSN, IBAN, phone number and e-mail address while leaving ordinary text alone."""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Callable, Iterator

import pytest

from glassbox.processors.redaction.analyzer import Redactor
from glassbox.processors.redaction.config import RedactionConfig
from glassbox.processors.redaction.engine import RedactionEngine
from glassbox.processors.redaction.views import OffsetMap, decoded, normalize, unescaped

# --- disguises -------------------------------------------------------------------------------------------------


def fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in s)


def digits(zero: int) -> Callable[[str], str]:
    return lambda s: "".join(chr(zero + int(c)) if c.isdigit() else c for c in s)


def every(n: int, sep: str) -> Callable[[str], str]:
    return lambda s: sep.join(s[i : i + n] for i in range(0, len(s), n))


def dashes(s: str) -> str:  # digit groups joined by en/em dashes; an address gets a one-dot leader for its dots
    return s.replace(".", "\u2024") if "@" in s else s.replace("-", "\u2013").replace(" ", "\u2014")


FORMS: dict[str, Callable[[str], str]] = {
    "fullwidth": fullwidth,
    "no-break space": lambda s: s.replace(" ", "\u00a0"),
    "narrow no-break space": lambda s: s.replace(" ", "\u202f"),
    "thin space": lambda s: s.replace(" ", "\u2009"),
    "zero-width space": every(3, "\u200b"),
    "zwnj/zwj/word joiner/bom": lambda s: (
        s[:2] + "\u200c" + s[2:4] + "\u200d" + s[4:6] + "\u2060" + s[6:8] + "\ufeff" + s[8:]
    ),
    "soft hyphen": every(4, "\u00ad"),
    "en/em dashes": dashes,
    "arabic-indic digits": digits(0x660),
    "devanagari digits": digits(0x966),
    "url-encoded": lambda s: "".join(f"%{b:02X}" for b in s.encode()),
    "html decimal": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "html hex": lambda s: "".join(f"&#x{ord(c):x};" for c in s),
    "html named": lambda s: s.replace("@", "&commat;").replace(" ", "&nbsp;").replace("-", "&hyphen;"),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64 of url-encoded": lambda s: base64.b64encode("".join(f"%{b:02X}" for b in s.encode()).encode()).decode(),
    "json \\u escapes": lambda s: "".join(f"\\u{ord(c):04x}" if c.isdigit() or c in "@ " else c for c in s),
    "utf-16 read as utf-8 (NULs)": lambda s: s.encode("utf-16-le").decode("utf-8")[:-1],  # NUL between characters
    "control characters": every(2, "\x1b"),
    "C1 controls": every(3, "\x85"),
    "tabs for spaces": lambda s: s.replace(" ", "\t"),
    "combining strike-through": lambda s: "".join(c + "\u0336" for c in s),
    "combining underline": lambda s: "".join(c + "\u0332" if c.isalnum() else c for c in s),
    "hex": lambda s: s.encode().hex(),
}
VALUES = {
    "CREDIT_CARD": "4111 1111 1111 1111",
    "US_SSN": "536-22-8741",
    "IBAN_CODE": "DE89 3704 0044 0532 0130 00",
    "PHONE_NUMBER": "+1 415-555-0137",
    "EMAIL_ADDRESS": "jane.doe@example.com",
}


@pytest.fixture(scope="module")
def engine() -> Iterator[RedactionEngine]:
    """The real engine, default settings, Presidio in this process."""
    engine = RedactionEngine(RedactionConfig(workers=0))
    engine.start()
    yield engine
    engine.shutdown()


# --- end to end ------------------------------------------------------------------------------------------------


DISGUISED = [(e, f) for e in VALUES for f in FORMS if FORMS[f](VALUES[e]) != VALUES[e]]  # (no spaces: no NBSP)


@pytest.mark.parametrize("entity, form", DISGUISED)
def test_every_disguise_of_every_value_is_redacted_and_the_rest_kept(engine, entity, form):
    disguised = FORMS[form](VALUES[entity])
    assert VALUES[entity] not in disguised
    text = f"Hi team, the customer's value is {disguised} , see ticket 7."
    outcome = engine.redact_sync([text])[text]
    assert outcome.error is None
    assert outcome.text == f"Hi team, the customer's value is <{entity}> , see ticket 7."
    assert [f.entity for f in outcome.findings] == [entity]
    finding = outcome.findings[0]
    assert text[finding.start : finding.end] == disguised  # original offsets: exactly the disguised run


def test_a_json_string_literal_with_escapes_keeps_its_text(engine):
    text = '"Hello,\\nmy mail is jane\\u0040example.com and my card 4111\\u00a01111\\u00a01111\\u00a01111."'
    outcome = engine.redact_sync([text])[text]
    assert outcome.text == '"Hello,\\nmy mail is <EMAIL_ADDRESS> and my card <CREDIT_CARD>."'


def test_disguised_and_plain_values_in_one_text(engine):
    text = "plain ana@example.com, wide ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ, url carol%40example.com, ssn ٥٣٦-٢٢-٨٧٤١."
    outcome = engine.redact_sync([text])[text]
    assert outcome.text == "plain <EMAIL_ADDRESS>, wide <EMAIL_ADDRESS>, url <EMAIL_ADDRESS>, ssn <US_SSN>."
    assert [text[f.start : f.end] for f in outcome.findings] == [
        "ana@example.com",
        "ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        "carol%40example.com",
        "٥٣٦-٢٢-٨٧٤١",
    ]


CONTROLS = [
    "Zoë and Søren met in Genève at the café: très bien, naïve façade, Ångström, İstanbul, ß.",
    "你好，我叫李明。今天天气很好！我们下午三点见面，好吗？",
    "東京タワーに行きました。とても楽しかったです（笑）",
    "안녕하세요, 반갑습니다. 오늘 회의는 세 시에 시작합니다.",
    "مرحبا، كيف حالك؟ أنا بخير، شكرا.",
    "Great job 👍🏽 👨‍👩‍👧‍👦 🇩🇪 ❤️ 1️⃣ — see you soon… «ok» “quoted” ‘single’",
    "ｈｅｌｌｏ　ｗｏｒｌｄ、ｆｕｌｌ　ｗｉｄｔｈ　ｔｅｘｔ",
    "pixel data: " + base64.b64encode(bytes(range(0, 256, 3))).decode() + " end",
    "key: " + base64.urlsafe_b64encode(bytes(range(200, 248))).decode() + " and sha256 "
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "AT&amp;T R&D said 100% sure, a&lt;b &quot;x&quot; path%2Fto%2Ffile?a=1&b=2 \\n \\t C:\\Users\\me",
    "internationalization implementation responsibilities characteristically",
]


@pytest.mark.parametrize("text", CONTROLS)
def test_ordinary_text_is_not_changed(engine, text):
    outcome = engine.redact_sync([text])[text]
    assert outcome.error is None
    assert outcome.text is None, outcome


def test_views_fail_closed_with_the_text():
    """A recognizer that raises only on the normalized or decoded text fails the whole text closed."""
    exploding = {
        "name": "exploding",
        "entity": "TEST_ENTITY",
        "class_path": "tests.processors.recognizers_for_tests:Exploding",
    }
    redactor = Redactor(RedactionConfig(workers=0, custom_recognizers=[exploding]))
    hidden = ["EXP\u200bLODE jane@example.com", "%45XPLODE jane@example.com", "ＥＸＰＬＯＤＥ jane@example.com"]
    for outcome in redactor.redact(hidden):
        assert (outcome.text, outcome.error) == (None, "error")
    assert redactor.redact(["EXPL ODE jane@example.com"])[0].text == "EXPL ODE <EMAIL_ADDRESS>"


def test_the_deadline_covers_the_views():
    """The original is skipped by the prefilter (no ASCII '@'); only the view is analysed, past the deadline."""
    redactor = Redactor(RedactionConfig(workers=0, text_timeout=1e-9))
    assert redactor.redact(["hello there"])[0].skipped
    assert redactor.redact(["ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ"])[0].error == "timeout"
    assert redactor.redact(["jane%40example.com"])[0].error == "timeout"


def test_prefilter_off_finds_the_same(redactor):
    texts = [f"value {form(v)} ok" for form in FORMS.values() for v in VALUES.values()] + CONTROLS
    fast, full = redactor.redact(texts), redactor.redact(texts, prefilter=False)
    assert [(o.text, o.findings, o.error) for o in fast] == [(o.text, o.findings, o.error) for o in full]


# --- normalize -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, view",
    [
        ("jane＠example．com", "jane@example.com"),
        ("４１１１　１１１１", "4111 1111"),
        ("a\u00a0b\u202fc\u2009d\u3000e\u2028f", "a b c d e f"),
        ("4\u200b1\u200c1\u200d1\u2060\ufeff1\u00ad2", "411112"),
        ("1\u20132\u20143\u20124\u22125\u20116\u2010", "1-2-3-4-5-6-"),
        ("\u0661\u0662\u0663 \u0967\u0968\u0969 \u09e7 \u0e51 \uff11 \U0001d7d9", "123 123 1 1 1 1"),
        ("4\ufe0f\u20e3", "4"),
        ("cafe\u0301", "café"),
    ],
)
def test_normalize(text, view):
    result = normalize(text)
    assert result is not None
    assert result[0] == view
    assert_maps_back(text, *result)


@pytest.mark.parametrize(
    "text", ["", "plain ASCII 4111 1111 1111 1111 a@b.co", "Zoë café naïve", "你好世界", "👍🏽❤️ 👨‍👩‍👧"]
)
def test_normalize_is_none_when_nothing_changes(text):
    assert normalize(text) is None


_GLUE = str.maketrans("", "", "\u200d\ufe0e\ufe0f")


def _view_of(text: str) -> str:
    """The view of ``text``. When emoji glue (ZWJ, presentation selectors) away from ASCII is all a view would
    remove, ``normalize`` answers None (nothing can hide there); the view drops it."""
    result = normalize(text)
    return text.translate(_GLUE) if result is None else result[0]


def assert_maps_back(text: str, view: str, to_original: OffsetMap) -> None:
    """Every view character comes from a non-empty original span, in order; every span of the view that
    starts and ends on a boundary between originals' outputs maps to an original slice that normalizes to
    exactly that span of the view."""
    assert len(to_original.begin) == len(to_original.end) == len(view)
    boundaries = {0, len(view)}
    for i in range(len(view)):
        assert 0 <= to_original.begin[i] < to_original.end[i] <= len(text)
        if i and to_original.begin[i] < to_original.end[i - 1]:
            assert (to_original.begin[i], to_original.end[i]) == (to_original.begin[i - 1], to_original.end[i - 1])
        if i and to_original.begin[i] != to_original.begin[i - 1]:
            boundaries.add(i)
    for start in boundaries:
        for end in boundaries:
            if start < end:
                a, b = to_original(start, end)
                assert _view_of(text[a:b]) == view[start:end], (text, start, end)


ALPHABET = (
    "0123456789 -@.+()abcXYZ"  # ASCII that PII is made of
    "０１２３４５６７８９＠．＋（）ａＺ\u3000"  # full width
    "\u00a0\u202f\u2007\u2009\u205f\u1680"  # spaces
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u2066\u2069\U000e0041"  # invisible
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"  # dashes
    "\u0660\u0665\u06f4\u0966\u09e9\u0e52\u1041\U0001d7ce\U0001d7f9"  # digits of other scripts
    "\u0301\u0308\u0327\ufe0f\u20e3"  # marks, variation selector, keycap
    "éßİıﬁ½①㈱ｶﾞ\u1100\u1161你好👍🏽"  # composed, ligatures and other expansions, CJK, emoji
)


def test_normalize_maps_back_on_generated_strings():
    rng = random.Random(9)
    for _ in range(3000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 40)))
        result = normalize(text)
        if result is None:
            assert _view_of(text) == text.translate(_GLUE)
            continue
        view, to_original = result
        assert_maps_back(text, view, to_original)
        # Findings a recognizer could make (digit groups, an address): the original slice normalizes to them.
        for m in re.finditer(r"[0-9][0-9 ()+-]*[0-9]|\w+@\w+(?:\.\w+)*", view):
            a, b = to_original(*m.span())
            assert m.group() in _view_of(text[a:b])


# --- decoded ---------------------------------------------------------------------------------------------------


def test_decoded_finds_each_encoding():
    email = "jane@example.com"
    b64 = base64.b64encode(f"mail {email}".encode()).decode()
    text = f"a jane%40example.com b jane&#64;example.com c jane\\u0040example.com d {b64} e"
    candidates = decoded(text)
    inplace = [c for c in candidates if c.to_original is not None]
    assert len(inplace) == 1 and inplace[0].text.count(email) == 3
    assert [(text[c.start : c.end], c.text) for c in candidates if c.to_original is None] == [(b64, f"mail {email}")]


@pytest.mark.parametrize(
    "encoded, plain",
    [
        ("jane%40example.com", "jane@example.com"),
        ("%6A%61%6E%65%40example.com", "jane@example.com"),
        ("caf%C3%A9%20%E2%82%AC5", "café €5"),
        ("jane&#64;x.io &#x40; &commat; &amp;#64; &nbsp;", "jane@x.io @ @ @ \u00a0"),
        ("%26%2364%3B", "@"),  # URL-encoded HTML reference: two rounds
        ("&#64 &#x40 &commat", "@ @ &commat"),  # no semicolon: numeric ones as browsers read them
        ("\\u0040 \\U0001F600 \\ud83d\\ude00 \\u{1F600} \\x40 \\xc3\\xa9 \\xe9", "@ 😀 😀 😀 @ é é"),
        ("\\ud800 stays", "\\ud800 stays"),  # a lone surrogate is no character
        ("%ZZ %4 &unknownname; 100%", None),
    ],
)
def test_unescaped(encoded, plain):
    result = unescaped(encoded)
    if plain is None:
        assert result is None
        return
    if plain == encoded:
        assert result is None or result[0] == plain
        return
    assert result is not None and result[0] == plain


ESCAPES: list[Callable[[str], str]] = [
    lambda s: "".join(f"%{b:02x}" for b in s.encode()),
    lambda s: "".join(f"&#{ord(c)};" for c in s),
    lambda s: "".join(f"&#X{ord(c):X};" for c in s),
    lambda s: "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}" for c in s),
    lambda s: "".join(f"\\x{b:02x}" for b in s.encode()),
    lambda s: s,
]


def test_unescaped_maps_each_piece_back_on_generated_strings():
    rng = random.Random(11)
    pieces = ["4111", " ", "-", "@", "jane", ".", "é", "€", "😀", "+1", "(", "ok", "数"]
    for _ in range(2000):
        plain = [rng.choice(pieces) for _ in range(rng.randint(1, 12))]
        encoded = [rng.choice(ESCAPES)(p) for p in plain]
        text = "".join(encoded)
        result = unescaped(text)
        if result is None:
            assert text == "".join(plain)
            continue
        view, to_original = result
        assert view == "".join(plain), text
        at = pos = 0
        for p, e in zip(plain, encoded):
            if e != p:  # a decoded piece maps to exactly its encoding
                assert to_original(at, at + len(p)) == (pos, pos + len(e))
            at, pos = at + len(p), pos + len(e)


@pytest.mark.parametrize(
    "text",
    [
        "ordinary chat text with nothing encoded, 4111 1111 1111 1111 and ana@example.com",
        "binary " + base64.b64encode(bytes(range(256))).decode(),
        "R&D at AT&T, 100% sure, a&lt;b, path%2Fto%2Ffile",  # decodes to markup punctuation only
        "sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 uuid "
        "123e4567-e89b-12d3-a456-426614174000",
        "characteristically internationalization 12345678901234567890",
    ],
)
def test_decoded_finds_nothing_in_ordinary_text(text):
    assert decoded(text) == []


def test_base64_variants():
    plain = "ssn 536228741 ok"
    for encoded in (
        base64.b64encode(plain.encode()).decode(),
        base64.b64encode(plain.encode()).decode().rstrip("="),
        base64.urlsafe_b64encode("é?>ß~~ jane@example.com".encode()).decode(),
        base64.b64encode(b"536228741").decode(),  # 12 characters: the shortest run decoded
    ):
        text = f"x {encoded} y"
        (candidate,) = decoded(text)
        assert (candidate.start, candidate.end, candidate.to_original) == (2, 2 + len(encoded), None)
        assert base64.urlsafe_b64encode(candidate.text.encode()).decode().rstrip("=") == encoded.translate(
            str.maketrans("+/", "-_")
        ).rstrip("=")


def test_windows_keep_decoding_local():
    """A decoded run far from another is a separate candidate; a finding maps back inside its window."""
    text = "jane%40example.com " + "word " * 100 + "bob%40example.org"
    candidates = decoded(text)
    assert len(candidates) == 2
    for c, address in zip(candidates, ("jane@example.com", "bob@example.org")):
        assert c.to_original is not None
        i = c.text.index(address)
        a, b = c.to_original(i, i + len(address))
        assert unescaped(text[a:b]) is not None and unescaped(text[a:b])[0] == address  # type: ignore[index]
