"""What ``apply`` would do: the definitions compared with the organisation's glassbox-managed objects.

Only objects carrying glassbox's marker are considered; everything else is invisible here, so it can be neither
changed nor deleted. An object is up to date when every field of its definition has the same value in Datadog
(fields Datadog adds, such as ids and creation dates, are not compared); tag lists compare as sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from glassbox.collector.datadog_assets.client import AssetsApi
from glassbox.collector.datadog_assets.definitions import Asset
from glassbox.collector.datadog_assets.marker import dashboard_asset_id, monitor_asset_id

Action = Literal["create", "update", "delete", "no-op", "orphan"]
SHOWN_DIFFERENCES = 3


@dataclass
class Change:
    action: Action
    kind: str
    asset_id: str
    title: str
    object_id: str | None = None  # the Datadog id, for update/delete/no-op/orphan
    body: dict[str, Any] | None = None  # the definition, for create/update
    differences: list[str] = field(default_factory=list)


def _short(value: Any, start: int = 0) -> str:
    """``value`` in at most about 60 characters; a long string from a little before ``start`` (where it differs)."""
    if isinstance(value, str) and len(value) > 60:
        begin = max(0, start - 20)
        return ("..." if begin else "") + repr(value[begin : begin + 57]) + "..."
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _changed(path: str, old: Any, new: Any) -> str:
    start = 0
    if isinstance(old, str) and isinstance(new, str):
        start = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    return f"{path}: {_short(old, start)} -> {_short(new, start)}"


def differences(desired: Any, existing: Any, path: str = "") -> list[str]:
    """Where ``existing`` differs from ``desired``, as ``path: old -> new``; keys only Datadog has are ignored."""
    if isinstance(desired, dict) and isinstance(existing, dict):
        return [d for k, v in desired.items() for d in differences(v, existing.get(k), f"{path}.{k}" if path else k)]
    if isinstance(desired, list) and isinstance(existing, list):
        if path.endswith("tags") and all(isinstance(t, str) for t in desired + existing):
            return (
                []
                if set(desired) == set(existing)
                else [f"{path}: {_short(sorted(existing))} -> {_short(sorted(desired))}"]
            )
        if len(desired) == len(existing):
            return [d for i, (a, b) in enumerate(zip(desired, existing)) for d in differences(a, b, f"{path}[{i}]")]
    if isinstance(desired, bool) == isinstance(existing, bool) and desired == existing:  # True is not 1
        return []
    return [_changed(path, existing, desired)]


def _managed(api: AssetsApi) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The organisation's glassbox objects by (kind, asset id); a definition copied by hand may appear twice."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for summary in api.list_dashboards():
        asset_id = dashboard_asset_id(summary)
        if asset_id:
            full = api.get_dashboard(str(summary["id"]))
            if dashboard_asset_id(full) == asset_id:  # the full object must carry the marker too
                found.setdefault(("dashboard", asset_id), []).append(full)
    for monitor in api.list_monitors():
        asset_id = monitor_asset_id(monitor)
        if asset_id:
            found.setdefault(("monitor", asset_id), []).append(monitor)
    return found


def _title(kind: str, obj: dict[str, Any]) -> str:
    return str(obj.get("title") if kind == "dashboard" else obj.get("name"))


def make_plan(assets: list[Asset], api: AssetsApi, *, delete: bool = False) -> list[Change]:
    """The changes that bring the managed objects to ``assets``; with ``delete``, the removal of every one."""
    managed = _managed(api)
    changes: list[Change] = []
    if delete:
        for (kind, asset_id), objects in sorted(managed.items()):
            changes += [Change("delete", kind, asset_id, _title(kind, o), str(o["id"])) for o in objects]
        return changes
    for asset in assets:
        objects = managed.pop((asset.kind, asset.asset_id), [])
        if not objects:
            changes.append(Change("create", asset.kind, asset.asset_id, asset.title, body=asset.body))
            continue
        current, *copies = objects
        found = differences(asset.body, current)
        action: Action = "update" if found else "no-op"
        changes.append(Change(action, asset.kind, asset.asset_id, asset.title, str(current["id"]), asset.body, found))
        managed[(asset.kind, asset.asset_id)] = copies  # a second copy has no definition of its own
    for (kind, asset_id), objects in sorted(managed.items()):
        changes += [Change("orphan", kind, asset_id, _title(kind, o), str(o["id"])) for o in objects]
    return changes


def render(changes: list[Change], *, done: bool = False) -> str:
    """One line per object, the first differences under updates, then the totals."""
    verbs = {"create": "created", "update": "updated", "delete": "deleted", "no-op": "unchanged", "orphan": "kept"}
    lines = []
    for c in changes:
        if c.action == "no-op":
            continue  # counted in the totals only
        action = verbs[c.action] if done else c.action
        where = f" ({c.object_id})" if c.object_id else ""
        lines.append(f"  {action:<9} {c.kind:<9} {c.asset_id:<40} {c.title}{where}")
        for difference in c.differences[:SHOWN_DIFFERENCES]:
            lines.append(f"              {difference}")
        if len(c.differences) > SHOWN_DIFFERENCES:
            lines.append(f"              ... and {len(c.differences) - SHOWN_DIFFERENCES} more")
        if c.action == "orphan":
            lines.append("              managed by glassbox but no definition has this id; `apply --delete` removes it")
    count = {a: sum(c.action == a for c in changes) for a in verbs}
    if done:
        total = (
            f"{count['create']} created, {count['update']} updated, {count['delete']} deleted, "
            f"{count['no-op']} unchanged."
        )
    else:
        total = (
            f"Plan: {count['create']} to create, {count['update']} to update, {count['delete']} to delete, "
            f"{count['no-op']} unchanged."
        )
    if count["orphan"]:
        total += f" {count['orphan']} managed object(s) without a definition kept."
    return "\n".join([*lines, total])
