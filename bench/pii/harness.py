"""Run glassbox's redaction engine and stock Presidio over the same corpus; print speed and accuracy.

Stock Presidio is what a user would write: ``AnalyzerEngine`` with the same NLP engine (``no_op``, or the
same spaCy model) and ``entities=`` the same list glassbox detects by default, then ``AnonymizerEngine`` —
text by text, every text of the stream (it has no cache). glassbox is ``RedactionEngine`` with its default
settings (or the ``--nlp-engine``/``--workers`` given): a fresh engine per run, so its cache starts empty; the
stream is fed in batches of ``--batch-calls`` LLM calls, as a relay receives spans in export batches. Both
get the same warm-up text before timing. Throughput counts every text of the stream (MB/s: its UTF-8 size).

Accuracy is scored on the distinct texts (each once), per entity type, from each system's findings:

* precision — findings of the type that overlap a label of the type / all findings of the type;
* recall — labels with an overlapping finding of the same type / labels;
* leaked — labels no finding of any type touches: the value went out verbatim;
* partial — labels touched but with letters/digits left uncovered (glassbox and stock alike).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bench.pii.corpus import Corpus

Span = tuple[str, int, int]  # entity, start, end


@dataclass
class RunResult:
    seconds: float
    findings: dict[int, list[Span]]  # distinct text index -> findings
    outputs: dict[int, str]
    failed: int = 0


@dataclass
class Score:
    labels: int = 0
    tp: int = 0  # findings that hit a label of their type
    fp: int = 0
    found: int = 0  # labels hit by a finding of their type
    leaked: int = 0
    partial: int = 0

    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    def recall(self) -> float | None:
        return self.found / self.labels if self.labels else None


@dataclass
class Report:
    corpus: str
    texts: int
    distinct: int
    megabytes: float
    stock_seconds: list[float] = field(default_factory=list)
    glassbox_seconds: list[float] = field(default_factory=list)
    stock_scores: dict[str, Score] = field(default_factory=dict)
    glassbox_scores: dict[str, Score] = field(default_factory=dict)
    glassbox_failed: int = 0
    cache: dict[str, float] = field(default_factory=dict)


# --- the two systems -------------------------------------------------------------------------------------------


def stock_presidio(entities: list[str], nlp_engine: str) -> Any:
    """Presidio as documented: an AnalyzerEngine and an AnonymizerEngine (offline tldextract, quiet logs)."""
    import logging
    import os

    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    if nlp_engine == "none":
        conf = {"nlp_engine_name": "no_op", "models": [{"lang_code": "en", "model_name": "no_op"}]}
    else:
        from pathlib import Path

        import presidio_analyzer
        import yaml

        default = yaml.safe_load((Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml").read_text())
        conf = {
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": nlp_engine}],
            "ner_model_configuration": default["ner_model_configuration"],
        }
    analyzer = AnalyzerEngine(
        nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine(), supported_languages=["en"]
    )
    supported = set(analyzer.get_supported_entities("en"))
    return analyzer, AnonymizerEngine(), [e for e in entities if e in supported]


def run_stock(system: Any, corpus: Corpus, warm_up: str) -> RunResult:
    analyzer, anonymizer, entities = system
    anonymizer.anonymize(warm_up, analyzer.analyze(warm_up, language="en", entities=entities))
    findings: dict[int, list[Span]] = {}
    outputs: dict[int, str] = {}
    stream = corpus.stream()
    texts = [corpus.texts[i].text for i in stream]
    gc.collect()  # neither system pays for the other's garbage
    start = time.perf_counter()
    for i, text in zip(stream, texts):
        results = analyzer.analyze(text, language="en", entities=entities)
        out = anonymizer.anonymize(text, results).text
        if i not in findings:
            findings[i] = [(r.entity_type, r.start, r.end) for r in results]
            outputs[i] = out
    return RunResult(time.perf_counter() - start, findings, outputs)


def run_glassbox(settings: Any, corpus: Corpus, batch_calls: int) -> tuple[RunResult, dict[str, float]]:
    from glassbox.processors.redaction.engine import RedactionEngine

    engine = RedactionEngine(settings)
    engine.start()
    try:
        findings: dict[int, list[Span]] = {}
        outputs: dict[int, str] = {}
        failed = 0
        batches = [corpus.calls[i : i + batch_calls] for i in range(0, len(corpus.calls), batch_calls)]
        texts = [[(i, corpus.texts[i].text) for call in batch for i in call] for batch in batches]
        engine.redact_sync([f"warm-up {i}" for i in range(engine.workers)])  # a relay's workers are already up
        engine.cache.clear()
        gc.collect()
        start = time.perf_counter()
        results = [engine.redact_sync([t for _, t in batch]) for batch in texts]
        seconds = time.perf_counter() - start
        for batch, done in zip(texts, results):
            for i, text in batch:
                outcome = done[text]
                if i in findings:
                    continue
                findings[i] = [(f.entity, f.start, f.end) for f in outcome.findings]
                outputs[i] = outcome.text if outcome.text is not None else text
                failed += outcome.error is not None
        return RunResult(seconds, findings, outputs, failed), {
            **engine.gauges(),
            **{f"texts_{k}": v for k, v in engine.texts.items()},
        }
    finally:
        engine.shutdown()


# --- scoring ---------------------------------------------------------------------------------------------------


def score(corpus: Corpus, findings: dict[int, list[Span]]) -> dict[str, Score]:
    scores: dict[str, Score] = defaultdict(Score)
    for i, item in enumerate(corpus.texts):
        found = findings.get(i)
        if found is None:
            continue
        for entity, start, end in found:
            hit = any(lab.type == entity and start < lab.end and lab.start < end for lab in item.labels)
            if hit:
                scores[entity].tp += 1
            else:
                scores[entity].fp += 1
        for lab in item.labels:
            s = scores[lab.type]
            s.labels += 1
            touching = [(st, en) for _, st, en in found if st < lab.end and lab.start < en]
            if any(e == lab.type and st < lab.end and lab.start < en for e, st, en in found):
                s.found += 1
            if not touching:
                s.leaked += 1
                continue
            covered: set[int] = set()
            for st, en in touching:
                covered.update(range(max(st, lab.start), min(en, lab.end)))
            if any(item.text[k].isalnum() and k not in covered for k in range(lab.start, lab.end)):
                s.partial += 1
    return dict(scores)


def measure(corpus: Corpus, runs: int, settings: Any, batch_calls: int, stock: Any, warm_up: str) -> Report:
    stream = corpus.stream()
    report = Report(
        corpus.name, len(stream), len(corpus.texts), sum(len(corpus.texts[i].text.encode()) for i in stream) / 1e6
    )
    for run in range(runs):
        s = run_stock(stock, corpus, warm_up)
        g, gauges = run_glassbox(settings, corpus, batch_calls)
        report.stock_seconds.append(s.seconds)
        report.glassbox_seconds.append(g.seconds)
        if run == 0:
            report.stock_scores = score(corpus, s.findings)
            report.glassbox_scores = score(corpus, g.findings)
            report.glassbox_failed = g.failed
            report.cache = gauges
    return report


# --- printing --------------------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{value * 100:5.1f}%"


def render(report: Report) -> str:
    n = report.texts
    stock_tps = [n / s for s in report.stock_seconds]
    gb_tps = [n / s for s in report.glassbox_seconds]
    ratios = [s / g for s, g in zip(report.stock_seconds, report.glassbox_seconds)]
    lines = [
        f"corpus {report.corpus}: {n} texts in the stream ({report.distinct} distinct), {report.megabytes:.2f} MB; "
        f"{len(ratios)} run(s), medians",
        f"  {'system':<16}{'texts/s':>10}{'MB/s':>9}   runs (texts/s)",
        f"  {'stock presidio':<16}{statistics.median(stock_tps):>10.0f}"
        f"{report.megabytes / statistics.median(report.stock_seconds):>9.2f}   "
        + " ".join(f"{v:.0f}" for v in stock_tps),
        f"  {'glassbox':<16}{statistics.median(gb_tps):>10.0f}"
        f"{report.megabytes / statistics.median(report.glassbox_seconds):>9.2f}   "
        + " ".join(f"{v:.0f}" for v in gb_tps),
        f"  speed-up (stock time / glassbox time, per run): median {statistics.median(ratios):.1f}x  ["
        + ", ".join(f"{r:.1f}x" for r in ratios)
        + "]",
        f"  glassbox texts: {int(report.cache.get('texts_analyzed', 0))} analysed by Presidio, "
        f"{int(report.cache.get('texts_skipped', 0))} skipped by the prefilter, "
        f"{int(report.cache.get('texts_cache_hit', 0))} cache hits, "
        f"{int(report.cache.get('texts_deduplicated', 0))} duplicates within a batch, "
        f"{report.glassbox_failed} failed closed",
        f"  glassbox cache: hit ratio {report.cache.get('cache_hit_ratio', 0):.2f} of lookups, "
        f"{int(report.cache.get('cache_entries', 0))} entries, {report.cache.get('cache_bytes', 0) / 1e6:.2f} MB",
        "",
        f"  {'entity':<18}{'labels':>7} | {'stock P':>7}{'R':>7}{'leaked':>7}{'partial':>8} | "
        f"{'glassbox P':>10}{'R':>7}{'leaked':>7}{'partial':>8}",
    ]
    entities = sorted(
        set(report.stock_scores) | set(report.glassbox_scores),
        key=lambda e: (-(report.stock_scores.get(e) or report.glassbox_scores.get(e) or Score()).labels, e),
    )
    for e in entities:
        s = report.stock_scores.get(e, Score())
        g = report.glassbox_scores.get(e, Score())
        labels = max(s.labels, g.labels)
        lines.append(
            f"  {e:<18}{labels:>7} | {_pct(s.precision()):>7}{_pct(s.recall()):>7}{s.leaked:>7}{s.partial:>8} | "
            f"{_pct(g.precision()):>10}{_pct(g.recall()):>7}{g.leaked:>7}{g.partial:>8}"
        )
    return "\n".join(lines)


def floors(report: Report, min_ratio: float) -> list[str]:
    """The issue's floors, as failures (empty = met)."""
    problems = []
    ratio = statistics.median(s / g for s, g in zip(report.stock_seconds, report.glassbox_seconds))
    if ratio < min_ratio:
        problems.append(f"{report.corpus}: speed-up {ratio:.1f}x < {min_ratio}x")
    for e, s in report.stock_scores.items():
        g = report.glassbox_scores.get(e, Score())
        if s.labels and (g.recall() or 0) < (s.recall() or 0):
            problems.append(f"{report.corpus}: {e} recall {_pct(g.recall())} < stock {_pct(s.recall())}")
    for e in ("EMAIL_ADDRESS", "US_SSN", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS"):
        leaked = report.glassbox_scores.get(e, Score()).leaked
        if leaked:
            problems.append(f"{report.corpus}: {leaked} {e} leaked")
    return problems


def entities_of(reports: Iterable[Report]) -> set[str]:
    return {e for r in reports for e in r.glassbox_scores}
