"""Benchmarks and harnesses that ship with the repo (run from the repo root: ``python -m bench.<name>``)."""
