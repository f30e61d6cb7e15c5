"""The shipped alerts on the relay (``deploy/alerts/``): every metric a Prometheus rule or a Datadog monitor reads
is one the relay exposes (declared in ``collector/telemetry.py``, or counted by a registered processor), the files
are well formed and complete, and both files hold the same alerts over the same metrics. A typo in a metric or
label name fails here, not silently in production (the negative cases below prove the check catches it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from glassbox.collector import components
from glassbox.collector import telemetry as T
from glassbox.processors.base import Context

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "alerts" / "prometheus-rules.yaml"
MONITORS = ROOT / "deploy" / "alerts" / "datadog-monitors.json"
SEVERITIES = {"critical": 1, "warning": 3}  # severity label → Datadog priority
# Series the scraper makes itself, and their counterpart: Prometheus' `up`, the OpenMetrics check's service check.
SCRAPER_OWN = {"up": "glassbox.openmetrics.health"}
SCRAPER_LABELS = {"job", "instance"}

PROMQL_KEYWORDS = {
    *("and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"),
    *("sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk"),
    *("quantile", "inf", "nan"),
}
PROMQL_FUNCTIONS = {
    *("abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min"),
    *("count_over_time", "delta", "deriv", "floor", "histogram_quantile", "idelta", "increase", "irate"),
    *("label_replace", "last_over_time", "max_over_time", "min_over_time", "predict_linear", "quantile_over_time"),
    *("rate", "resets", "round", "scalar", "sort", "sum_over_time", "time", "timestamp", "vector"),
    *PROMQL_KEYWORDS,  # aggregations are written like calls: sum(...)
}
DURATION = re.compile(r"^\d+[smhdwy]$")


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def monitors() -> list[dict]:
    return json.loads(MONITORS.read_text())


def exposed() -> dict[str, T.Metric | None]:
    """Every family the relay can put on /metrics → its declaration (None for processors' own families, whose
    labels are only known once they count): the catalogue, and what each registered processor counts, read
    from the real components (created, not started)."""
    families: dict[str, T.Metric | None] = {metric.family: metric for metric in T.CATALOGUE}
    for factory in components.PROCESSORS.values():
        metrics = getattr(factory.create(factory.config(), Context()), "metrics", None)
        for name, (kind, _, _) in (metrics() if callable(metrics) else {}).items():
            families[f"glassbox_{name}_total" if kind == "counter" else f"glassbox_{name}"] = None
    return families


KINDS = {m.family: m.kind for m in T.CATALOGUE}


def kind_of(family: str) -> str:
    return KINDS.get(family) or ("counter" if family.endswith("_total") else "gauge")


def series_family(series: str, families: dict) -> str | None:
    """The family a series name belongs to (a histogram's ``_bucket``/``_sum``/``_count`` to the histogram)."""
    if series in families:
        return series
    for suffix in ("_bucket", "_sum", "_count"):
        base = series.removesuffix(suffix)
        if base != series and base in families and kind_of(base) == "histogram":
            return base
    return None


def promql_selectors(expr: str) -> tuple[list[tuple[str, list[str]]], set[str], list[str]]:
    """What a PromQL expression reads: (metric name, label names its matcher uses) per selector, the functions
    it calls, and syntax problems (unbalanced brackets). A small reader, enough for rule files: strings are
    blanked, ranges and ``by (...)`` label lists are skipped, and every other identifier is a function (when
    ``(`` follows), a keyword, or a metric name."""
    problems = [f"unbalanced {o}{c}" for o, c in ("()", "{}", "[]") if expr.count(o) != expr.count(c)]
    text = re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', expr)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1 ", text)
    selectors: list[tuple[str, list[str]]] = []
    functions: set[str] = set()
    token = re.compile(r"(\d[\w.]*)|([a-zA-Z_:][\w:]*)\s*(\(|\{[^}]*\})?")
    for number, name, after in token.findall(text):
        if number:
            continue
        if after == "(":
            functions.add(name)
        elif name not in PROMQL_KEYWORDS:
            matcher = after[1:-1] if after.startswith("{") else ""
            labels = re.findall(r'([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*""', matcher)
            selectors.append((name, labels))
    return selectors, functions, problems


def promql_problems(expr: str, families: dict) -> list[str]:
    selectors, functions, problems = promql_selectors(expr)
    problems += [f"unknown function {name}()" for name in sorted(functions - PROMQL_FUNCTIONS)]
    if not selectors:
        problems.append("reads no metric")
    for series, labels in selectors:
        if series in SCRAPER_OWN:
            continue
        family = series_family(series, families)
        if family is None:
            problems.append(f"{series}: not on the relay's /metrics")
            continue
        metric = families[family]
        allowed = (
            set(metric.labels) | SCRAPER_LABELS | ({"le"} if metric.kind == "histogram" else set()) if metric else None
        )
        problems += [
            f"{series}: no label {label!r}" for label in labels if allowed is not None and label not in allowed
        ]
    return problems


def datadog_names(family: str) -> set[str]:
    """What the Agent's OpenMetrics check (namespace glassbox, raw_metric_prefix glassbox_) names a family."""
    raw = family.removeprefix("glassbox_")
    kind = kind_of(family)
    if kind == "counter":
        return {f"glassbox.{raw.removesuffix('_total')}.count"}
    if kind == "histogram":
        return {f"glassbox.{raw}.{part}" for part in ("count", "sum", "bucket")}
    return {f"glassbox.{raw}"}


def datadog_metrics(query: str) -> set[str]:
    names = set(re.findall(r"\b(?:avg|sum|min|max):([a-z][\w.]*)\{", query))
    return names | set(re.findall(r'^"([\w.]+)"\.over\(', query))


def datadog_problems(query: str, families: dict) -> list[str]:
    known = {name for family in families for name in datadog_names(family)} | set(SCRAPER_OWN.values())
    names = datadog_metrics(query)
    problems = [f"{name}: not what the Agent names any family of /metrics" for name in sorted(names - known)]
    return problems or ([] if names else ["reads no metric"])


def as_datadog(expr: str, families: dict) -> set[str]:
    """The Datadog names of the families a PromQL expression reads."""
    names: set[str] = set()
    for series, _ in promql_selectors(expr)[0]:
        family = series_family(series, families)
        names |= {SCRAPER_OWN[series]} if series in SCRAPER_OWN else datadog_names(family) if family else set()
    return names


# --- the Prometheus rules ---------------------------------------------------------------------------------------


def test_every_rule_is_complete_and_reads_only_metrics_the_relay_exposes():
    families = exposed()
    found = rules()
    assert len(found) >= 12 and len({rule["alert"] for rule in found}) == len(found)
    for rule in found:
        name = rule["alert"]
        assert re.fullmatch(r"Glassbox[A-Z]\w+", name), name
        assert DURATION.match(rule["for"]), name
        assert rule["labels"]["severity"] in SEVERITIES, name
        annotations = rule["annotations"]
        assert annotations["summary"] and len(annotations["description"]) > 40, name
        assert annotations["runbook_url"] == "README.md#alerts", name
        assert promql_problems(rule["expr"], families) == [], name


def test_the_alerts_cover_what_the_brief_asks_for():
    read = {rule["alert"]: {s for s, _ in promql_selectors(rule["expr"])[0]} for rule in rules()}
    everything = set().union(*read.values())
    for needed in [
        "up",
        "glassbox_ready",
        "glassbox_exporter_failing",
        "glassbox_exporter_failed_sends_total",
        "glassbox_exporter_queue_oldest_age_seconds",
        "glassbox_exporter_queue_size",
        "glassbox_exporter_queue_capacity",
        "glassbox_exporter_dead_letters_total",
        "glassbox_exporter_dropped_items_total",
        "glassbox_pipeline_dropped_items_total",
        "glassbox_redaction_failed_closed_total",
        "glassbox_processor_failed_spans_total",
        "glassbox_receiver_refused_requests_total",
        "glassbox_pipeline_unredacted_exporters",
    ]:
        assert needed in everything, needed


def test_every_runbook_points_at_the_readme_alerts_table():
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^#+ Alerts$", readme, re.M), "README.md has no 'Alerts' heading (anchor #alerts)"
    table = readme[readme.index("\n#### Alerts") :]
    for rule in rules():
        assert f"`{rule['alert']}`" in table, rule["alert"]


# --- the Datadog monitors -------------------------------------------------------------------------------------


def test_every_monitor_is_complete_and_reads_only_metrics_the_agent_would_name():
    families = exposed()
    for monitor in monitors():
        name = monitor["name"]
        assert name.startswith("[glassbox] ") and monitor["message"], name
        assert monitor["type"] in ("query alert", "service check"), name
        tags = dict(tag.split(":", 1) for tag in monitor["tags"])
        assert tags["service"] == "glassbox" and tags["severity"] in SEVERITIES, name
        assert monitor["priority"] == SEVERITIES[tags["severity"]], name
        assert "README.md#alerts" in monitor["message"], name
        assert datadog_problems(monitor["query"], families) == [], name
        critical = monitor["options"]["thresholds"]["critical"]
        if monitor["type"] == "query alert":  # Datadog refuses a threshold that differs from the query's
            assert float(re.search(r"[<>]=? (-?[\d.]+)$", monitor["query"]).group(1)) == critical, name
        else:
            assert re.search(rf"\.last\({critical}\)\.count_by_status\(\)$", monitor["query"]), name


def test_prometheus_and_datadog_hold_the_same_alerts_over_the_same_metrics():
    families = exposed()
    by_alert: dict[str, list[dict]] = {}
    for monitor in monitors():
        by_alert.setdefault(dict(t.split(":", 1) for t in monitor["tags"])["glassbox_alert"], []).append(monitor)
    prometheus = {rule["alert"]: rule for rule in rules()}
    assert set(by_alert) == set(prometheus)
    for alert, rule in prometheus.items():
        (monitor,) = by_alert[alert]
        assert f"severity:{rule['labels']['severity']}" in monitor["tags"], alert
        assert datadog_metrics(monitor["query"]) == as_datadog(rule["expr"], families), alert


# --- the checks catch mistakes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, problem",
    [
        ("increase(glassbox_exporter_dead_leters_total[10m]) > 0", "glassbox_exporter_dead_leters_total: not on"),
        ("glassbox_exporter_queue_size / glassbox_exporter_queue_capacty > 0.8", "glassbox_exporter_queue_capacty"),
        ('increase(glassbox_receiver_refused_requests_total{reasn="queue_full"}[5m]) > 0', "no label 'reasn'"),
        ("increse(glassbox_exporter_retries_total[5m]) > 0", "unknown function increse()"),
        ("glassbox_exporter_dead_letters > 0", "glassbox_exporter_dead_letters: not on"),  # a counter needs _total
        ("glassbox_stage_duration_seconds_total > 0", "not on"),  # a histogram has _bucket/_sum/_count
        ("rate(glassbox_exporter_retries_total[5m] > 0", "unbalanced ()"),
        ("time() > 0", "reads no metric"),
    ],
)
def test_the_rule_check_catches_a_typo(expr, problem):
    problems = promql_problems(expr, exposed())
    assert any(problem in p for p in problems), problems


def test_the_rule_check_accepts_histograms_and_label_lists():
    expr = (
        "histogram_quantile(0.99, sum by (le, processor) "
        '(rate(glassbox_stage_duration_seconds_bucket{stage="processor"}[5m]))) > 0.5 '
        "and on (instance) glassbox_ready == 1"
    )
    assert promql_problems(expr, exposed()) == []
    assert {s for s, _ in promql_selectors(expr)[0]} == {"glassbox_stage_duration_seconds_bucket", "glassbox_ready"}


@pytest.mark.parametrize(
    "query",
    [
        "sum(last_10m):sum:glassbox.exporter_dead_leters.count{*} by {exporter}.as_count() > 0",
        "sum(last_10m):sum:glassbox.exporter_dead_letters_total.count{*}.as_count() > 0",  # the check drops _total
        "max(last_5m):max:glassbox.glassbox_ready{*} < 1",  # raw_metric_prefix strips glassbox_
        "max(last_5m):max:glassbox.exporter_queue_size.count{*} > 1",  # a gauge has no .count
    ],
)
def test_the_monitor_check_catches_a_wrong_name(query):
    assert datadog_problems(query, exposed()) != []
