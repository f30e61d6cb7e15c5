"""A small JSON Schema validator: the subset structured outputs and tool schemas use.

Why not a library: ``jsonschema`` is a dev dependency only, and pydantic validates Python types, not JSON Schema
documents. What LLM APIs accept as a response or tool-parameter schema is a known, small subset (OpenAI's
structured outputs: type, properties, required, additionalProperties, items, enum, const, anyOf, $ref/$defs,
and the string, number and array bounds), so that is what is checked here, and the tests compare the results
with ``jsonschema`` on the same schemas.

Supported: boolean schemas; ``type`` (one or a list; ``integer`` accepts 1.0, booleans are never numbers);
``enum``, ``const``; ``properties``, ``required``, ``additionalProperties`` (bool or schema),
``patternProperties``, ``minProperties``/``maxProperties``; ``items`` (schema), ``prefixItems``,
``minItems``/``maxItems``, ``uniqueItems``; ``minLength``/``maxLength``, ``pattern`` (Python ``re`` search;
a pattern Python cannot compile is skipped); ``minimum``/``maximum``, ``exclusiveMinimum``/``exclusiveMaximum``
(numbers, or draft-4 booleans), ``multipleOf``; ``allOf``, ``anyOf``, ``oneOf``, ``not``; local ``$ref``
(``#``, ``#/$defs/...``, ``#/definitions/...``, any JSON pointer in the document); OpenAPI's ``nullable``.
Anything else (``format``, ``if``/``then``, dependencies, remote refs) is ignored: an unknown keyword never makes
an instance invalid.

``lenient``: when redaction found PII where the JSON came from, a value may have been replaced (a 9-digit number
becomes ``"<US_BANK_NUMBER>"``) or removed. Then a string or null where another type is expected, a missing
required property, and string constraints (enum, const, pattern, lengths) on strings are not errors.

Messages name a path (``$.items[2].qty``), the schema's expectation and property names from the schema, never a
value from the instance: they end up in evaluation reasoning.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_DEPTH = 64
_TYPES = ("null", "boolean", "object", "array", "number", "integer", "string")


class _Stop(Exception):
    pass


class Validator:
    def __init__(self, schema: Any, *, lenient: bool = False, max_errors: int = 1):
        self.root = schema
        self.lenient = lenient
        self.max_errors = max_errors
        self.errors: list[str] = []
        self._patterns: dict[str, re.Pattern[str] | None] = {}
        self._active: set[tuple[int, int]] = set()

    def validate(self, instance: Any) -> list[str]:
        self.errors = []
        try:
            self._check(instance, self.root, "$", 0)
        except _Stop:
            pass
        return self.errors

    def is_valid(self, instance: Any, schema: Any, path: str, depth: int) -> bool:
        """Whether ``instance`` matches ``schema``, without recording errors (for anyOf, oneOf, not)."""
        saved, limit = self.errors, self.max_errors
        self.errors, self.max_errors = [], 1
        try:
            self._check(instance, schema, path, depth)
        except _Stop:
            pass
        ok = not self.errors
        self.errors, self.max_errors = saved, limit
        return ok

    def _error(self, message: str) -> None:
        self.errors.append(message)
        if len(self.errors) >= self.max_errors:
            raise _Stop

    def _check(self, instance: Any, schema: Any, path: str, depth: int) -> None:
        if schema is True or schema is None:
            return
        if schema is False:
            self._error(f"{path}: no value is allowed here")
            return
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            return
        key = (id(schema), id(instance))
        if key in self._active:  # a $ref cycle that consumes no instance: nothing new to check
            return
        self._active.add(key)
        try:
            self._keywords(instance, schema, path, depth)
        finally:
            self._active.discard(key)

    def _keywords(self, instance: Any, schema: dict[str, Any], path: str, depth: int) -> None:
        if "$ref" in schema:
            target = self._resolve(schema["$ref"])
            if target is not None:
                self._check(instance, target, path, depth + 1)
        if instance is None and schema.get("nullable") is True:
            return
        redacted = self.lenient and (instance is None or isinstance(instance, str))
        if "type" in schema and not _is_type(instance, schema["type"]) and not redacted:
            self._error(f"{path}: expected {_type_names(schema['type'])}")
            return
        if "enum" in schema and isinstance(schema["enum"], list) and not redacted:
            if not any(_equal(instance, option) for option in schema["enum"]):
                self._error(f"{path}: not one of the allowed values")
        if "const" in schema and not redacted and not _equal(instance, schema["const"]):
            self._error(f"{path}: not the required constant")
        if isinstance(instance, dict):
            self._object(instance, schema, path, depth)
        elif isinstance(instance, list):
            self._array(instance, schema, path, depth)
        elif isinstance(instance, str):
            if not self.lenient:
                self._string(instance, schema, path)
        elif _is_number(instance):
            self._number(instance, schema, path)
        for sub in _schemas(schema.get("allOf")):
            self._check(instance, sub, path, depth + 1)
        any_of = _schemas(schema.get("anyOf"))
        if any_of and not any(self.is_valid(instance, sub, path, depth + 1) for sub in any_of):
            self._error(f"{path}: matches none of the allowed shapes (anyOf)")
        one_of = _schemas(schema.get("oneOf"))
        if one_of and sum(self.is_valid(instance, sub, path, depth + 1) for sub in one_of) != 1:
            self._error(f"{path}: must match exactly one of the allowed shapes (oneOf)")
        if "not" in schema and self.is_valid(instance, schema["not"], path, depth + 1):
            self._error(f"{path}: matches a shape that is not allowed (not)")

    def _object(self, instance: dict[str, Any], schema: dict[str, Any], path: str, depth: int) -> None:
        properties: dict[str, Any] = _dict(schema.get("properties"))
        if not self.lenient:
            for name in schema.get("required") or ():
                if isinstance(name, str) and name not in instance:
                    self._error(f"{path}: missing required property {name!r}")
        patterns: dict[str, Any] = _dict(schema.get("patternProperties"))
        additional = schema.get("additionalProperties", True)
        extra = 0
        for name, value in instance.items():
            matched = False
            if name in properties:
                matched = True
                self._check(value, properties[name], f"{path}.{name}", depth + 1)
            for pattern, sub in patterns.items():
                compiled = self._pattern(pattern)
                if compiled is not None and compiled.search(name):
                    matched = True
                    self._check(value, sub, f"{path}.*", depth + 1)
            if not matched:
                if additional is False:
                    extra += 1
                elif isinstance(additional, dict):
                    self._check(value, additional, f"{path}.*", depth + 1)
        if extra:
            self._error(f"{path}: {extra} propert{'y' if extra == 1 else 'ies'} not allowed by the schema")
        if _int(schema.get("minProperties")) is not None and len(instance) < schema["minProperties"]:
            self._error(f"{path}: expected at least {schema['minProperties']} properties")
        if _int(schema.get("maxProperties")) is not None and len(instance) > schema["maxProperties"]:
            self._error(f"{path}: expected at most {schema['maxProperties']} properties")

    def _array(self, instance: list[Any], schema: dict[str, Any], path: str, depth: int) -> None:
        prefix = _schemas(schema.get("prefixItems"))
        for i, (value, sub) in enumerate(zip(instance, prefix)):
            self._check(value, sub, f"{path}[{i}]", depth + 1)
        items = schema.get("items")
        if isinstance(items, list):  # draft 4-7 tuple form
            for i, (value, sub) in enumerate(zip(instance, items)):
                self._check(value, sub, f"{path}[{i}]", depth + 1)
        elif items is not None:
            for i in range(len(prefix), len(instance)):
                self._check(instance[i], items, f"{path}[{i}]", depth + 1)
        if _int(schema.get("minItems")) is not None and len(instance) < schema["minItems"]:
            self._error(f"{path}: expected at least {schema['minItems']} items")
        if _int(schema.get("maxItems")) is not None and len(instance) > schema["maxItems"]:
            self._error(f"{path}: expected at most {schema['maxItems']} items")
        if schema.get("uniqueItems") is True:
            for i in range(len(instance)):
                if any(_equal(instance[i], instance[j]) for j in range(i)):
                    self._error(f"{path}: items must be unique")
                    break

    def _string(self, instance: str, schema: dict[str, Any], path: str) -> None:
        length = len(instance)
        if _int(schema.get("minLength")) is not None and length < schema["minLength"]:
            self._error(f"{path}: shorter than {schema['minLength']} characters")
        if _int(schema.get("maxLength")) is not None and length > schema["maxLength"]:
            self._error(f"{path}: longer than {schema['maxLength']} characters")
        if isinstance(schema.get("pattern"), str):
            compiled = self._pattern(schema["pattern"])
            if compiled is not None and not compiled.search(instance):
                self._error(f"{path}: does not match the required pattern")

    def _number(self, instance: float, schema: dict[str, Any], path: str) -> None:
        minimum, maximum = _num(schema.get("minimum")), _num(schema.get("maximum"))
        low, high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if minimum is not None and (instance < minimum or (low is True and instance == minimum)):
            self._error(f"{path}: below the minimum {minimum}")
        if maximum is not None and (instance > maximum or (high is True and instance == maximum)):
            self._error(f"{path}: above the maximum {maximum}")
        low_bound, high_bound = _num(low), _num(high)
        if low_bound is not None and instance <= low_bound:
            self._error(f"{path}: must be greater than {low_bound}")
        if high_bound is not None and instance >= high_bound:
            self._error(f"{path}: must be less than {high_bound}")
        step = _num(schema.get("multipleOf"))
        if step is not None and step > 0:
            quotient = instance / step
            if not math.isfinite(quotient) or abs(quotient - round(quotient)) > 1e-9:
                self._error(f"{path}: not a multiple of {step}")

    def _resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            return None  # remote references are not followed
        node: Any = self.root
        for part in ref[1:].lstrip("/").split("/") if ref not in ("#", "#/") else ():
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node

    def _pattern(self, pattern: str) -> re.Pattern[str] | None:
        if pattern not in self._patterns:
            try:
                self._patterns[pattern] = re.compile(pattern)
            except (re.error, RecursionError):
                self._patterns[pattern] = None
        return self._patterns[pattern]


def validate(instance: Any, schema: Any, *, lenient: bool = False, max_errors: int = 1) -> list[str]:
    """The first ``max_errors`` errors of ``instance`` against ``schema`` (empty: valid)."""
    return Validator(schema, lenient=lenient, max_errors=max_errors).validate(instance)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_type(value: Any, expected: Any) -> bool:
    names = expected if isinstance(expected, list) else [expected]
    known = [name for name in names if name in _TYPES]
    if not known:
        return True  # an unknown type name never rejects
    for name in known:
        if name == "null" and value is None:
            return True
        if name == "boolean" and isinstance(value, bool):
            return True
        if name == "object" and isinstance(value, dict):
            return True
        if name == "array" and isinstance(value, list):
            return True
        if name == "string" and isinstance(value, str):
            return True
        if name == "number" and _is_number(value):
            return True
        if name == "integer" and _is_number(value) and (isinstance(value, int) or float(value).is_integer()):
            return True
    return False


def _type_names(expected: Any) -> str:
    names = [str(n) for n in expected] if isinstance(expected, list) else [str(expected)]
    return " or ".join(n for n in names if n in _TYPES) or "another type"


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but True is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and bool(a == b)


def _schemas(value: Any) -> list[Any]:
    return [v for v in value if isinstance(v, (dict, bool))] if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _num(value: Any) -> float | None:
    return value if _is_number(value) else None
