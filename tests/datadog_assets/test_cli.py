"""`glassbox datadog plan|apply|export` run as a subprocess against the local stand-in of the Datadog API:
first apply creates, a second changes nothing, an edited threshold updates exactly one monitor, --delete removes
only glassbox's objects, plan never changes anything, and errors are one line with the right exit code."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from glassbox.collector.datadog_assets.definitions import load_definitions
from tests.datadog_assets.standin import API_KEY, APP_KEY, UNMANAGED_DASHBOARD, UNMANAGED_MONITOR, StandIn

REPO = Path(__file__).resolve().parents[2]
SHIPPED = load_definitions()
DASHBOARDS = sum(a.kind == "dashboard" for a in SHIPPED)
MONITORS = sum(a.kind == "monitor" for a in SHIPPED)


@pytest.fixture
async def standin() -> AsyncIterator[tuple[StandIn, str]]:
    api = StandIn()
    runner = web.AppRunner(api.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield api, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def glassbox(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The real CLI in a subprocess (the stand-in keeps serving on this loop meanwhile)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DD_")}
    keys = {"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY} if env is None else env
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "glassbox.collector.cli",
        "datadog",
        *args,
        env={**base, **keys},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _unmanaged_untouched(api: StandIn) -> None:
    assert api.dashboards[UNMANAGED_DASHBOARD["id"]] == UNMANAGED_DASHBOARD
    assert api.monitors[UNMANAGED_MONITOR["id"]] == UNMANAGED_MONITOR
    touched = [path for _, path in api.changes()]
    assert f"/api/v1/dashboard/{UNMANAGED_DASHBOARD['id']}" not in touched
    assert f"/api/v1/monitor/{UNMANAGED_MONITOR['id']}" not in touched


async def test_apply_creates_then_changes_nothing_then_updates_one_then_deletes_only_its_own(
    standin: tuple[StandIn, str], tmp_path: Path
) -> None:
    api, url = standin
    shutil.copytree(REPO / "deploy", tmp_path / "deploy")
    definitions = tmp_path / "deploy" / "datadog"
    common = ("--api-url", url, "--definitions", str(definitions))

    code, out, err = await glassbox("plan", *common)
    assert (code, err) == (0, "")
    assert f"Plan: {DASHBOARDS + MONITORS} to create, 0 to update, 0 to delete, 0 unchanged." in out
    assert api.changes() == []  # plan only reads

    code, out, err = await glassbox("apply", *common)
    assert (code, err) == (0, ""), err
    assert f"{DASHBOARDS + MONITORS} created, 0 updated, 0 deleted, 0 unchanged." in out
    assert sorted(api.changes()) == sorted(
        [("POST", "/api/v1/dashboard")] * DASHBOARDS + [("POST", "/api/v1/monitor")] * MONITORS
    )
    assert len(api.dashboards) == DASHBOARDS + 1 and len(api.monitors) == MONITORS + 1
    _unmanaged_untouched(api)

    api.calls.clear()
    code, out, err = await glassbox("apply", *common)
    assert (code, err) == (0, "")
    assert f"0 created, 0 updated, 0 deleted, {DASHBOARDS + MONITORS} unchanged." in out
    assert api.changes() == []

    edited = definitions / "monitors" / "llm-latency-p95.json"
    body = json.loads(edited.read_text())
    body["options"]["thresholds"]["critical"] = 10
    body["query"] = body["query"].replace("> 8", "> 10")
    edited.write_text(json.dumps(body))
    before = copy.deepcopy(api.monitors)
    code, out, err = await glassbox("plan", *common)
    assert "Plan: 0 to create, 1 to update, 0 to delete" in out
    assert "options.thresholds.critical: 8.0 -> 10" in out
    assert api.changes() == []
    code, out, err = await glassbox("apply", *common)
    assert (code, err) == (0, "")
    assert "0 created, 1 updated, 0 deleted" in out
    [(method, path)] = api.changes()
    [(monitor_id, monitor)] = [(i, m) for i, m in api.monitors.items() if "glassbox_asset:llm-latency-p95" in m["tags"]]
    assert (method, path) == ("PUT", f"/api/v1/monitor/{monitor_id}")
    assert monitor["options"]["thresholds"]["critical"] == 10 and monitor["query"].endswith("> 10")
    assert {i: m for i, m in api.monitors.items() if i != monitor_id} == {
        i: m for i, m in before.items() if i != monitor_id
    }

    api.calls.clear()
    code, out, err = await glassbox("plan", "--delete", *common)
    assert f"Plan: 0 to create, 0 to update, {DASHBOARDS + MONITORS} to delete, 0 unchanged." in out
    assert api.changes() == []
    code, out, err = await glassbox("apply", "--delete", *common)
    assert (code, err) == (0, "")
    assert f"0 created, 0 updated, {DASHBOARDS + MONITORS} deleted, 0 unchanged." in out
    assert {m for m, _ in api.changes()} == {"DELETE"}
    assert list(api.dashboards) == [UNMANAGED_DASHBOARD["id"]]
    assert list(api.monitors) == [UNMANAGED_MONITOR["id"]]
    _unmanaged_untouched(api)


async def test_a_dashboard_edited_in_datadog_is_put_back(standin: tuple[StandIn, str]) -> None:
    api, url = standin
    assert (await glassbox("apply", "--api-url", url))[0] == 0
    [dashboard] = [d for d in api.dashboards.values() if d["title"] == "glassbox: LLM cost"]
    dashboard["widgets"][1]["definition"]["title"] = "changed by hand"
    api.calls.clear()
    code, out, _ = await glassbox("apply", "--api-url", url)
    assert code == 0
    assert "widgets[1].definition.title: 'changed by hand' -> 'Estimated cost, selected period (USD)'" in out
    assert api.changes() == [("PUT", f"/api/v1/dashboard/{dashboard['id']}")]


async def test_missing_keys_name_the_variable(standin: tuple[StandIn, str]) -> None:
    api, url = standin
    code, out, err = await glassbox("plan", "--api-url", url, env={"DD_API_KEY": API_KEY})
    assert code == 2
    assert err.startswith("glassbox datadog: DD_APP_KEY not set:") and len(err.splitlines()) == 1
    assert api.calls == []


async def test_403_says_which_keys_to_check(standin: tuple[StandIn, str]) -> None:
    api, url = standin
    code, out, err = await glassbox("apply", "--api-url", url, env={"DD_API_KEY": "wrong", "DD_APP_KEY": APP_KEY})
    assert code == 1
    assert (
        err == f"glassbox datadog: {url} answered 403 to listing dashboards: check DD_API_KEY, DD_APP_KEY "
        "(it needs the dashboards and monitors read/write scopes) and DD_SITE\n"
    )
    assert api.changes() == []


async def test_an_unreachable_url_is_one_line(standin: tuple[StandIn, str]) -> None:
    _, url = standin
    closed = url.rsplit(":", 1)[0] + ":9"  # the discard port: nothing listens on it here
    code, out, err = await glassbox("plan", "--api-url", closed)
    assert code == 1
    assert err.startswith(f"glassbox datadog: cannot reach {closed} (listing dashboards): ")
    assert "Connection refused" in err and len(err.splitlines()) == 1


async def test_broken_definitions_send_nothing(standin: tuple[StandIn, str], tmp_path: Path) -> None:
    api, url = standin
    shutil.copytree(REPO / "deploy", tmp_path / "deploy")
    definitions = tmp_path / "deploy" / "datadog"
    (definitions / "monitors" / "llm-hourly-cost.json").write_text('{"name": "x", "type": "query alert"}')
    code, out, err = await glassbox("apply", "--api-url", url, "--definitions", str(definitions))
    assert code == 1
    assert "the definitions have problems (nothing was sent)" in err
    assert "llm-hourly-cost.json: " in err and "query" in err
    assert api.calls == []


async def test_export_terraform_has_one_resource_per_definition() -> None:
    code, out, err = await glassbox("export", "--terraform", env={})  # no keys needed to export
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["terraform"]["required_providers"]["datadog"]["source"] == "DataDog/datadog"
    resources = document["resource"]
    assert set(resources) == {"datadog_dashboard_json", "datadog_monitor"}
    assert len(resources["datadog_dashboard_json"]) == DASHBOARDS
    assert len(resources["datadog_monitor"]) == MONITORS
    health = json.loads(resources["datadog_dashboard_json"]["glassbox_health"]["dashboard"])
    assert health["description"].endswith("managed_by:glassbox glassbox_asset:health")
    latency = resources["datadog_monitor"]["glassbox_llm_latency_p95"]
    assert latency["query"] == "percentile(last_15m):p95:glassbox.llm.latency{*} by {ml_app,model_name} > 8"
    assert latency["monitor_thresholds"] == [{"critical": 8, "warning": 6}]
    assert latency["priority"] == "3" and latency["notify_no_data"] is False
    assert "managed_by:glassbox" in latency["tags"] and "options" not in latency
    for name, monitor in resources["datadog_monitor"].items():
        assert name.startswith("glassbox_") and {"name", "type", "query", "message", "tags"} <= monitor.keys()
        assert "${" not in monitor["message"].replace("$${", "")
