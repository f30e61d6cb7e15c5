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
from typing import Any

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


def clean(text: str) -> str:
    return _CLEAN.sub(" ", text)


def letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha())


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
        language, confidence = self._identifier.classify(text)
        return str(language), float(confidence)
