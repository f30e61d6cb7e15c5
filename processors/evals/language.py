"""Language identification for ``language_mismatch``: py3langid (its model ships inside the wheel; offline).

Texts are cleaned first, so what is left is prose: code blocks and inline code, URLs, e-mail addresses,
redaction placeholders (``<EMAIL_ADDRESS>``, ``[REDACTED]``) and digits are removed. A text is judged only
when enough letters remain (``min_letters``; the tests' calibration shows py3langid errs below ~20 letters
and never above on the corpus) and the normalized probability is at least ``min_confidence``.

Languages py3langid often confuses with each other are treated as one (Spanish/Portuguese/Galician/Catalan,
the Scandinavian languages, Serbian/Croatian/Bosnian, Malay/Indonesian, Czech/Slovak): a mismatch between them
is not reported.
"""

from __future__ import annotations

import re
import threading
from itertools import chain, islice
from typing import Any

from glassbox.processors.words import Words

_CLEAN = re.compile(
    r"```.*?(?:```|$)"  # fenced code (an unclosed fence runs to the end)
    r"|`[^`\n]*`"  # inline code
    r"|\bhttps?://\S+|\bwww\.\S+"  # URLs
    r"|\S+@\S+\.\w+"  # e-mail addresses
    r"|<[A-Z][A-Z0-9_]*>|\[[A-Z][A-Z0-9_ ]*\]"  # redaction placeholders and markers
    r"|\d+",
    re.DOTALL,
)
CLOSE = [
    {"es", "pt", "gl", "ca"},
    {"no", "nb", "nn", "da", "sv"},
    {"sr", "hr", "bs", "sl"},
    {"ms", "id"},
    {"cs", "sk"},
    {"zh", "ja"},  # Japanese written mostly in kanji reads as Chinese
]
_FAMILY = {code: i for i, group in enumerate(CLOSE) for code in group}


SAMPLE = 600  # characters judged: enough for language identification, and bounded cost on long answers
QUICK_SAMPLE = 200  # characters whose function words decide the plain cases
# Function words of the languages most traffic is in; each is in every list it belongs to. ``quick`` uses them to
# settle the common case (question and answer plainly in the same language) without running the model.
STOPWORDS = {
    "en": "the and is are was were you your we our it this that with for not have has what when where how can "
    "will would there their they of to in on my me please thank",
    "de": "der die das und ist sind nicht ich sie wir ihr ein eine einen mit für auf ist dass wie wann wo was "
    "bitte danke auch noch schon kann können haben hat wird",
    "fr": "le la les et est sont je vous nous il elle un une des du avec pour pas que qui quand où comment "
    "mon ma mes votre merci sur dans ce cette",
    "es": "el la los las y es son yo usted nosotros un una con para no que cuando donde como mi mis su por "
    "gracias del al este esta pero muy hay puede también ya",
    "it": "il lo la gli le e è sono io lei noi un una con per non che quando dove come mio mia grazie del "
    "della questo questa ma anche",
    "pt": "o a os as e é são eu você nós um uma com para não que quando onde como meu minha obrigado obrigada "
    "do da este esta mas também",
    "nl": "de het een en is zijn ik u wij jij niet met voor op dat wat wanneer waar hoe mijn bedankt dank "
    "van ook maar dit deze",
}
_STOP_INDEX: dict[str, tuple[str, ...]] = {}
for _language, _words in STOPWORDS.items():
    for _word in _words.split():
        _STOP_INDEX[_word] = (*_STOP_INDEX.get(_word, ()), _language)
# Only words of exactly one language are counted: shared ones ("il", "un", "de") blur the Romance languages.
_STOP_INDEX = {word: languages for word, languages in _STOP_INDEX.items() if len(languages) == 1}


def clean(text: str) -> str:
    sample = text[:SAMPLE]
    if not ("`" in sample or "://" in sample or "www." in sample or "@" in sample or "<" in sample or "[" in sample):
        return sample  # prose already: digits do not change what the model or ``quick`` decide
    return _CLEAN.sub(" ", sample)


# Function words are found in one pass (``processors.words``, keys padded with spaces) over the lowered start of the
# text, ASCII punctuation turned into spaces. That is done on the UTF-8 bytes: no ASCII byte occurs inside a
# multi-byte character, and bytes.translate is a table lookup where str.translate on non-ASCII text (any accent) is
# a dict lookup per character, ten times slower.
_PUNCTUATION_CHARS = b".,;:!?()[]{}\"'/\\-*_#<>|=+~`@&%$^\n\t\r"
_PUNCTUATION = bytes.maketrans(_PUNCTUATION_CHARS, b" " * len(_PUNCTUATION_CHARS))


def _spaced_words(text: str) -> str:
    if text.isascii():  # bytes.lower is a table lookup too: no str.lower over the text
        return " " + text.encode("ascii").lower().translate(_PUNCTUATION).decode("ascii") + " "
    lowered = text.lower().encode("utf-8", "surrogatepass").translate(_PUNCTUATION)
    return " " + lowered.decode("utf-8", "surrogatepass") + " "


_STOPWORDS = Words(f" {word} " for word in _STOP_INDEX)
_STOPWORD_LANGUAGE = tuple(_STOP_INDEX[word.strip()][0] for word in _STOPWORDS.words)


def quick(text: str) -> str | None:
    """The language whose function words plainly dominate the text's start, or None when that is not plain: then
    only the model can tell. Read from the start, the first language to reach 3 hits of words only it has, more
    than twice any other's, is the answer; reading stops there (most texts are settled in their first words)."""
    found = map(_STOPWORD_LANGUAGE.__getitem__, _STOPWORDS.found(_spaced_words(text[:QUICK_SAMPLE])))
    first = tuple(islice(found, 3))
    if len(first) == 3 and first[0] == first[1] == first[2]:
        return first[0]  # what the loop below decides at the third hit (most texts): without the loop
    counts: dict[str, int] = {}
    for language in chain(first, found):
        hits = counts[language] = counts.get(language, 0) + 1
        if hits >= 3 and all(hits > 2 * n for other, n in counts.items() if other != language):
            return language
    return None


_NOT_ASCII_LETTERS = bytes(c for c in range(128) if not chr(c).isalpha())


def letters(text: str, enough: int = 1_000_000) -> int:
    """Letters in ``text``, counting stops at ``enough``. ASCII text is counted in C (bytes.translate deletes what
    is not a letter): three times faster than the loop, which the rest still goes through."""
    if text.isascii():
        return min(len(text.encode("ascii").translate(None, _NOT_ASCII_LETTERS)), enough)
    count = 0
    for ch in text:
        if ch.isalpha():
            count += 1
            if count >= enough:
                break
    return count


def same_language(a: str, b: str) -> bool:
    return a == b or (a in _FAMILY and _FAMILY.get(a) == _FAMILY.get(b))


class Detector:
    """Loads the model once (about half a second), on first use or at ``load()``; thread-safe to share."""

    def __init__(self, languages: list[str] | None = None):
        self.languages = languages
        self._identifier: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        if self._identifier is not None:
            return
        with self._lock:
            if self._identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                if self.languages:
                    identifier.set_languages(self.languages)
                self._identifier = identifier

    def known(self) -> list[str]:
        self.load()
        return list(self._identifier.labels)

    def detect(self, text: str) -> tuple[str, float]:
        """(ISO 639-1 code, probability) of an already cleaned text."""
        self.load()
        language, confidence = self._identifier.classify(text[:SAMPLE])
        return str(language), float(confidence)
