"""Presidio, set up once per worker process: recognizers, NLP engine, anonymizer, per-text deadlines.

Presidio stays the source of truth: its recognizers, context words, validators (Luhn, IBAN checksum, SSN
rules) and anonymizer operators do the work. What is added here, and why:

* ``PanRecognizer``, ``EmailAnyTldRecognizer``, a case-sensitive ``IbanRecognizer`` (``recognizers.py``) —
  cards, e-mail addresses and IBANs Presidio's defaults miss (Mastercard 2221–2720, 12/19-digit PANs;
  addresses on non-public TLDs; IBANs followed by a word). Floors: zero leaked e-mails, cards and IBANs.
* ``GlassboxPhoneRecognizer`` — Presidio's ``PhoneRecognizer`` with regions from config and phonenumbers'
  matcher sped up without changing a match (``phone.py``).
* ``ContextNlpEngine`` — Presidio's ``no_op`` engine, but the text is tokenized (a regex, lowercase word as
  lemma, no model weights) lazily, only around a match the context enhancer asks about, so context words
  work without NER and cost nothing on texts where nothing was found (``nlp.py``).
* ``GuardedSpacyNlpEngine`` — never downloads a model (Presidio's would call ``spacy download``, which hangs
  offline); components NER does not need are left out.
* The prefilter (``gates.py``) picks the entities worth looking for per text, before Presidio runs.
* Fail closed per text: a deadline (SIGALRM in a worker's main thread, elapsed time otherwise), Presidio's own
  regex timeout turned from "skip the pattern" into a failure, any exception → an ``Outcome`` with ``error``.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # before tldextract is imported (Presidio #1205)

from glassbox.processors.redaction.config import RedactionConfig  # noqa: E402
from glassbox.processors.redaction.overlaps import resolve  # noqa: E402

log = logging.getLogger("glassbox.processors.redaction")
LANGUAGE = "en"


WARM_UP = (
    "Hi, I'm Dana (dana.r@example.com, +1 415-555-0137, 020 7946 0958, +49 30 901820, 01 42 68 53 00, "
    "+972 3-123-4567, +91 98765 43210, +55 11 91234-5678). Card 4111 1111 1111 1111, SSN 536-22-8741, "
    "IBAN DE89370400440532013000, IP 10.0.0.5 and fe80::1, account 12345678, license D1234567."
)


class Finding(NamedTuple):
    entity: str
    start: int
    end: int
    score: float


class Outcome(NamedTuple):
    """One text's result: ``text`` is the redacted text (None = unchanged); ``error`` means failed closed;
    ``skipped``: the prefilter showed no recognizer could match, Presidio did not run."""

    text: str | None
    findings: tuple[Finding, ...] = ()
    drop: bool = False
    error: str | None = None
    skipped: bool = False


class TextTimeout(BaseException):
    """Raised by the per-text alarm; a BaseException so no ``except Exception`` on the way swallows it."""


class ModelNotInstalled(RuntimeError):
    pass


_state = threading.local()


class _PresidioTimeouts(logging.Filter):
    """Presidio logs and *skips* a pattern whose regex timed out; for us that text failed. Everything below
    ERROR from Presidio is dropped (it warns about every recognizer it does not load)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "timed out" in str(record.msg):
            _state.regex_timeout = True
            return False
        return record.levelno >= logging.ERROR


class _ShallowCopy:
    """Stands in for the ``copy`` module inside Presidio's context enhancer, whose ``copy.deepcopy(results)``
    (results, explanations, metadata dicts) is a tenth of the analysis time. The list it copies is built
    fresh by ``AnalyzerEngine.analyze`` for that one call and dropped afterwards, so updating its results in
    place is what the deep copy protected against nothing."""

    @staticmethod
    def deepcopy(value: Any) -> Any:
        return list(value)


def tune_presidio(regex_timeout: float) -> None:
    """Silence Presidio's logs, keep tldextract offline, make Presidio's regex timeout ours, and drop per-call
    costs (the enhancer's deep copy; re's 512-entry cache, which phonenumbers' patterns overflow; phonenumbers
    recompiling metadata patterns through it)."""
    import re

    logger = logging.getLogger("presidio-analyzer")
    logger.setLevel(logging.WARNING)
    if not any(isinstance(f, _PresidioTimeouts) for f in logger.filters):
        logger.addFilter(_PresidioTimeouts())
    logging.getLogger("presidio-anonymizer").setLevel(logging.ERROR)
    import tldextract.tldextract as tld

    if not getattr(tld.TLD_EXTRACTOR, "_glassbox", False):
        # The bundled public suffix snapshot: no fetch, no cache directory (read-only containers).
        extractor = tld.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
        extractor("warm.example.com")  # builds the suffix trie now, not on the first e-mail
        extractor._glassbox = True  # type: ignore[attr-defined]  # marks our extractor as installed
        tld.TLD_EXTRACTOR = extractor
    from presidio_analyzer.context_aware_enhancers import lemma_context_aware_enhancer

    set_regex_timeout(regex_timeout)
    lemma_context_aware_enhancer.copy = _ShallowCopy  # type: ignore[assignment]  # see _ShallowCopy
    re._MAXCACHE = max(getattr(re, "_MAXCACHE", 512), 8192)  # type: ignore[attr-defined]
    from phonenumbers import re_util

    re_util.enable_pattern_cache()  # phonenumbers' own switch: keep compiled metadata patterns, skip re's cache


def set_regex_timeout(seconds: float) -> None:
    """Presidio reads ``REGEX_TIMEOUT_SECONDS`` (a module global) at every match; set per text, so redactors
    with different ``text_timeout`` can share a process."""
    from presidio_analyzer import analyzer_engine, pattern_recognizer
    from presidio_analyzer.predefined_recognizers.generic import iban_recognizer

    for module in (analyzer_engine, pattern_recognizer, iban_recognizer):
        module.REGEX_TIMEOUT_SECONDS = seconds  # type: ignore[attr-defined]


def model_problem(name: str) -> str | None:
    """Why ``nlp_engine: name`` cannot be loaded without a download, or None if it can."""
    if name == "none" or Path(name).exists() or importlib.util.find_spec(name.replace("-", "_")) is not None:
        return None
    return (
        f"spaCy model {name!r} is not installed, and glassbox never downloads one. Install it with "
        f"`python -m spacy download {name}` (or `pip install <model wheel>`), or set "
        f"processors.redaction.nlp_engine to a model directory, or to none"
    )


def startup_problems(settings: RedactionConfig, deep: bool = False) -> list[tuple[str, str]]:
    """What would stop the redaction processor from starting, as (key, message), without starting it.

    Fast checks always (every entity name is one something detects; the spaCy model is installed; every
    ``class_path`` imports and is a Presidio ``EntityRecognizer``); with ``deep``, the analyzer is also built
    once in this process, so ``glassbox validate`` refuses whatever ``glassbox run`` would (a recognizer that
    raises)."""
    from glassbox.processors.redaction.config import entity_problems

    problems = entity_problems(settings)
    problem = model_problem(settings.nlp_engine)
    if problem:
        problems.append(("nlp_engine", problem))
    for i, custom in enumerate(settings.custom_recognizers):
        if not custom.class_path:
            continue
        from presidio_analyzer import EntityRecognizer

        key = f"custom_recognizers[{i}].class_path"
        try:
            cls = _import(custom.class_path)
        except Exception as exc:  # noqa: BLE001 — any import failure is the user's to fix
            problems.append((key, f"cannot import {custom.class_path!r}: {type(exc).__name__}: {exc}"))
            continue
        if not (isinstance(cls, type) and issubclass(cls, EntityRecognizer)):
            problems.append((key, f"{custom.class_path!r} is not a Presidio EntityRecognizer subclass"))
    if deep and not problems:
        try:
            Redactor(settings)
        except Exception as exc:  # noqa: BLE001
            problems.append(("", f"the analyzer cannot be built: {type(exc).__name__}: {exc}"))
    return problems


def _import(path: str) -> Any:
    module, _, attr = path.partition(":") if ":" in path else path.rpartition(".")
    if not module or not attr:
        raise ValueError("write it as 'package.module:ClassName'")
    return getattr(importlib.import_module(module), attr)


def build_recognizers(settings: RedactionConfig, nlp_engine: Any) -> list[Any]:
    """Presidio's English predefined recognizers for the configured entities, plus ours and custom ones."""
    from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.predefined_recognizers import (
        EmailRecognizer,
        IpRecognizer,
        NhsRecognizer,
        PhoneRecognizer,
        UsBankRecognizer,
        UsSsnRecognizer,
    )

    from glassbox.processors.redaction.recognizers import (
        EmailAnyTldRecognizer,
        GlassboxBankRecognizer,
        GlassboxIpRecognizer,
        GlassboxNhsRecognizer,
        GlassboxPhoneRecognizer,
        GlassboxSsnRecognizer,
        PanRecognizer,
        case_sensitive_iban,
    )

    entities = settings.resolved_entities()
    window = (settings.context.words_before, settings.context.words_after)
    stock = RecognizerRegistry(supported_languages=[LANGUAGE])
    stock.load_predefined_recognizers(languages=[LANGUAGE], nlp_engine=nlp_engine)
    chosen: list[Any] = []
    for rec in stock.recognizers:
        if not set(rec.supported_entities) & set(entities):
            continue
        if isinstance(rec, PhoneRecognizer):
            rec = GlassboxPhoneRecognizer(supported_regions=tuple(settings.phone_regions))
        elif type(rec) is EmailRecognizer:
            rec = EmailAnyTldRecognizer()
        elif type(rec) is UsSsnRecognizer:  # fewer false positives, same patterns (recognizers.py)
            rec = GlassboxSsnRecognizer(context_window=window)
        elif type(rec) is NhsRecognizer:
            rec = GlassboxNhsRecognizer(context_window=window)
        elif type(rec) is IpRecognizer:
            rec = GlassboxIpRecognizer()
        elif type(rec) is UsBankRecognizer:
            rec = GlassboxBankRecognizer()
        if hasattr(rec, "supported_entities") and type(rec).__name__ == "SpacyRecognizer":
            rec.supported_entities = [e for e in rec.supported_entities if e in entities]
        chosen.append(rec)
    if "CREDIT_CARD" in entities:
        chosen.append(PanRecognizer())
    if "IBAN_CODE" in entities:
        chosen.append(case_sensitive_iban())
    for custom in settings.custom_recognizers:
        if custom.class_path:
            cls = _import(custom.class_path)
            if not (isinstance(cls, type) and issubclass(cls, EntityRecognizer)):
                raise TypeError(
                    f"custom recognizer {custom.name}: {custom.class_path} is not a Presidio EntityRecognizer"
                )
            kwargs = dict(custom.kwargs)
            kwargs.setdefault("supported_entities", [custom.entity])
            kwargs.setdefault("name", custom.name)
            chosen.append(cls(**kwargs))
        else:
            optional: dict[str, Any] = {  # Presidio takes None for "none of these"
                "patterns": [Pattern(p.name, p.regex, p.score) for p in custom.patterns] or None,
                "deny_list": custom.deny_list or None,
                "context": custom.context or None,
            }
            chosen.append(
                PatternRecognizer(
                    supported_entity=custom.entity,
                    name=custom.name,
                    supported_language=LANGUAGE,
                    deny_list_score=custom.deny_list_score,
                    **optional,
                )
            )
    found = {e for rec in chosen for e in rec.supported_entities}
    missing = [e for e in entities if e not in found]
    if missing:
        raise ValueError(
            f"no recognizer for entities {missing}"
            + (
                "; PERSON/LOCATION/NRP/ORGANIZATION need nlp_engine set to a spaCy model"
                if settings.nlp_engine == "none"
                else ""
            )
        )
    for rec in chosen:
        thresholds = {e: t for e, t in settings.entity_thresholds.items() if e in rec.supported_entities}
        if thresholds:
            rec.score_thresholds = {**rec.score_thresholds, **thresholds}
    return chosen


def build_nlp_engine(settings: RedactionConfig) -> Any:
    if settings.nlp_engine == "none":
        from glassbox.processors.redaction.nlp import ContextNlpEngine

        return ContextNlpEngine(tokenize=settings.context.enabled)
    problem = model_problem(settings.nlp_engine)
    if problem:
        raise ModelNotInstalled(problem)
    from glassbox.processors.redaction.nlp import GuardedSpacyNlpEngine

    # DATE_TIME is the one NER entity not written capitalised ("tomorrow"): the sentence gate would miss it.
    named = settings.ner_sentences == "named" and "DATE_TIME" not in settings.resolved_entities()
    return GuardedSpacyNlpEngine(settings.nlp_engine, named_sentences_only=named)


class Redactor:
    """Analyse + anonymize texts in this process. Used inside workers (and in-process with ``workers: 0``)."""

    def __init__(self, settings: RedactionConfig, use_alarm: bool = False):
        """``use_alarm``: this process is a redaction worker, and its main thread may own SIGALRM for per-text
        deadlines (never in the relay process: its main thread runs the event loop)."""
        tune_presidio(settings.text_timeout)
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_anonymizer import AnonymizerEngine
        from presidio_anonymizer.entities import OperatorConfig

        from glassbox.processors.redaction import gates, views
        from glassbox.processors.redaction.nlp import WindowedContextEnhancer

        self.settings = settings
        self.timeout = settings.text_timeout
        self.normalize, self.decoded = views.normalize, views.decoded  # the other readings of a text (_one)
        self.nlp_engine = build_nlp_engine(settings)
        self.nlp_engine.load()
        registry = RecognizerRegistry(supported_languages=[LANGUAGE])
        registry.recognizers = build_recognizers(settings, self.nlp_engine)
        ctx = settings.context
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no_op engine has no lemmas": ours does, lazily
            self.analyzer = AnalyzerEngine(
                registry=registry,
                nlp_engine=self.nlp_engine,
                supported_languages=[LANGUAGE],
                default_score_threshold=settings.score_threshold,
                context_aware_enhancer=WindowedContextEnhancer(
                    context_similarity_factor=ctx.similarity_factor if ctx.enabled else 0.0,
                    min_score_with_context_similarity=ctx.min_score_with_context if ctx.enabled else 0.0,
                    context_prefix_count=ctx.words_before,
                    context_suffix_count=ctx.words_after,
                ),
            )
        self.entities = settings.resolved_entities()
        by_entity: dict[str, list[Any]] = {}
        for rec in registry.recognizers:
            for entity in rec.supported_entities:
                by_entity.setdefault(entity, []).append(rec)
        self.gated = sorted(e for e in self.entities if gates.trusted(e, by_entity.get(e, [])))
        self.needs_context = self._context_gates(by_entity) if settings.nlp_engine == "none" else {}
        phones = [r for r in registry.recognizers if hasattr(r, "could_match")]
        overrides = (
            {"PHONE_NUMBER": phones[0].could_match}
            if len(by_entity.get("PHONE_NUMBER", [])) == 1 == len(phones)
            else {}
        )
        self.prefilter = gates.Prefilter(self.entities, self.gated, self.needs_context, overrides, alone=use_alarm)
        self.ner = settings.nlp_engine != "none"
        self.anonymizer = AnonymizerEngine()
        self.operators = {"DEFAULT": OperatorConfig("replace")}
        self.drop = set()
        salt = settings.hash_salt.get_secret_value() if settings.hash_salt else None
        for key, op in settings.operators.items():
            if op.type == "drop":
                self.drop.add(key)
                self.operators[key] = OperatorConfig("replace")
            elif op.type == "replace":
                self.operators[key] = OperatorConfig("replace", {"new_value": op.new_value} if op.new_value else {})
            elif op.type == "mask":
                self.operators[key] = OperatorConfig(
                    "mask",
                    {"masking_char": op.masking_char, "chars_to_mask": op.chars_to_mask, "from_end": op.from_end},
                )
            else:
                self.operators[key] = OperatorConfig("hash", {"hash_type": op.hash_type, "salt": salt})
        self.allow_list = list(settings.allow_list) or None
        from presidio_analyzer import pattern_recognizer

        self._regex_timeout_modules = (pattern_recognizer,)
        self.use_alarm = (
            use_alarm and threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
        )
        if self.use_alarm:
            signal.signal(signal.SIGALRM, _alarm)
        # Every recognizer once (prefilter off): phonenumbers metadata loads and Presidio compiles its patterns
        # at startup, not on the first span that needs them.
        self.redact([WARM_UP], prefilter=False)

    def _context_gates(self, by_entity: dict[str, list[Any]]) -> dict[str, list[str]]:
        """Entities whose results can only pass their threshold with a context boost → their context words.

        Only for plain pattern recognizers (no validator that lifts scores to 1.0) and gated entities."""
        from presidio_analyzer import PatternRecognizer

        out: dict[str, list[str]] = {}
        for entity in self.gated:
            threshold = self.settings.entity_thresholds.get(entity, self.settings.score_threshold)
            words: set[str] = set()
            for rec in by_entity.get(entity, []):
                plain = (
                    isinstance(rec, PatternRecognizer)
                    and rec.patterns  # type: ignore[has-type]
                    and type(rec).validate_result is PatternRecognizer.validate_result
                    and type(rec).enhance_using_context is PatternRecognizer.enhance_using_context
                )
                if not plain or max(p.score for p in rec.patterns) >= threshold:
                    break
                words |= {w.lower() for w in rec.context or ()} if self.settings.context.enabled else set()
            else:
                out[entity] = sorted(words)
        return out

    # --- analysis ------------------------------------------------------------------------------------------

    def redact(self, texts: Iterable[str], prefilter: bool = True) -> list[Outcome]:
        """Redact each text (the prefilter picks the entities to look for; ``prefilter=False`` looks for all
        configured entities, which tests use to show the prefilter changes nothing). Never raises."""
        items = [(text, self.prefilter(text) if prefilter else None) for text in texts]
        artifacts = self._ner(items) if self.ner else {}
        out = []
        for i, (text, entities) in enumerate(items):
            art = artifacts.get(i)
            out.append(art if isinstance(art, Outcome) else self._one(text, entities, art))
        return out

    def _ner(self, items: list[tuple[str, tuple[str, ...] | None]]) -> dict[int, Any]:
        """spaCy over the batch with ``nlp.pipe`` (batched, faster than text by text), under one deadline."""
        results: dict[int, Any] = {}
        texts = [(text, i) for i, (text, entities) in enumerate(items) if entities is None or entities]
        try:
            with self._deadline(self.timeout * max(1, len(texts))):
                for _text, art, i in self.nlp_engine.process_batch(texts, LANGUAGE, as_tuples=True, batch_size=32):
                    results[i] = art
        except TextTimeout:
            return {i: Outcome(None, error="timeout") for _, i in texts}
        except Exception as exc:  # the model failed: every text of the batch fails closed
            log.warning("redaction: NER failed (%s); failing closed", type(exc).__name__)
            return {i: Outcome(None, error="error") for _, i in texts}
        return results

    def _one(self, text: str, entities: tuple[str, ...] | None, artifacts: Any = None) -> Outcome:
        """Analyse ``text``, its normalized view and its decoded candidates (``views.py``) under one deadline;
        anonymize the original with the findings of all of them, mapped back to original offsets."""
        gate = entities is not None  # False: redact(prefilter=False), every entity everywhere
        _state.regex_timeout = False
        if self._regex_timeout_modules[0].REGEX_TIMEOUT_SECONDS != self.timeout:
            set_regex_timeout(self.timeout)
        started = time.perf_counter()
        try:
            with self._deadline(self.timeout):
                view = self.normalize(text)
                candidates = self.decoded(view[0] if view else text)
                if gate and not entities and view is None and not candidates:
                    return Outcome(None, skipped=True)
                results = list(self._analyze(text, entities, artifacts)) if not gate or entities else []
                extra = self._views(text, view, candidates, gate)
                if _state.regex_timeout or time.perf_counter() - started > self.timeout:
                    return Outcome(None, error="timeout")
                results = self._merge(results, extra)
                results = resolve(results)  # one entity per span: findings (tags) = what is replaced
                if not results:
                    return Outcome(None)
                found: Any = results  # presidio_analyzer's RecognizerResult; the anonymizer's twin type accepts it
                anonymized = self.anonymizer.anonymize(text, found, operators=self.operators).text
            findings = tuple(
                Finding(r.entity_type, r.start, r.end, round(r.score, 3))
                for r in sorted(results, key=lambda r: (r.start, r.end))
            )
            drop = bool(self.drop) and any(self._drops(f.entity) for f in findings)
            return Outcome(anonymized if anonymized != text else None, findings, drop)
        except TextTimeout:  # also when the alarm lands just as the deadline is being cancelled
            return Outcome(None, error="timeout")
        except Exception as exc:  # noqa: BLE001 — fail closed, say what kind of failure (never the text)
            log.warning("redaction failed closed: %s", type(exc).__name__)
            return Outcome(None, error="error")

    def _analyze(self, text: str, entities: tuple[str, ...] | None, artifacts: Any = None) -> list[Any]:
        return self.analyzer.analyze(
            text,
            language=LANGUAGE,
            entities=list(entities or self.entities),
            nlp_artifacts=artifacts,
            allow_list=self.allow_list,
        )

    def _read(self, text: str, gate: bool) -> list[Finding]:
        """Presidio's findings in a view or candidate (prefiltered like the original if ``gate``), overlaps
        resolved here, while the recognizers' metadata (which ``resolve`` reads) is still attached."""
        entities = self.prefilter(text) if gate else None
        if gate and not entities:
            return []
        return [Finding(r.entity_type, r.start, r.end, r.score) for r in resolve(self._analyze(text, entities))]

    def _read_mapped(self, view: str, to_text: Any, gate: bool) -> list[Finding]:
        """``_read`` of a view, its findings mapped back through the view's offset map."""
        return [f._replace(start=s, end=e) for f in self._read(view, gate) for s, e in [to_text(f.start, f.end)]]

    def _scan(self, text: str, gate: bool) -> list[Finding]:
        """Findings in a decoded ``text`` and in its normalized view, in ``text``'s offsets."""
        out = self._read(text, gate)
        view = self.normalize(text)
        if view is not None:
            reading, to_text = view
            out += self._read_mapped(reading, to_text, gate)
        return out

    def _views(self, text: str, view: tuple[str, Any] | None, candidates: list[Any], gate: bool) -> list[Finding]:
        """Findings of the normalized view and of the decoded candidates, in ``text``'s offsets. A finding of an
        in-place decoding only counts where it covers a decoded character (the original analysis saw the rest);
        a finding in decoded base64 covers the whole run."""
        base = view[0] if view is not None else text
        to_text = view[1] if view is not None else None
        out = []
        if to_text is not None:
            out += self._read_mapped(base, to_text, gate)
        for c in candidates:
            for f in self._scan(c.text, gate):
                if c.to_original is None:
                    start, end = c.start, c.end
                else:
                    start, end = c.to_original(f.start, f.end)
                    if base[start:end] == c.text[f.start : f.end]:
                        continue
                if to_text is not None:
                    start, end = to_text(start, end)
                out.append(f._replace(start=start, end=end))
        return out

    @staticmethod
    def _merge(results: list[Any], extra: list[Finding]) -> list[Any]:
        """The original analysis's results plus the views' findings. A view finding inside an original result
        adds nothing; one that overlaps others merges with them into one result spanning them all, labelled
        with the widest; groups of original results alone are left as Presidio returned them."""
        extra = [f for f in extra if not any(r.start <= f.start and f.end <= r.end for r in results)]
        if not extra:
            return results
        from presidio_analyzer import RecognizerResult

        items = sorted(
            [(r.start, r.end, r, None) for r in results] + [(f.start, f.end, None, f) for f in extra],
            key=lambda item: (item[0], item[1]),
        )
        groups: list[list[Any]] = []
        reach = -1  # end of the current group
        for item in items:
            if item[0] < reach:
                groups[-1].append(item)
            else:
                groups.append([item])
            reach = max(reach, item[1])
        merged = []
        for group in groups:
            if all(finding is None for *_, finding in group):
                merged += [result for *_, result, _ in group]
                continue
            spans = [(f or Finding(r.entity_type, r.start, r.end, r.score), r) for _, _, r, f in group]
            widest, origin = max(spans, key=lambda pair: (pair[0].end - pair[0].start, pair[0].score))
            start, end = min(f.start for f, _ in spans), max(f.end for f, _ in spans)
            score = max(f.score for f, _ in spans)
            metadata = origin.recognition_metadata if origin is not None else {}  # overlaps.resolve reads it
            merged.append(RecognizerResult(widest.entity, start, end, score, recognition_metadata=metadata))
        return merged

    def _drops(self, entity: str) -> bool:
        if entity in self.operators and entity != "DEFAULT":
            return entity in self.drop
        return "DEFAULT" in self.drop

    def _deadline(self, seconds: float) -> _Deadline:
        alarm = self.use_alarm and threading.current_thread() is threading.main_thread()
        return _Deadline(seconds if alarm else 0.0)


def _alarm(signum: int, frame: Any) -> None:
    raise TextTimeout()


class _Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self) -> None:
        if self.seconds:
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: Any) -> None:
        if self.seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)
