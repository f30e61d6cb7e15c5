"""Loading the definitions folder (``deploy/datadog/``): one JSON file per dashboard and per monitor, plus the
monitor lists ``include.json`` names (the relay's own alerts in ``deploy/alerts/``, managed here, not copied).

Each definition becomes an ``Asset`` with a stable id (its file name, or the kebab-cased ``id_tag`` of a listed
monitor), validated through datadog-api-client's models and carrying glassbox's marker. Every problem of every
file is reported at once, each naming the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from glassbox.collector.datadog_assets.marker import mark_dashboard, mark_monitor, valid_id
from glassbox.collector.datadog_assets.metric_names import unknown_derived_metrics
from glassbox.collector.datadog_assets.validation import dashboard_problems, monitor_problems

Kind = Literal["dashboard", "monitor"]
# The repo's own folder; an installed wheel has no deploy/, so there --definitions is needed.
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "deploy" / "datadog"


class DefinitionError(Exception):
    """The definitions cannot be used; the message lists every problem, one per line, each naming its file."""


@dataclass(frozen=True)
class Asset:
    kind: Kind
    asset_id: str
    body: dict[str, Any]  # the request body, with the marker
    source: str  # the file (and list index) it came from

    @property
    def title(self) -> str:
        return str(self.body.get("title") if self.kind == "dashboard" else self.body.get("name"))


def _kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).replace("_", "-").lower()


def _read_json(path: Path, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{path}: cannot read JSON ({exc})")
        return None


def _queries(body: Any) -> list[str]:
    """Every ``query``/``q`` string in a body, wherever it sits."""
    if isinstance(body, dict):
        own = [v for k, v in body.items() if k in ("query", "q") and isinstance(v, str)]
        return own + [q for v in body.values() for q in _queries(v)]
    if isinstance(body, list):
        return [q for v in body for q in _queries(v)]
    return []


def _checked(kind: Kind, asset_id: str, body: Any, source: str, problems: list[str]) -> Asset | None:
    if not isinstance(body, dict):
        problems.append(f"{source}: expected a JSON object (one {kind}), got {type(body).__name__}")
        return None
    if not valid_id(asset_id):
        problems.append(f"{source}: {asset_id!r} cannot be an id: lower-case letters, digits and '-' (rename it)")
        return None
    found = (dashboard_problems if kind == "dashboard" else monitor_problems)(body, kind)
    problems += [f"{source}: {p}" for p in found]
    for name in sorted({n for q in _queries(body) for n in unknown_derived_metrics(q)}):
        problems.append(f"{source}: {name} is not a metric the relay emits (see the metric table in the README)")
    marked = mark_dashboard(body, asset_id) if kind == "dashboard" else mark_monitor(body, asset_id)
    return Asset(kind, asset_id, marked, source) if not found else None


def _included_monitors(directory: Path, problems: list[str]) -> list[Asset]:
    include_path = directory / "include.json"
    if not include_path.exists():
        return []
    include = _read_json(include_path, problems)
    if include is None:
        return []
    assets = []
    for i, entry in enumerate(include.get("monitor_lists", [])):
        where = f"{include_path}: monitor_lists[{i}]"
        if not isinstance(entry, dict) or not {"path", "id_tag"} <= entry.keys():
            problems.append(f"{where}: needs path (a JSON list of monitors) and id_tag (the tag naming each)")
            continue
        path = (directory / entry["path"]).resolve()
        monitors = _read_json(path, problems)
        if not isinstance(monitors, list):
            if monitors is not None:
                problems.append(f"{path}: expected a JSON list of monitors")
            continue
        prefix = entry["id_tag"] + ":"
        for j, monitor in enumerate(monitors):
            source = f"{path}[{j}]"
            ids = [t[len(prefix) :] for t in (monitor.get("tags") or []) if t.startswith(prefix)]
            if len(ids) != 1:
                problems.append(f"{source}: needs exactly one {prefix}<name> tag (its id)")
                continue
            monitor = {**monitor, "tags": [*monitor["tags"], *entry.get("add_tags", [])]}
            asset = _checked("monitor", _kebab(ids[0]), monitor, source, problems)
            if asset:
                assets.append(asset)
    return assets


def load_definitions(directory: Path = DEFAULT_DIR) -> list[Asset]:
    """Every dashboard and monitor under ``directory``, validated; raises DefinitionError listing all problems."""
    if not (directory / "dashboards").is_dir() and not (directory / "monitors").is_dir():
        raise DefinitionError(
            f"{directory}: no dashboards/ or monitors/ folder here; pass --definitions DIR "
            "(the deploy/datadog folder of the glassbox repository)"
        )
    problems: list[str] = []
    assets: list[Asset] = []
    for kind, folder in (("dashboard", "dashboards"), ("monitor", "monitors")):
        for path in sorted((directory / folder).glob("*.json")):
            body = _read_json(path, problems)
            if body is not None:
                asset = _checked(kind, path.stem, body, str(path), problems)  # type: ignore[arg-type]
                if asset:
                    assets.append(asset)
    assets += _included_monitors(directory, problems)
    seen: dict[tuple[str, str], str] = {}
    for asset in assets:
        key = (asset.kind, asset.asset_id)
        if key in seen:
            problems.append(f"{asset.source}: {asset.kind} id {asset.asset_id!r} is also {seen[key]}'s")
        seen[key] = asset.source
    if problems:
        raise DefinitionError("\n".join(problems))
    return assets
