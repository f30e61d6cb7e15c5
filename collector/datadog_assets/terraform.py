"""The same definitions as Terraform JSON (``*.tf.json``) for teams that manage Datadog with Terraform:
``datadog_dashboard_json`` (the dashboard JSON as a string) and ``datadog_monitor`` (its options as the
provider's arguments). The marker stays on, so ``glassbox datadog plan`` still recognises the objects."""

from __future__ import annotations

import json
import re
from typing import Any

from glassbox.collector.datadog_assets.definitions import Asset, DefinitionError

PROVIDER = {"datadog": {"source": "DataDog/datadog"}}
# Monitor options that are plain arguments of datadog_monitor under the same name.
PLAIN_OPTIONS = {
    "notify_no_data",
    "no_data_timeframe",
    "require_full_window",
    "include_tags",
    "renotify_interval",
    "renotify_occurrences",
    "renotify_statuses",
    "escalation_message",
    "evaluation_delay",
    "new_group_delay",
    "new_host_delay",
    "notify_audit",
    "notify_by",
    "timeout_h",
    "on_missing_data",
    "group_retention_duration",
    "notification_preset_name",
    "enable_logs_sample",
    "groupby_simple_monitor",
}
BLOCK_OPTIONS = {"thresholds": "monitor_thresholds", "threshold_windows": "monitor_threshold_windows"}


def _escape(value: Any) -> Any:
    """Terraform reads ``${`` and ``%{`` in strings as its own templates: double them so they stay text."""
    if isinstance(value, str):
        return value.replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, list):
        return [_escape(v) for v in value]
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    return value


def resource_name(asset: Asset) -> str:
    return "glassbox_" + re.sub(r"[^a-z0-9_]", "_", asset.asset_id)


def _monitor(asset: Asset) -> dict[str, Any]:
    body = asset.body
    resource: dict[str, Any] = {k: body[k] for k in ("name", "type", "query", "message", "tags") if k in body}
    if "priority" in body:
        resource["priority"] = str(body["priority"])  # a string argument in the provider
    for key, value in (body.get("options") or {}).items():
        if key in PLAIN_OPTIONS:
            resource[key] = value
        elif key in BLOCK_OPTIONS:
            resource[BLOCK_OPTIONS[key]] = [value]
        else:
            raise DefinitionError(f"{asset.source}: options.{key} has no datadog_monitor argument in this export")
    return _escape(resource)


def export_terraform(assets: list[Asset]) -> dict[str, Any]:
    """A Terraform JSON document with one resource per definition."""
    dashboards = {
        resource_name(a): {"dashboard": _escape(json.dumps(a.body, indent=2, ensure_ascii=False))}
        for a in assets
        if a.kind == "dashboard"
    }
    monitors = {resource_name(a): _monitor(a) for a in assets if a.kind == "monitor"}
    return {
        "terraform": {"required_providers": PROVIDER},
        "resource": {"datadog_dashboard_json": dashboards, "datadog_monitor": monitors},
    }
