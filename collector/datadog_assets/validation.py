"""Every definition goes through datadog-api-client's models before anything is sent or exported.

The client's models are lenient on purpose (an unknown widget type or enum value becomes an "unparsed" object,
an unknown key is carried along), so this walks the parsed tree and reports each such place by its path: a typo
in a definition is an error here, not a silently broken widget in Datadog.
"""

from __future__ import annotations

from typing import Any

from datadog_api_client import Configuration
from datadog_api_client.exceptions import OpenApiException
from datadog_api_client.model_utils import (
    ModelComposed,
    ModelNormal,
    ModelSimple,
    OpenApiModel,
    UnparsedObject,
    validate_and_convert_types,
)
from datadog_api_client.v1.model.dashboard import Dashboard
from datadog_api_client.v1.model.monitor import Monitor

_CONFIGURATION = Configuration()


def _parse(body: dict[str, Any], model: type[OpenApiModel], where: str) -> tuple[Any, list[str]]:
    try:
        parsed = validate_and_convert_types(body, (model,), [where], True, True, configuration=_CONFIGURATION)
    except (OpenApiException, TypeError, ValueError) as exc:
        return None, [str(exc)]
    return parsed, _problems(parsed, where)


def _path(where: str, key: object) -> str:
    return f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}"


def _problems(node: Any, where: str) -> list[str]:
    """Unknown keys, unparsed values and unmatched oneOf members below ``node``, each with its path."""
    if isinstance(node, list):
        return [p for i, item in enumerate(node) for p in _problems(item, _path(where, i))]
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in _problems(value, _path(where, key))]
    if isinstance(node, UnparsedObject):
        return [f"{where}: matches no known shape: {node.to_dict()}"]
    if isinstance(node, ModelSimple):
        if getattr(node, "_unparsed", False):
            allowed = sorted(str(v) for v in getattr(node, "allowed_values", ()) or ())
            return [f"{where}: {node.value!r} is not one of {', '.join(allowed)}"]
        return []
    if isinstance(node, ModelComposed):
        inner = node.get_oneof_instance()
        if isinstance(inner, UnparsedObject):
            return [_composed_problem(node, inner.to_dict(), where)]
        return _problems(inner, where)
    if isinstance(node, ModelNormal):
        problems = [f"{_path(where, key)}: unknown key" for key in node._data_store if key not in node.attribute_map]
        for key, value in node._data_store.items():
            if key in node.attribute_map:
                problems += _problems(value, _path(where, node.attribute_map[key]))
        return problems
    return []


def _composed_problem(node: ModelComposed, raw: dict[str, Any], where: str) -> str:
    """Why a oneOf value matched none: the member whose ``type`` it names says it, else the list of members."""
    members = node._composed_schemas.get("oneOf", [])
    for member in members:
        type_model = member.openapi_types.get("type", (None,))[0] if hasattr(member, "openapi_types") else None
        allowed = getattr(type_model, "allowed_values", None)
        if allowed and raw.get("type") in allowed:
            _, problems = _parse(raw, member, where)
            return "; ".join(problems) or f"{where}: not a valid {member.__name__}"
    kind = f"type {raw['type']!r}" if "type" in raw else "it"
    names = ", ".join(sorted(m.__name__ for m in members))
    return f"{where}: {kind} matches none of {names}"


def dashboard_problems(body: dict[str, Any], where: str = "dashboard") -> list[str]:
    """Problems of a dashboard body (``POST /api/v1/dashboard``); empty when it is valid."""
    return _parse(body, Dashboard, where)[1]


def monitor_problems(body: dict[str, Any], where: str = "monitor") -> list[str]:
    """Problems of a monitor body (``POST /api/v1/monitor``); empty when it is valid."""
    return _parse(body, Monitor, where)[1]
