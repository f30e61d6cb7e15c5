"""Bodies for Datadog's metrics intake (agentless): counts as series v2, distributions as distribution points.

``POST /api/v2/series``: ``{"series": [{"metric", "type": 1 (count), "interval", "points": [{"timestamp",
"value"}], "tags"}]}``; ``POST /api/v1/distribution_points``: ``{"series": [{"metric", "type": "distribution",
"points": [[timestamp, [values...]]], "tags"}]}``, both with ``DD-API-KEY``. Points are bucketed by
``INTERVAL`` seconds of the time their batch was rendered, so a retry after an outage lands when it happened.
"""

from __future__ import annotations

import orjson

SERIES_PATH = "/api/v2/series"
DISTRIBUTION_PATH = "/api/v1/distribution_points"
INTERVAL = 10  # seconds per count point, as the Agent flushes
COUNT_TYPE = 1  # series v2 MetricIntakeType: 0 unspecified, 1 count, 2 rate, 3 gauge

Bucketed = tuple[str, tuple[str, ...], int]  # (metric, tags, bucket start)


def bucket(timestamp: int) -> int:
    return timestamp - timestamp % INTERVAL


def series_body(counts: dict[Bucketed, float]) -> bytes:
    series = [
        {
            "metric": name,
            "type": COUNT_TYPE,
            "interval": INTERVAL,
            "points": [{"timestamp": start, "value": total}],
            "tags": list(tags),
        }
        for (name, tags, start), total in counts.items()
    ]
    return orjson.dumps({"series": series})


def distribution_body(values: dict[Bucketed, list[float]]) -> bytes:
    by_series: dict[tuple[str, tuple[str, ...]], list[list[object]]] = {}
    for (name, tags, start), samples in sorted(values.items(), key=lambda item: item[0][2]):
        by_series.setdefault((name, tags), []).append([start, samples])
    series = [
        {"metric": name, "type": "distribution", "points": points, "tags": list(tags)}
        for (name, tags), points in by_series.items()
    ]
    return orjson.dumps({"series": series})
