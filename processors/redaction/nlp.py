"""The two NLP engines the redaction worker can run; neither ever downloads anything.

``ContextNlpEngine`` (``nlp_engine: none``) is Presidio's ``no_op`` engine — no NER, no model — except that
its artifacts tokenize lazily: Presidio's context enhancer asks for tokens only when a recognizer with context
words found something, and only then is the text tokenized (one regex; the lowercase word stands in for the
lemma, which for context words like "account", "license", "phone" is what a spaCy model's lemma is; spaCy's
English stop-word list filters keywords as in Presidio's spaCy engine). Texts where nothing was found — most
of them — are never tokenized. Not spaCy's tokenizer: it interns every new string in a vocabulary that only
grows (Presidio #198), and it costs more than the recognizers it serves.

``GuardedSpacyNlpEngine`` is Presidio's ``SpacyNlpEngine`` for an *installed* model (package name or
directory). Presidio's own ``load()`` runs ``spacy download`` for a name it cannot find, which hangs offline;
this one raises instead (the processor checks first and prints the install command). It keeps Presidio's
default NER label mapping and ignore list (a custom engine otherwise loses the ignore list and reports
ORGANIZATION for "SSN" and "IBAN"), and leaves out the tagger, attribute ruler and lemmatizer (entities are
unchanged; ~20% faster), using lowercase words as lemmas for context.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NoOpNlpEngine, SpacyNlpEngine


class WindowedContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's enhancer; for glassbox's lazy artifacts the surrounding words come from a window around the
    match (``LazyArtifacts.context_words``), the same words Presidio would find in the whole text."""

    def _extract_surrounding_words(self, nlp_artifacts: NlpArtifacts, word: str, start: int) -> list[str]:
        if isinstance(nlp_artifacts, LazyArtifacts):
            return nlp_artifacts.context_words(start, self.context_prefix_count, self.context_suffix_count)
        return super()._extract_surrounding_words(nlp_artifacts, word, start)


class _Keywords(list):
    """Presidio tests ``lemma in keywords`` once per context word; a set makes that O(1) on long texts."""

    def __init__(self, items: list[str]):
        super().__init__(items)
        self._set = set(items)

    def __contains__(self, item: object) -> bool:
        return item in self._set


# Words: letters/digits joined by . @ ' - _ (so e-mails, numbers like 555-123-4567 and "driver's" stay one
# token, as spaCy keeps them); anything else that is not a space is a one-character token.
_TOKEN = re.compile(r"\w+(?:[.@'’\-/]\w+)*|[^\w\s]")


class LazyArtifacts(NlpArtifacts):
    """Presidio's context enhancer reads ``tokens`` (it only needs their text and length), ``tokens_indices``,
    ``lemmas`` and ``keywords``; they are computed on first read."""

    def __init__(self, text: str, engine: ContextNlpEngine, language: str):  # super() not called on purpose
        self.entities = []
        self.scores = []
        self.nlp_engine = engine
        self._text = text
        self._language = language
        self._words: list[str] | None = None

    def _tokenize(self) -> None:
        if self._words is None:
            words = _TOKEN.findall(self._text) if self.nlp_engine.tokenize else []
            lemmas = [w.lower() for w in words]
            indices = []
            if words:
                pos = 0
                text = self._text
                for w in words:  # findall + find is cheaper than building Match objects
                    pos = text.index(w, pos)
                    indices.append(pos)
                    pos += len(w)
            # Presidio's NlpArtifacts.set_keywords: lowercase lemmas minus stop words and punctuation (our
            # tokens contain no ":" to split on).
            stop = self.nlp_engine.stop_words
            self._keywords = _Keywords(
                [lem for lem in lemmas if lem not in stop and (lem[0].isalnum() or lem[0] == "_") and lem != "-pron-"]
            )
            self._indices = indices
            self._lemmas = lemmas
            self._words = words

    # Presidio's NlpArtifacts holds these as plain attributes; here they are computed on first use.
    @property
    def tokens(self) -> list[str]:  # type: ignore[override]
        self._tokenize()
        return self._words  # type: ignore[return-value]  # set by _tokenize

    @property
    def lemmas(self) -> list[str]:  # type: ignore[override]
        self._tokenize()
        return self._lemmas

    @property
    def tokens_indices(self) -> list[int]:  # type: ignore[override]
        self._tokenize()
        return self._indices

    @property
    def keywords(self) -> list[str]:  # type: ignore[override]
        self._tokenize()
        return self._keywords

    def context_words(self, start: int, before: int, after: int) -> list[str]:
        """What Presidio's ``LemmaContextAwareEnhancer._extract_surrounding_words`` returns for a match at
        ``start`` — the keyword lemmas among the match's token and ``before`` keywords before it, and the match's
        token and ``after`` keywords after it — computed on a window of the text around the match instead of
        the whole text. Windows start and end at whitespace, and tokens never contain whitespace, so the tokens
        inside a window are exactly the whole text's; the window grows until it holds enough keywords."""
        text, stop = self._text, self.nlp_engine.stop_words
        if not self.nlp_engine.tokenize:
            return [""]
        span = 64  # characters each side; grows ×4 until enough keywords fit
        while True:
            lo = max(0, start - span)
            if lo:
                lo = _window_start(text, lo)
            hi = min(len(text), start + span)
            if hi < len(text):
                hi = _window_end(text, hi)
            words = [(m.start(), m.group()) for m in _TOKEN.finditer(text, lo, hi)]
            if not words and lo == 0 and hi == len(text):
                return [""]
            index = next((i for i, (pos, w) in enumerate(words) if pos == start or start < pos + len(w)), None)
            if index is None and hi == len(text):
                raise ValueError("Did not find the match in the list of tokens although it is expected to be found")
            if index is not None:
                back = _collect(words, index, before + 1, -1, stop)
                fwd = _collect(words, index, after + 1, 1, stop)
                enough_back = back[1] or lo == 0
                enough_fwd = fwd[1] or hi == len(text)
                if enough_back and enough_fwd:
                    return list(set(back[0] + fwd[0]))
            span *= 4


def _window_start(text: str, lo: int) -> int:
    """Move ``lo`` back to just after a whitespace character (or 0), so no token is cut."""
    while lo > 0 and not text[lo - 1].isspace():
        lo -= 1
    return lo


def _window_end(text: str, hi: int) -> int:
    while hi < len(text) and not text[hi].isspace():
        hi += 1
    return hi


def _collect(words: list[tuple[int, str]], index: int, n: int, step: int, stop: Any) -> tuple[list[str], bool]:
    """Presidio's ``_add_n_words``: walk from ``index`` collecting up to ``n`` keywords (lowercase, not a stop
    word, not punctuation). Returns (keywords, whether ``n`` were found inside the window)."""
    out: list[str] = []
    i = index
    while 0 <= i < len(words) and len(out) < n:
        lemma = words[i][1].lower()
        if lemma not in stop and (lemma[0].isalnum() or lemma[0] == "_") and lemma != "-pron-":
            out.append(lemma)
        i += step
    return out, len(out) >= n


class ContextNlpEngine(NoOpNlpEngine):
    """No NER; lazily tokenized artifacts so Presidio's context words work (``tokenize=False``: plain no_op)."""

    def __init__(self, tokenize: bool = True):
        from spacy.lang.en.stop_words import STOP_WORDS

        super().__init__(models=[{"lang_code": "en", "model_name": "no_op"}])
        self.tokenize = tokenize
        self.stop_words = STOP_WORDS

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        self._validate_string(text, "text")
        self._validate_loaded_language(language)
        return LazyArtifacts(text, self, language)

    def process_batch(
        self, texts: Any, language: str, batch_size: int = 1, n_process: int = 1, as_tuples: bool = False, **kwargs: Any
    ) -> Any:
        for item in texts:
            text, context = item if as_tuples else (item, None)
            art = self.process_text(str(text), language)
            yield (text, art, context) if as_tuples else (text, art)

    def is_stopword(self, word: str, language: str) -> bool:
        return word in self.stop_words

    def is_punct(self, word: str, language: str) -> bool:
        return not any(c.isalnum() for c in word)


class GuardedSpacyNlpEngine(SpacyNlpEngine):
    # POS tags and rule lemmas only feed context words (lowercase words stand in); the parser stays: its
    # sentence boundaries change a few NER spans, and NER must match stock Presidio with the same model.
    EXCLUDE = ("tagger", "attribute_ruler", "lemmatizer")

    def __init__(self, model: str):
        from presidio_analyzer.nlp_engine import NerModelConfiguration

        from glassbox.processors.redaction.analyzer import ModelNotInstalled, model_problem

        problem = model_problem(model)
        if problem:
            raise ModelNotInstalled(problem)
        self.model = model if Path(model).exists() else model.replace("-", "_")  # pip name → import name
        super().__init__(
            models=[{"lang_code": "en", "model_name": self.model}],
            ner_model_configuration=_default_ner_configuration(NerModelConfiguration),
        )

    @staticmethod
    def _download_spacy_model_if_needed(model_name: str) -> None:
        from glassbox.processors.redaction.analyzer import ModelNotInstalled, model_problem

        problem = model_problem(model_name)
        if problem:
            raise ModelNotInstalled(problem)

    def load(self) -> None:
        import spacy

        self._download_spacy_model_if_needed(self.model)
        nlp = spacy.load(self.model, exclude=[c for c in self.EXCLUDE])
        if "lemmatizer" not in nlp.pipe_names:  # e.g. a pipeline with only an entity_ruler: lowercase lemmas
            nlp.add_pipe("glassbox_lowercase_lemma", last=True)
        self.nlp = {"en": nlp}  # type: ignore[assignment]  # Presidio annotates it as None until loaded

    def _doc_to_nlp_artifact(self, doc: Any, language: str) -> NlpArtifacts:
        artifacts = super()._doc_to_nlp_artifact(doc, language)
        artifacts.keywords = _Keywords(artifacts.keywords)
        return artifacts


def _default_ner_configuration(cls: Any) -> Any:
    """Presidio's packaged default (label mapping + labels_to_ignore), not the bare dataclass defaults."""
    import presidio_analyzer
    import yaml

    conf = yaml.safe_load((Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml").read_text())
    return cls.from_dict(conf["ner_model_configuration"])


def _register_lowercase_lemma() -> None:
    from spacy.language import Language

    if "glassbox_lowercase_lemma" in Language.factories:
        return

    @Language.component("glassbox_lowercase_lemma")
    def lowercase_lemma(doc: Any) -> Any:
        for token in doc:
            if not token.lemma_:
                token.lemma_ = token.lower_
        return doc


try:
    _register_lowercase_lemma()
except ImportError:  # spaCy is a Presidio dependency; without it only the no-tokenizer engine works
    pass
