"""Carrying out a plan: each change is one API call, in the plan's order; the first failure stops the run
(what was done before it stays done, and the next ``plan`` shows what is left)."""

from __future__ import annotations

from glassbox.collector.datadog_assets.client import AssetsApi
from glassbox.collector.datadog_assets.plan import Change


def apply_plan(changes: list[Change], api: AssetsApi) -> list[Change]:
    """Sends the creates, updates and deletes; returns the changes with the ids of created objects filled in."""
    for change in changes:
        dashboard = change.kind == "dashboard"
        if change.action == "create":
            assert change.body is not None
            change.object_id = (api.create_dashboard if dashboard else api.create_monitor)(change.body)
        elif change.action == "update":
            assert change.body is not None and change.object_id is not None
            (api.update_dashboard if dashboard else api.update_monitor)(change.object_id, change.body)
        elif change.action == "delete":
            assert change.object_id is not None
            (api.delete_dashboard if dashboard else api.delete_monitor)(change.object_id)
    return changes
