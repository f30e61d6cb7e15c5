"""Agentless: counts as series v2 and distributions as distribution points, posted to a stand-in of the metrics
intake on 127.0.0.1 (``override_origin``); bodies checked against JSON Schemas of the documented formats, and
failures reported item by item as the sender needs them."""

from __future__ import annotations

import json

import pytest

from glassbox.collector.errors import PermanentError, RetryableError
from glassbox.collector.exporters.metrics import api
from glassbox.processors import model as M
from tests.collector.exporters.metrics.conftest import exporter, llm_span
from tests.support.capture_server import CaptureServer
from tests.support.schemas import _validate

API_KEY = "dd-metrics-key-7f3a"


def validate_series(body: object) -> None:
    _validate("metrics_series_v2.schema.json", body)


def validate_distributions(body: object) -> None:
    _validate("metrics_distribution_points.schema.json", body)


@pytest.fixture
def intake():
    with CaptureServer() as server:
        server.set_default(202, {"Content-Type": "application/json"}, b'{"errors":[]}')
        yield server


def agentless(intake: CaptureServer, **extra: object):
    return exporter(transport="api", api_key=API_KEY, override_origin=intake.url, tag_allowlist=["feature"], **extra)


def batches(count: int, per_batch: int) -> list[M.Batch]:
    return [
        M.Batch(spans=[llm_span(b * per_batch + i, tags={"feature": "returns"}) for i in range(per_batch)])
        for b in range(count)
    ]


async def test_bodies_follow_the_documented_formats(intake):
    metrics = agentless(intake)
    await metrics.start()
    try:
        items = [item for batch in batches(3, 10) for item in metrics.render(batch)]
        await metrics.send(items)
    finally:
        await metrics.shutdown()
    series, distributions = intake.requests
    assert (series.path, distributions.path) == (api.SERIES_PATH, api.DISTRIBUTION_PATH)
    for request in (series, distributions):
        assert request.method == "POST" and request.headers["DD-API-KEY"] == API_KEY
        assert request.headers["Content-Type"] == "application/json"
    validate_series(series.json())
    validate_distributions(distributions.json())
    by_name = {s["metric"]: s for s in series.json()["series"]}
    requests = by_name["glassbox.llm.requests"]
    assert requests["type"] == 1 and requests["interval"] == 10
    assert (
        sum(p["value"] for s in series.json()["series"] if s["metric"] == "glassbox.llm.requests" for p in s["points"])
        == 30
    )
    assert "feature:returns" in requests["tags"] and "prompt_version:v3" in requests["tags"]
    assert all(p["timestamp"] % 10 == 0 for s in series.json()["series"] for p in s["points"])
    latency = [s for s in distributions.json()["series"] if s["metric"] == "glassbox.llm.latency"]
    assert sum(len(values) for s in latency for _, values in s["points"]) == 30
    assert {v for s in latency for _, values in s["points"] for v in values} == {1.25}


async def test_a_refused_distribution_body_refuses_only_its_items(intake):
    intake.respond_to(api.DISTRIBUTION_PATH, [(400, {}, b'{"errors":["Invalid payload"]}')])
    metrics = agentless(intake)
    await metrics.start()
    try:
        items = [item for batch in batches(2, 5) for item in metrics.render(batch)]
        kinds = [kind for kind, _ in items]
        with pytest.raises(PermanentError) as refused:
            await metrics.send(items)
    finally:
        await metrics.shutdown()
    assert refused.value.reason == "http_400"
    assert refused.value.accepted == {i for i, kind in enumerate(kinds) if kind == "count"}
    assert refused.value.refused == {i for i, kind in enumerate(kinds) if kind == "distribution"}


async def test_an_unavailable_intake_is_retried_with_nothing_accepted(intake):
    intake.respond_to(api.SERIES_PATH, [(503, {"Retry-After": "2"}, b"")])
    metrics = agentless(intake)
    await metrics.start()
    try:
        items = metrics.render(batches(1, 3)[0])
        with pytest.raises(RetryableError) as failed:
            await metrics.send(items)
        assert failed.value.accepted == frozenset() and failed.value.retry_after == 2.0
        await metrics.send(items)  # the next attempt goes through
    finally:
        await metrics.shutdown()
    assert [r.response_status for r in intake.requests] == [503, 202, 202]


async def test_large_sends_are_split_at_item_boundaries(intake):
    metrics = agentless(intake, max_tag_values=10_000)
    await metrics.start()
    try:
        spans = [[llm_span(b * 2000 + i, tags={"feature": f"f{i}"}) for i in range(2000)] for b in range(4)]
        items = [item for batch in spans for item in metrics.render(M.Batch(spans=batch))]
        assert sum(len(body) for kind, body in items if kind == "count") > 1 << 20  # more than one body's worth
        await metrics.send(items)
    finally:
        await metrics.shutdown()
    bodies = [r for r in intake.requests if r.path == api.SERIES_PATH]
    assert len(bodies) >= 2
    total = 0
    for request in bodies:
        validate_series(request.json())
        total += sum(
            p["value"] for s in request.json()["series"] if s["metric"] == "glassbox.llm.requests" for p in s["points"]
        )
    assert total == 8000


def test_site_decides_the_host():
    metrics = exporter(transport="api", api_key=API_KEY, site="datadoghq.eu")
    assert metrics.series_url == "https://api.datadoghq.eu/api/v2/series"
    assert metrics.distribution_url == "https://api.datadoghq.eu/api/v1/distribution_points"
    assert API_KEY not in metrics.describe() and json.dumps(metrics.describe())
