"""PII redaction accuracy and speed harness: glassbox's redaction engine against stock Presidio.

``python -m bench.pii --texts 2000 --seed 7`` generates a labelled, seeded corpus (``corpus.py``) and prints
texts/s, MB/s and per-entity precision / recall / leaked counts for both (``harness.py``).
"""
