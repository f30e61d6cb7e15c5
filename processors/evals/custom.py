"""Your own evaluators: ``custom: [{label, function: "package.module:function", kinds: [llm]}]``.

The function is called as ``function(span)`` with the span model (``glassbox.processors.model.Span``), after
redaction when redaction runs first: it must not change the span. It returns one of:

* ``Evaluation`` (``glassbox.processors.model.Evaluation``): used as is (its label becomes the configured one);
  set ``assessment`` to ``"pass"``/``"fail"`` and a short ``reasoning`` there;
* ``bool`` → a boolean metric, ``int``/``float`` → a score, ``str`` → a categorical value, ``dict`` → a JSON
  value (no assessment);
* ``None``: the evaluator does not apply to this span (no metric).

Anything else, or an exception, is counted as an evaluator error for that span and skipped. A custom evaluator
counts as reading content: it is not called on spans whose content was scrubbed or where redaction failed closed.
Its result is not redacted again (it runs after redaction), so it should not copy text into its reasoning. Modules
are imported from the Python path, then from the config file's folder.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from glassbox.processors import model as M
from glassbox.processors.base import Problems
from glassbox.processors.evals.config import CustomEvaluator

TAGS = {"glassbox.evaluator": "custom"}
METRIC_TYPES = ("score", "categorical", "boolean", "json")


class BadReturn(TypeError):
    """A custom evaluator returned something that is not an evaluation."""


def resolve(path: str, base_dir: Path | None = None) -> Callable[[M.Span], Any]:
    """Import ``package.module:function``; raises ImportError, AttributeError or TypeError with a clear message."""
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if base_dir is None or exc.name is None or not module_name.startswith(exc.name):
            raise
        folder = str(base_dir)
        if folder not in sys.path:
            sys.path.append(folder)  # after the installed packages: never shadows them
        module = importlib.import_module(module_name)
    try:
        function = getattr(module, attribute)
    except AttributeError:
        raise AttributeError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not callable(function):
        raise TypeError(f"{path!r} is not callable")
    return function


def problems(custom: list[CustomEvaluator], base_dir: Path | None) -> Problems:
    found: Problems = []
    for i, evaluator in enumerate(custom):
        try:
            resolve(evaluator.function, base_dir)
        except Exception as exc:  # noqa: BLE001 — any import-time failure of the user's module is reported
            found.append(
                (f"custom[{i}].function", f"cannot import {evaluator.function!r}: {type(exc).__name__}: {exc}")
            )
    return found


def as_evaluation(label: str, result: Any) -> M.Evaluation | None:
    """What a custom function returned, as an evaluation (None: not applicable); raises BadReturn."""
    if result is None:
        return None
    if isinstance(result, M.Evaluation):
        check(result)
        return dataclasses.replace(result, label=label, tags={**TAGS, **result.tags})
    if isinstance(result, bool):
        return M.Evaluation(label, "boolean", result, tags=dict(TAGS))
    if isinstance(result, (int, float)):
        if not math.isfinite(result):
            raise BadReturn("a score must be a finite number")
        return M.Evaluation(label, "score", float(result), tags=dict(TAGS))
    if isinstance(result, str):
        return M.Evaluation(label, "categorical", result, tags=dict(TAGS))
    if isinstance(result, dict):
        return M.Evaluation(label, "json", result, tags=dict(TAGS))
    raise BadReturn(f"returned {type(result).__name__}, not an Evaluation, bool, number, str, dict or None")


def check(evaluation: M.Evaluation) -> None:
    kind, value = evaluation.metric_type, evaluation.value
    if kind not in METRIC_TYPES:
        raise BadReturn(f"metric_type {kind!r} is not one of {', '.join(METRIC_TYPES)}")
    ok = {
        "score": isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
        "categorical": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "json": isinstance(value, dict),
    }[kind]
    if not ok:
        raise BadReturn(f"a {kind} evaluation with a {type(value).__name__} value")
    if evaluation.assessment not in (None, "pass", "fail"):
        raise BadReturn("assessment must be 'pass', 'fail' or None")
    if evaluation.reasoning is not None and not isinstance(evaluation.reasoning, str):
        raise BadReturn("reasoning must be a string")
    if not isinstance(evaluation.tags, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in evaluation.tags.items()
    ):
        raise BadReturn("tags must map strings to strings")
