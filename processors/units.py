"""Durations and sizes in the forms people write, for every config field that holds one (here beside
``ComponentConfig`` because processors use them too and must not import the collector).

A duration is a number of seconds (``30``, ``0.5``) or a string with units (``"500ms"``, ``"30s"``, ``"5m"``,
``"1h"``, ``"1m30s"``); a size is a whole number in the field's unit (bytes, or MiB for ``memory_limit_mib``)
or a string with a unit (``"512KiB"``, ``"32MiB"``, ``"1GiB"``, ``"64MB"``). KB/MB/GB/TB are powers of 1000
(SI, as disks, networks and Kubernetes' ``M`` count), KiB/MiB/GiB/TiB (and Kubernetes' ``Ki``/``Mi``/``Gi``)
powers of 1024. A number in a string (``"30"``, what ``${env:...}`` gives) is read in the field's unit.

Nothing is coerced: ``true``, ``yes``, ``1.5`` bytes, an unknown unit or a negative value is an error that
names the unit, e.g. ``expected a size like 512 (MiB) or "512MiB", got true (a boolean)``. Use a field as
``timeout: Annotated[float, duration(gt=0)] = 10.0`` or ``queue_max_bytes: Annotated[int, size(gt=0)] = ...``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
BYTES = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
    "tib": 1 << 40,
    "ki": 1 << 10,
    "mi": 1 << 20,
    "gi": 1 << 30,
    "ti": 1 << 40,
}
MIB = 1 << 20
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN = re.compile(rf"^\s*{_NUMBER}\s*$")
_DURATION_PART = re.compile(rf"({_NUMBER})\s*(ms|s|m|h)", re.IGNORECASE)
_DURATION = re.compile(rf"^\s*(?:{_NUMBER}\s*(?:ms|s|m|h)\s*)+$", re.IGNORECASE)
_SIZE = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-z]+)\s*$")
SIZE_UNITS_HELP = "units: B, KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000)"


def got(value: Any) -> str:
    """The offending value and what YAML made of it, for an error message (``true (a boolean)``)."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return f"{value} (an integer)"
    if isinstance(value, float):
        return f"{value} (a number)"
    if isinstance(value, str):
        return f"{value!r} (a string)" if len(value) <= 40 else f"{value[:40]!r}... (a string)"
    if value is None:
        return "null"
    return f"a {'mapping' if isinstance(value, dict) else 'list' if isinstance(value, list) else type(value).__name__}"


def _error(expected: str, value: Any, why: str = "") -> PydanticCustomError:
    return PydanticCustomError(
        "unit_value",
        "expected {expected}, got {got}{why}",
        {
            "expected": expected,
            "got": got(value),
            "why": f"; {why}" if why else "",
        },
    )


@dataclass(frozen=True)
class _Bounds:
    gt: float | None = None
    ge: float | None = None
    le: float | None = None

    def check(self, number: float, expected: str, value: Any, unit: str) -> None:
        if self.gt is not None and not number > self.gt:
            raise _error(expected, value, f"must be more than {self.gt:g} {unit}")
        if self.ge is not None and not number >= self.ge:
            raise _error(expected, value, f"must be at least {self.ge:g} {unit}")
        if self.le is not None and not number <= self.le:
            raise _error(expected, value, f"must be at most {self.le:g} {unit}")


@dataclass(frozen=True)
class duration(_Bounds):  # noqa: N801 - used like a type annotation: Annotated[float, duration(gt=0)]
    """A duration in seconds (float); ``gt``/``ge``/``le`` bounds are in seconds."""

    def parse(self, value: Any) -> float:
        expected = 'a duration like 30 (seconds) or "30s" ("500ms", "5m", "1h")'
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _error(expected, value)
        if isinstance(value, str):
            if _PLAIN.match(value):
                seconds = float(value)
            elif _DURATION.match(value):
                seconds = sum(float(n) * SECONDS[u.lower()] for n, u in _DURATION_PART.findall(value))
            else:
                raise _error(expected, value, "units: ms, s, m, h")
        else:
            seconds = float(value)
        if not math.isfinite(seconds):
            raise _error(expected, value)
        self.check(seconds, expected, value, "seconds")
        return seconds

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.parse)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [{"type": "number"}, {"type": "string", "pattern": _DURATION.pattern}]}


@dataclass(frozen=True)
class size(_Bounds):  # noqa: N801 - used like a type annotation: Annotated[int, size(gt=0)]
    """A whole number of ``unit`` bytes (1: bytes, ``MIB``: mebibytes); bounds are in that unit."""

    unit: int = 1

    def parse(self, value: Any) -> int:
        name = "MiB" if self.unit == MIB else "bytes"
        example = "512" if self.unit == MIB else "33554432"
        expected = f'a size like {example} ({name}) or "{"512MiB" if self.unit == MIB else "32MiB"}"'
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _error(expected, value)
        if isinstance(value, float):
            if not value.is_integer():
                raise _error(expected, value, f"a whole number of {name}; or write it with a unit")
            value = int(value)
        if isinstance(value, int):
            amount = value
        elif _PLAIN.match(value):
            number = float(value)
            if not number.is_integer():
                raise _error(expected, value, f"a whole number of {name}; or write it with a unit")
            amount = int(number)
        else:
            match = _SIZE.match(value)
            factor = BYTES.get(match.group(2).lower()) if match else None
            if match is None or factor is None:
                raise _error(expected, value, SIZE_UNITS_HELP)
            # exact for whole numbers, which are nearly all of them; a fraction (1.5GiB) is rounded to a byte
            number_bytes = (
                int(match.group(1)) * factor if match.group(1).isdigit() else round(float(match.group(1)) * factor)
            )
            amount = number_bytes // self.unit if number_bytes % self.unit == 0 else round(number_bytes / self.unit)
            if number_bytes and not amount:
                raise _error(expected, value, f"less than 1 {name}")
        self.check(amount, expected, value, name)
        return amount

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.parse)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": _SIZE.pattern}]}


Seconds = Annotated[float, duration(gt=0)]
"""A positive duration: a number of seconds or ``"500ms"``/``"30s"``/``"5m"``/``"1h"``."""
Bytes = Annotated[int, size(gt=0)]
"""A positive size: a whole number of bytes or ``"512KiB"``/``"32MiB"``/``"64MB"``."""
