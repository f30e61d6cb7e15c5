"""The relay's own metrics in the Prometheus text format (``collector.telemetry``): every declared family from
the start, escaping, number formatting, gauges and sources read at scrape time, and a strict line check (the
venv has no Prometheus parser, so the exposition grammar is checked here, line by line)."""

from __future__ import annotations

import math
import re

import aiohttp
import pytest

from glassbox.collector import telemetry as T

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
LABELS = rf"\{{(?:[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE})(?:,[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE})*\}}"
NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?|[Nn]a[Nn]|[Ii]nf)"
SAMPLE = re.compile(rf"^({NAME})({LABELS})? ({NUMBER})$")
HELP = re.compile(rf"^# HELP ({NAME}) ((?:[^\\\n]|\\\\|\\n)*)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge)$")


def parse_exposition(text: str) -> dict[str, dict]:
    """Check every line against the Prometheus text exposition grammar and return the families:
    name → {"type", "help", "samples": {label text: value text}}. Fails on any line that does not match, a
    sample before its family's TYPE, a family declared twice, or a duplicate sample."""
    assert text.endswith("\n") and not text.endswith("\n\n")
    families: dict[str, dict] = {}
    current = None
    for number, line in enumerate(text[:-1].split("\n"), start=1):
        if line.startswith("# HELP "):
            match = HELP.match(line)
            assert match, f"line {number}: bad HELP: {line!r}"
            assert match.group(1) not in families, f"line {number}: family {match.group(1)} declared twice"
            current = families[match.group(1)] = {"help": match.group(2), "type": None, "samples": {}}
        elif line.startswith("# TYPE "):
            match = TYPE.match(line)
            assert match and current is not None and match.group(1) in families, f"line {number}: {line!r}"
            assert families[match.group(1)]["type"] is None and not current["samples"], f"line {number}: late TYPE"
            families[match.group(1)]["type"] = match.group(2)
        else:
            match = SAMPLE.match(line)
            assert match, f"line {number}: not a Prometheus sample: {line!r}"
            name, labels, value = match.groups()
            assert current is not None and families.get(name) is current and current["type"], (
                f"line {number}: sample of {name} outside its family"
            )
            assert (labels or "") not in current["samples"], f"line {number}: duplicate sample {line!r}"
            current["samples"][labels or ""] = value
    return families


def family(metric: T.Metric) -> str:
    return f"glassbox_{metric.name}_total" if metric.kind == "counter" else f"glassbox_{metric.name}"


# --- families from the start ---------------------------------------------------------------------------------


def test_every_counter_in_the_catalogue_is_rendered_from_the_start():
    families = parse_exposition(T.Telemetry().render())
    counters = [m for m in T.CATALOGUE if m.kind == "counter"]
    assert len(counters) >= 20 and len({m.name for m in T.CATALOGUE}) == len(T.CATALOGUE)
    for metric in counters:
        got = families[family(metric)]
        assert got["type"] == "counter" and got["help"] == metric.help
        assert got["samples"] == ({"": "0"} if not metric.labels else {}), metric.name  # unlabelled: 0
    assert set(families) == {family(m) for m in counters}  # gauges appear once something can read them


async def test_a_running_relay_renders_every_family_of_the_catalogue(make_relay):
    relay = await make_relay()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{relay.admin_port}/metrics") as resp:
            assert resp.status == 200 and resp.content_type == "text/plain"
            text = await resp.text()
    families = parse_exposition(text)
    for metric in T.CATALOGUE:
        got = families[family(metric)]
        assert (got["type"], got["help"]) == (metric.kind, metric.help), metric.name
    assert families["glassbox_exporter_queue_size"]["samples"] == {'{exporter="local"}': "0"}
    assert families["glassbox_exporter_queue_capacity"]["samples"] == {'{exporter="local"}': "100000"}
    assert families["glassbox_pipeline_pending_spans"]["samples"] == {"": "0"}
    assert families["glassbox_pipeline_unredacted_exporters"]["samples"] == {}  # local keeps data on the machine
    ((labels, value),) = families["glassbox_build_info"]["samples"].items()
    assert value == "1" and 'version="' in labels and 'python="3.' in labels


async def test_metrics_say_which_exporters_get_unredacted_data_when_the_switch_allows_it(make_relay, tmp_path):
    relay = await make_relay(
        {"otlp": {"endpoint": "http://127.0.0.1:9"}, "local": {"path": str(tmp_path / "s.db")}},
        pipeline={"send_unredacted": True},
    )
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{relay.admin_port}/metrics") as resp:
            families = parse_exposition(await resp.text())
    assert families["glassbox_pipeline_unredacted_exporters"]["samples"] == {'{exporter="otlp"}': "1"}


# --- samples ------------------------------------------------------------------------------------------------


def test_label_values_are_escaped():
    telemetry = T.Telemetry()
    telemetry.add(T.EXPORTER_DEAD_LETTERS, 2, exporter='we"ird\\name\nx', reason="http_400")
    text = telemetry.render()
    line = 'glassbox_exporter_dead_letters_total{exporter="we\\"ird\\\\name\\nx",reason="http_400"} 2'
    assert line in text.split("\n")
    samples = parse_exposition(text)["glassbox_exporter_dead_letters_total"]["samples"]
    assert samples == {'{exporter="we\\"ird\\\\name\\nx",reason="http_400"}': "2"}
    assert telemetry.value(T.EXPORTER_DEAD_LETTERS, exporter='we"ird\\name\nx', reason="http_400") == 2


def test_integers_render_without_a_decimal_point_and_fractions_exactly():
    telemetry = T.Telemetry()
    telemetry.add(T.PIPELINE_JOINED_SPANS, 3)
    telemetry.add(T.PIPELINE_JOINED_SPANS, 2.0)
    telemetry.add(T.EXPORTER_SENT_ITEMS, 0.5, exporter="a")
    telemetry.add(T.EXPORTER_SENT_ITEMS, 0.75, exporter="a")
    telemetry.add(T.EXPORTER_SENT_ITEMS, 10**12, exporter="b")
    telemetry.add(T.EXPORTER_SENT_ITEMS, 0, exporter="c")  # adding nothing creates no series
    telemetry.gauge(T.EXPORTER_QUEUE_OLDEST_AGE, lambda: {(("exporter", "a"),): 0.1, (("exporter", "b"),): 7.0})
    families = parse_exposition(telemetry.render())
    assert families["glassbox_pipeline_joined_spans_total"]["samples"] == {"": "5"}
    assert families["glassbox_exporter_sent_items_total"]["samples"] == {
        '{exporter="a"}': "1.25",
        '{exporter="b"}': "1000000000000",
    }
    assert families["glassbox_exporter_queue_oldest_age_seconds"]["samples"] == {
        '{exporter="a"}': "0.1",
        '{exporter="b"}': "7",
    }


def test_add_with_the_wrong_labels_fails():
    telemetry = T.Telemetry()
    with pytest.raises(AssertionError):
        telemetry.add(T.EXPORTER_DEAD_LETTERS, 1, exporter="a")  # reason missing
    with pytest.raises(AssertionError):
        telemetry.add(T.PIPELINE_JOINED_SPANS, 1, exporter="a")  # no labels declared
    with pytest.raises(AssertionError):
        telemetry.add(T.EXPORTER_SENT_ITEMS, 1, exporter="a", reason="b")  # one too many
    with pytest.raises(AssertionError):
        telemetry.add(T.EXPORTER_QUEUE_SIZE, 1, exporter="a")  # a gauge is not added to
    with pytest.raises(AssertionError):
        telemetry.gauge(T.EXPORTER_SENT_ITEMS, lambda: {})  # a counter is not a gauge
    assert telemetry.total(T.EXPORTER_DEAD_LETTERS) == 0 and telemetry.total(T.PIPELINE_JOINED_SPANS) == 0


def test_gauges_are_read_at_scrape_time():
    telemetry = T.Telemetry()
    depth = {"a": 3}
    reads = []

    def read():
        reads.append(1)
        return {(("exporter", name),): value for name, value in depth.items()}

    telemetry.gauge(T.EXPORTER_QUEUE_SIZE, read)
    assert reads == []  # registering does not read
    assert parse_exposition(telemetry.render())["glassbox_exporter_queue_size"]["samples"] == {'{exporter="a"}': "3"}
    depth["a"] = 0
    depth["b"] = 12
    assert parse_exposition(telemetry.render())["glassbox_exporter_queue_size"]["samples"] == {
        '{exporter="a"}': "0",
        '{exporter="b"}': "12",
    }
    assert len(reads) == 2


def test_source_families_are_rendered_with_total_for_counters():
    telemetry = T.Telemetry()
    found = {"EMAIL_ADDRESS": 2}

    def read():
        return {
            "redaction_entities": (
                "counter",
                "PII findings by entity type",
                {(("type", k),): v for k, v in found.items()},
            ),
            "redaction_cache_size": ("gauge", 'entries\nin "cache" \\ now', {(): 4}),
        }

    telemetry.source(read)
    families = parse_exposition(telemetry.render())
    assert families["glassbox_redaction_entities_total"] == {
        "type": "counter",
        "help": "PII findings by entity type",
        "samples": {'{type="EMAIL_ADDRESS"}': "2"},
    }
    assert families["glassbox_redaction_cache_size"] == {
        "type": "gauge",
        "help": 'entries\\nin "cache" \\\\ now',
        "samples": {"": "4"},
    }  # HELP escapes \ and newline
    assert "glassbox_redaction_entities" not in families and "glassbox_redaction_cache_size_total" not in families
    found["PHONE_NUMBER"] = 1  # read at scrape time, like gauges
    assert parse_exposition(telemetry.render())["glassbox_redaction_entities_total"]["samples"] == {
        '{type="EMAIL_ADDRESS"}': "2",
        '{type="PHONE_NUMBER"}': "1",
    }


def test_value_and_total_by_metric_or_by_name():
    telemetry = T.Telemetry()
    telemetry.add(T.EXPORTER_DEAD_LETTERS, 2, exporter="dd", reason="http_400")
    telemetry.add(T.EXPORTER_DEAD_LETTERS, 3, exporter="dd", reason="retries_exhausted")
    telemetry.add(T.EXPORTER_DEAD_LETTERS, 1, reason="http_400", exporter="otlp")  # label order does not matter
    assert telemetry.value(T.EXPORTER_DEAD_LETTERS, exporter="dd", reason="http_400") == 2
    assert telemetry.value("exporter_dead_letters", reason="http_400", exporter="dd") == 2
    assert telemetry.value("exporter_dead_letters", exporter="dd", reason="other") == 0
    assert telemetry.total(T.EXPORTER_DEAD_LETTERS) == telemetry.total("exporter_dead_letters") == 6
    assert telemetry.total("pipeline_joined_spans") == 0
    with pytest.raises(KeyError):
        telemetry.value("no_such_counter")
    with pytest.raises(KeyError):
        telemetry.total("exporter_queue_size")  # a gauge has no stored value


def test_a_busy_registry_still_renders_a_valid_exposition():
    telemetry = T.Telemetry()
    for metric in T.CATALOGUE:
        if metric.kind == "counter":
            telemetry.add(metric, 1.5, **{label: f"v-{label}" for label in metric.labels})
        else:
            telemetry.gauge(metric, (lambda m: lambda: {tuple((label, "x") for label in m.labels): math.pi})(metric))
    families = parse_exposition(telemetry.render())
    assert len(families) == len(T.CATALOGUE)
    for metric in T.CATALOGUE:
        (value,) = families[family(metric)]["samples"].values()
        assert float(value) == (1.5 if metric.kind == "counter" else math.pi)


def test_the_line_check_rejects_what_prometheus_would():
    good = '# HELP glassbox_x_total help\n# TYPE glassbox_x_total counter\nglassbox_x_total{a="b"} 1\n'
    assert parse_exposition(good)["glassbox_x_total"]["samples"] == {'{a="b"}': "1"}
    for bad in [
        good.replace(" 1\n", " one\n"),
        good.replace('{a="b"}', "{a=b}"),
        good.replace('a="b"', 'a="b"c"'),
        good.replace("# TYPE glassbox_x_total counter\n", ""),
        good + good,
        good.replace("glassbox_x_total{", "glassbox-x{"),
    ]:
        with pytest.raises(AssertionError):
            parse_exposition(bad)
