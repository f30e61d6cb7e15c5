"""Validate LLM Observability payloads against the project's JSON Schemas.

The test agent and the capture server accept any body, so tests must check payload
shape themselves. Schemas live in ``tests/testdata/schemas`` and are loaded once;
real wire captures live beside them in ``tests/testdata`` (never hand-edit them).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"
SCHEMAS = TESTDATA / "schemas"


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _describe(error, indent: str = "  ") -> list[str]:
    """One line per error; anyOf/oneOf failures also list why each branch failed."""
    lines = [f"{indent}{error.json_path}: {error.message}"]
    for sub in sorted(error.context or (), key=lambda e: list(e.absolute_path)):
        lines.append(f"{indent}    - {sub.json_path}: {sub.message}")
    return lines


def _validate(name: str, body: Any) -> None:
    if isinstance(body, (bytes, bytearray, str)):
        body = json.loads(body)
    errors = sorted(_validator(name).iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [f"{len(errors)} schema error(s) against {name}:"]
        for e in errors:
            lines += _describe(e)
        raise AssertionError("\n".join(lines))


def validate_span_events(body: Any) -> None:
    """Assert ``body`` (parsed JSON, or bytes/str) is a valid ``/api/v2/llmobs`` span-event body."""
    _validate("llmobs_span_events.schema.json", body)


def validate_eval_metrics(body: Any) -> None:
    """Assert ``body`` (parsed JSON, or bytes/str) is a valid ``llm-obs/v2/eval-metric`` body."""
    _validate("eval_metrics.schema.json", body)
