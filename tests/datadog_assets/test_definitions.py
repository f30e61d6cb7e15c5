"""The shipped definitions: each one builds through datadog-api-client's models, queries only metrics the relay
emits, and carries glassbox's marker, a team, a next step and a runbook link; broken ones are refused by path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from datadog_api_client.model_utils import validate_and_convert_types
from datadog_api_client.v1.model.dashboard import Dashboard
from datadog_api_client.v1.model.monitor import Monitor

from glassbox.collector.datadog_assets.definitions import DEFAULT_DIR, DefinitionError, load_definitions
from glassbox.collector.datadog_assets.marker import dashboard_asset_id, monitor_asset_id
from glassbox.collector.datadog_assets.metric_names import DERIVED_METRICS, metrics_in
from glassbox.collector.datadog_assets.validation import _CONFIGURATION

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_VARIABLES = {
    "env": "env",
    "service": "service",
    "ml_app": "ml_app",
    "model": "model_name",
    "provider": "model_provider",
    "prompt_version": "prompt_version",
    "feature": "feature",
}


def _copy_definitions(tmp_path: Path) -> Path:
    """deploy/ copied whole, so include.json's ../alerts/ path resolves in the copy too."""
    shutil.copytree(REPO / "deploy", tmp_path / "deploy")
    return tmp_path / "deploy" / "datadog"


def test_the_default_folder_is_the_repos_deploy_datadog() -> None:
    assert DEFAULT_DIR == REPO / "deploy" / "datadog"


def test_every_shipped_definition_builds_through_the_client_models() -> None:
    assets = load_definitions()
    assert {a.asset_id for a in assets if a.kind == "dashboard"} == {"health", "cost", "quality"}
    monitors = [a for a in assets if a.kind == "monitor"]
    relay = json.loads((REPO / "deploy/alerts/datadog-monitors.json").read_text())
    assert len(monitors) == len(list((DEFAULT_DIR / "monitors").glob("*.json"))) + len(relay)
    for asset in assets:
        model = Dashboard if asset.kind == "dashboard" else Monitor
        built = validate_and_convert_types(asset.body, (model,), [asset.source], True, True, _CONFIGURATION)
        assert isinstance(built, model)
        assert not built._unparsed, asset.source
        assert built.to_dict() == asset.body  # nothing dropped or changed on the way through the model


def test_every_derived_metric_a_query_reads_is_in_the_metric_table() -> None:
    relay_names = {m["name"] for m in json.loads((REPO / "deploy/alerts/datadog-monitors.json").read_text())}
    read: set[str] = set()
    for asset in load_definitions():
        if asset.kind == "monitor" and asset.body["name"] in relay_names:
            continue  # the relay's own /metrics names: tests/test_alerts.py checks those
        names = metrics_in(json.dumps(asset.body))
        assert names, f"{asset.source} reads no glassbox metric"
        assert names <= DERIVED_METRICS.keys(), f"{asset.source}: {names - DERIVED_METRICS.keys()}"
        read |= names
    assert len(read) >= 20  # the dashboards cover the table, not a corner of it


def test_dashboards_have_the_template_variables_and_use_them_everywhere() -> None:
    for asset in load_definitions():
        if asset.kind != "dashboard":
            continue
        variables = {v["name"]: v["prefix"] for v in asset.body["template_variables"]}
        assert variables == TEMPLATE_VARIABLES, asset.source
        queries = [
            q["query"]
            for w in asset.body["widgets"]
            for r in w["definition"].get("requests", [])
            for q in r.get("queries", [])
        ]
        assert len(queries) >= 8, asset.source
        for query in queries:
            assert all(f"${name}" in query for name in TEMPLATE_VARIABLES), query
        assert "team:llm-platform" in asset.body["tags"]
        assert dashboard_asset_id(asset.body) == asset.asset_id


def test_monitors_have_a_team_a_next_step_a_runbook_and_the_marker() -> None:
    monitors = [a for a in load_definitions() if a.kind == "monitor"]
    for asset in monitors:
        tags = asset.body["tags"]
        assert any(t.startswith("team:") for t in tags), asset.source
        assert "Runbook:" in asset.body["message"], asset.source
        assert asset.body["options"]["thresholds"]["critical"] is not None
        assert monitor_asset_id(asset.body) == asset.asset_id
    own = {a.asset_id: a.body for a in monitors if a.asset_id.startswith("llm-")}
    assert set(own) == {
        "llm-provider-error-rate",
        "llm-latency-p95",
        "llm-invalid-json-rate",
        "llm-hourly-cost",
        "llm-eval-score-drop",
        "llm-tool-failure-rate",
    }
    assert all("Check next:" in body["message"] for body in own.values())
    assert own["llm-provider-error-rate"]["query"].startswith("sum(last_10m):")
    assert own["llm-provider-error-rate"]["query"].endswith("> 3")
    assert (
        own["llm-latency-p95"]["query"] == "percentile(last_15m):p95:glassbox.llm.latency{*} by {ml_app,model_name} > 8"
    )
    assert own["llm-hourly-cost"]["query"].startswith("pct_change(sum(last_1h),last_1d):")
    # the relay's alerts are reused, not copied: queue filling, dead letters, refused requests, redaction
    ids = {a.asset_id for a in monitors}
    assert {
        "glassbox-exporter-queue-near-capacity",
        "glassbox-dead-letters",
        "glassbox-requests-refused",
        "glassbox-redaction-failed-closed",
    } <= ids


def test_a_broken_definition_is_refused_with_its_file_and_path(tmp_path: Path) -> None:
    directory = _copy_definitions(tmp_path)
    health = directory / "dashboards/health.json"
    body = json.loads(health.read_text())
    body["widgets"][1]["definition"]["type"] = "query_valu"
    body["widgets"][2]["definition"]["precison"] = 2  # query value: "Error rate (%)"
    body["widgets"][3]["definition"]["requests"][0]["display_type"] = "barz"  # timeseries
    health.write_text(json.dumps(body))
    monitor = directory / "monitors/llm-latency-p95.json"
    body = json.loads(monitor.read_text())
    body["options"]["thresholds"]["critical"] = "eight"
    body["query"] = body["query"].replace("glassbox.llm.latency", "glassbox.llm.latency_seconds")
    monitor.write_text(json.dumps(body))
    (directory / "monitors/Bad Name.json").write_text("{")
    with pytest.raises(DefinitionError) as caught:
        load_definitions(directory)
    lines = str(caught.value).splitlines()
    assert f"{health}: dashboard.widgets[1].definition: type 'query_valu' matches none of" in lines[0]
    assert any(
        line == f"{health}: dashboard.widgets[3].definition.requests[0].display_type: 'barz' is not one of "
        "area, bars, line, overlay"
        for line in lines
    ), lines
    assert f"{health}: dashboard.widgets[2].definition.precison: unknown key" in lines
    assert any(f"{monitor}: " in line and "'critical'" in line and "float" in line for line in lines), lines
    assert f"{monitor}: glassbox.llm.latency_seconds is not a metric the relay emits" in str(caught.value)
    assert any("Bad Name.json: cannot read JSON" in line for line in lines)


def test_a_folder_without_definitions_says_to_pass_definitions(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="pass --definitions DIR"):
        load_definitions(tmp_path)
