"""Recognizers that misbehave on purpose, loaded by ``class_path`` (so worker processes can import them)."""

from __future__ import annotations

import signal
import time
from typing import Any

from presidio_analyzer import EntityRecognizer


class Exploding(EntityRecognizer):
    """Raises on any text containing EXPLODE (the message carries PII: it must never be logged)."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: Any, nlp_artifacts: Any = None) -> list:
        if "EXPLODE" in text:
            raise RuntimeError(f"cannot handle {text}")
        return []


class Stubborn(EntityRecognizer):
    """On STALL, blocks SIGALRM and sleeps: the per-text alarm cannot stop it, only killing the worker can."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: Any, nlp_artifacts: Any = None) -> list:
        if "STALL" in text:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(60)
        return []


class BrokenAtStart(EntityRecognizer):
    """Imports fine, fails when the analyzer builds it: only building it (``glassbox validate``) can tell."""

    def __init__(self, **kwargs: Any):
        raise RuntimeError("licence file /etc/recognizer.lic not found")

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: Any, nlp_artifacts: Any = None) -> list:
        return []
