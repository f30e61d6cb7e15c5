"""The marker that makes a Datadog object glassbox's own: nothing without it is ever changed or deleted.

Monitors carry two tags, ``managed_by:glassbox`` and ``glassbox_asset:<id>``. Dashboards accept only ``team:``
tags, so they carry the same two words on the last line of their description. ``<id>`` is the definition's
stable id (its file name), so a renamed title still updates the same object.
"""

from __future__ import annotations

import re
from typing import Any

MANAGED_TAG = "managed_by:glassbox"
ASSET_TAG_PREFIX = "glassbox_asset:"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_DESCRIPTION_MARKER = re.compile(r"\bmanaged_by:glassbox glassbox_asset:([a-z0-9][a-z0-9-]{0,99})\s*$")
DESCRIPTION_NOTE = "Managed by `glassbox datadog apply`: edits made here are overwritten."


def valid_id(asset_id: str) -> bool:
    return bool(_ID.match(asset_id))


def mark_monitor(body: dict[str, Any], asset_id: str) -> dict[str, Any]:
    """A copy of the monitor body with the marker tags (any earlier marker replaced)."""
    tags = [t for t in body.get("tags", []) if t != MANAGED_TAG and not t.startswith(ASSET_TAG_PREFIX)]
    return {**body, "tags": [*tags, MANAGED_TAG, ASSET_TAG_PREFIX + asset_id]}


def mark_dashboard(body: dict[str, Any], asset_id: str) -> dict[str, Any]:
    """A copy of the dashboard body whose description ends with the marker line."""
    description = (body.get("description") or "").rstrip()
    marker = f"{DESCRIPTION_NOTE} {MANAGED_TAG} {ASSET_TAG_PREFIX}{asset_id}"
    return {**body, "description": f"{description}\n\n{marker}" if description else marker}


def monitor_asset_id(existing: dict[str, Any]) -> str | None:
    """The glassbox id of a monitor read from Datadog, or None when it is not glassbox's."""
    tags = existing.get("tags") or []
    if MANAGED_TAG not in tags:
        return None
    ids = [t[len(ASSET_TAG_PREFIX) :] for t in tags if t.startswith(ASSET_TAG_PREFIX)]
    return ids[0] if len(ids) == 1 and valid_id(ids[0]) else None


def dashboard_asset_id(existing: dict[str, Any]) -> str | None:
    """The glassbox id of a dashboard (summary or full) read from Datadog, or None when it is not glassbox's."""
    match = _DESCRIPTION_MARKER.search(existing.get("description") or "")
    return match.group(1) if match else None
