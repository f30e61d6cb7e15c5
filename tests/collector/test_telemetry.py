"""The relay's own metrics in the Prometheus text format (``collector.telemetry``): every declared family from
the start, escaping, number formatting, gauges and sources read at scrape time, the stage histogram, and a strict
line check (the venv has no Prometheus parser, so the exposition grammar is checked here, line by line)."""

from __future__ import annotations

import asyncio
import math
import re
import time

import aiohttp
import pytest

from glassbox.collector import telemetry as T
from tests.conftest import agentless_at, export_over_grpc, fixture_files, post_otlp, signal_of
from tests.support.capture_server import CaptureServer

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
LABELS = rf"\{{(?:[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE})(?:,[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE})*\}}"
NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?|[Nn]a[Nn]|[Ii]nf)"
SAMPLE = re.compile(rf"^({NAME})({LABELS})? ({NUMBER})$")
HELP = re.compile(rf"^# HELP ({NAME}) ((?:[^\\\n]|\\\\|\\n)*)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram)$")
HISTOGRAM_SAMPLES = ("_bucket", "_sum", "_count")


def parse_exposition(text: str) -> dict[str, dict]:
    """Check every line against the Prometheus text exposition grammar and return the families:
    name → {"type", "help", "samples": {label text: value text}} (a histogram's keys start with the sample's
    suffix: ``_bucket{le="0.5",stage="send"}``, ``_sum{...}``, ``_count{...}``). Fails on any line that does not
    match, a sample before its family's TYPE, a family declared twice, a duplicate sample, or a histogram whose
    buckets are not cumulative or whose +Inf bucket is not its count."""
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
            suffix = ""
            if current is not None and current["type"] == "histogram":
                suffix = next((s for s in HISTOGRAM_SAMPLES if name.endswith(s)), "")
                assert suffix, f"line {number}: {name} is not a histogram sample"
            assert current is not None and families.get(name[: len(name) - len(suffix)]) is current, (
                f"line {number}: sample of {name} outside its family"
            )
            assert current["type"], f"line {number}: sample before TYPE"
            key = suffix + (labels or "")
            assert key not in current["samples"], f"line {number}: duplicate sample {line!r}"
            current["samples"][key] = value
    for got in families.values():
        if got["type"] == "histogram":
            histogram_series(got)  # checks the buckets
    return families


def histogram_series(got: dict) -> dict[str, dict]:
    """A parsed histogram family by series: label text (without ``le``) → {"buckets": [(le, count)], "sum",
    "count"}; asserts the buckets rise, end at +Inf, and that +Inf equals the count."""
    series: dict[str, dict] = {}
    for key, value in got["samples"].items():
        suffix = next(s for s in HISTOGRAM_SAMPLES if key.startswith(s))
        labels = key[len(suffix) :]
        entry = series.setdefault(labels if suffix != "_bucket" else _without_le(labels), {"buckets": []})
        if suffix == "_bucket":
            entry["buckets"].append((re.search(r'le="([^"]+)"', labels).group(1), float(value)))
        else:
            entry[suffix[1:]] = float(value)
    for labels, entry in series.items():
        counts = [count for _, count in entry["buckets"]]
        assert counts == sorted(counts) and entry["buckets"][-1][0] == "+Inf", labels
        assert counts[-1] == entry["count"] and "sum" in entry, labels
    return series


def _without_le(labels: str) -> str:
    inner = ",".join(part for part in labels[1:-1].split(",") if not part.startswith("le="))
    return "{" + inner + "}" if inner else ""


def family(metric: T.Metric) -> str:
    return f"{metric.namespace}_{metric.name}" + ("_total" if metric.kind == "counter" else "")


async def scrape(relay) -> dict[str, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{relay.admin_port}/metrics") as resp:
            assert resp.status == 200 and resp.content_type == "text/plain"
            return parse_exposition(await resp.text())


# --- families from the start ---------------------------------------------------------------------------------


def test_every_counter_in_the_catalogue_is_rendered_from_the_start():
    families = parse_exposition(T.Telemetry().render())
    counters = [m for m in T.CATALOGUE if m.kind == "counter" and m.namespace == "glassbox"]
    assert len(counters) >= 20 and len({m.family for m in T.CATALOGUE}) == len(T.CATALOGUE)
    for metric in counters:
        got = families[family(metric)]
        assert got["type"] == "counter" and got["help"] == metric.help
        assert got["samples"] == ({"": "0"} if not metric.labels else {}), metric.name  # unlabelled: 0
    assert families["glassbox_stage_duration_seconds"] == {
        "type": "histogram",
        "help": T.STAGE_DURATION.help,
        "samples": {},
    }
    # gauges and process metrics appear once something can read them (the relay registers them)
    assert set(families) == {family(m) for m in counters} | {"glassbox_stage_duration_seconds"}


async def test_a_running_relay_renders_every_family_of_the_catalogue(make_relay):
    relay = await make_relay()
    families = await scrape(relay)
    for metric in T.CATALOGUE:
        got = families[family(metric)]
        assert (got["type"], got["help"]) == (metric.kind, metric.help), metric.name
    assert families["glassbox_exporter_queue_size"]["samples"] == {'{exporter="local"}': "0"}
    assert families["glassbox_exporter_queue_oldest_age_seconds"]["samples"] == {'{exporter="local"}': "0"}
    assert families["glassbox_exporter_failing"]["samples"] == {'{exporter="local"}': "0"}
    assert families["glassbox_ready"]["samples"] == {"": "1"}
    # label values known at startup are listed at 0, so increase() sees the first increments
    assert families["glassbox_exporter_failed_sends_total"]["samples"] == {'{exporter="local"}': "0"}
    assert families["glassbox_exporter_sent_items_total"]["samples"] == {'{exporter="local"}': "0"}
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
    families = await scrape(relay)
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
    collected = [m for m in T.CATALOGUE if m.namespace == "process" or m is T.UPTIME]
    telemetry.collect(lambda: {m: {(): math.e} for m in collected})
    for metric in T.CATALOGUE:
        if metric in collected:
            continue
        if metric.kind == "counter":
            telemetry.add(metric, 1.5, **{label: f"v-{label}" for label in metric.labels})
        elif metric.kind == "gauge":
            telemetry.gauge(metric, (lambda m: lambda: {tuple((label, "x") for label in m.labels): math.pi})(metric))
    for stage, labels in T.STAGES.items():
        telemetry.observe(T.STAGE_DURATION, 0.002, stage=stage, **{label: f"v-{label}" for label in labels})
    families = parse_exposition(telemetry.render())
    assert len(families) == len(T.CATALOGUE)
    for metric in T.CATALOGUE:
        if metric.kind == "histogram":
            continue
        (value,) = families[family(metric)]["samples"].values()
        expected = math.e if metric in collected else 1.5 if metric.kind == "counter" else math.pi
        assert float(value) == expected, metric
    stages = histogram_series(families["glassbox_stage_duration_seconds"])
    assert len(stages) == len(T.STAGES) and all(entry["count"] == 1 for entry in stages.values())


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


# --- the stage histogram ----------------------------------------------------------------------------------------


def test_a_histogram_renders_cumulative_buckets_with_prometheus_le_semantics():
    telemetry = T.Telemetry()
    for seconds in (0.00004, 0.00005, 0.003, 0.003, 20.0):  # 50 us exactly is in le="5e-05"; 20 s only in +Inf
        telemetry.observe(T.STAGE_DURATION, seconds, stage="send", exporter="datadog")
    got = parse_exposition(telemetry.render())["glassbox_stage_duration_seconds"]
    assert got["type"] == "histogram"
    (entry,) = histogram_series(got).values()
    buckets = dict(entry["buckets"])
    assert [le for le, _ in entry["buckets"]] == [repr(b) for b in T.STAGE_BUCKETS] + ["+Inf"]
    assert (buckets["5e-05"], buckets["0.0025"], buckets["0.005"], buckets["10.0"], buckets["+Inf"]) == (2, 2, 4, 4, 5)
    assert entry["count"] == 5 and entry["sum"] == pytest.approx(20.00609)
    assert got["samples"]['_bucket{exporter="datadog",stage="send",le="+Inf"}'] == "5"


def test_each_stage_takes_exactly_its_labels():
    telemetry = T.Telemetry()
    telemetry.observe(T.STAGE_DURATION, 0.1, stage="decode", transport="http", signal="traces")
    for wrong in [
        {"stage": "processor"},  # which processor?
        {"stage": "decode", "transport": "http"},  # signal missing
        {"stage": "encode", "exporter": "a", "processor": "b"},  # one too many
        {"stage": "parse", "exporter": "a"},  # not a stage
    ]:
        with pytest.raises(AssertionError):
            telemetry.observe(T.STAGE_DURATION, 0.1, **wrong)
    with pytest.raises(AssertionError):
        telemetry.observe(T.EXPORTER_QUEUE_SIZE, 0.1, stage="send", exporter="a")  # not a histogram
    (entry,) = histogram_series(parse_exposition(telemetry.render())["glassbox_stage_duration_seconds"]).values()
    assert entry["count"] == 1  # nothing wrong was recorded


def test_the_line_check_rejects_a_broken_histogram():
    good = T.Telemetry()
    good.observe(T.STAGE_DURATION, 0.01, stage="send", exporter="a")
    text = good.render()
    parse_exposition(text)
    for bad in [
        text.replace('le="+Inf"} 1', 'le="+Inf"} 0'),  # buckets not cumulative, +Inf is not the count
        text.replace("glassbox_stage_duration_seconds_count", "glassbox_stage_duration_seconds_total"),
        text.replace('_sum{exporter="a",stage="send"}', '_bucket{exporter="a",stage="send",le="+Inf"}'),  # duplicate
    ]:
        with pytest.raises(AssertionError):
            parse_exposition(bad)


async def test_every_stage_of_a_real_request_is_timed(make_relay, tmp_path):
    """One OTLP/HTTP and one OTLP/gRPC trace request, and one log request, through two processors to the local
    exporter: each stage's count rises by what ran and its sum is positive; every known stage is listed at 0
    before anything arrives."""
    relay = await make_relay(processors={"cost": {}, "debug": {}}, pipeline={"processors": ["cost", "debug"]})
    before = histogram_series((await scrape(relay))["glassbox_stage_duration_seconds"])
    expected = {
        '{signal="traces",stage="decode",transport="http"}': 1,
        '{signal="traces",stage="decode",transport="grpc"}': 1,
        '{signal="logs",stage="decode",transport="http"}': 1,
        '{signal="traces",stage="normalize"}': 2,
        '{signal="logs",stage="normalize"}': 1,
        '{processor="cost",stage="processor"}': 3,  # at least: joins release batches of their own
        '{processor="debug",stage="processor"}': 3,
        '{exporter="local",stage="encode"}': 3,
        '{exporter="local",stage="send"}': 1,
    }
    assert set(expected) <= set(before) and all(before[labels]["count"] == 0 for labels in expected)

    traces = [p for p in fixture_files("ll_default") if signal_of(p) == "traces"][:2]
    logs = next(p for p in fixture_files("ll_events") if signal_of(p) == "logs")
    assert (await post_otlp(relay, "traces", traces[0].read_bytes()))[0] == 200
    assert (await post_otlp(relay, "logs", logs.read_bytes()))[0] == 200
    await export_over_grpc(relay, traces[1:])
    assert await relay.flush(timeout=20)

    after = histogram_series((await scrape(relay))["glassbox_stage_duration_seconds"])
    for labels, count in expected.items():
        exact = "decode" in labels or "normalize" in labels
        grew = after[labels]["count"] - before[labels]["count"]
        assert (grew == count) if exact else (grew >= count), (labels, grew)
        assert 0 < after[labels]["sum"] < 10, labels


# --- exporters: failing, and how old the queue is ----------------------------------------------------------


async def test_a_failing_exporter_shows_on_metrics_as_it_does_on_readyz(make_relay):
    path = next(p for p in fixture_files("ll_events") if signal_of(p) == "traces")
    with CaptureServer() as intake:
        intake.set_default(403, body=b'{"errors": ["Forbidden"]}')
        relay = await make_relay(agentless_at(intake.url))
        for _ in range(3):
            assert (await post_otlp(relay, "traces", path.read_bytes()))[0] == 200
            assert await relay.flush(timeout=20)
        families = await scrape(relay)
        assert families["glassbox_exporter_failing"]["samples"] == {'{exporter="datadog"}': "1"}
        assert families["glassbox_ready"]["samples"] == {"": "0"}
        assert families["glassbox_exporter_failed_sends_total"]["samples"] == {'{exporter="datadog"}': "3"}
        sends = histogram_series(families["glassbox_stage_duration_seconds"])['{exporter="datadog",stage="send"}']
        assert sends["count"] == 3  # every attempt is timed, failed or not

        intake.set_default(202, body=b"{}")
        assert (await post_otlp(relay, "traces", path.read_bytes()))[0] == 200
        assert await relay.flush(timeout=20)
        families = await scrape(relay)
        assert families["glassbox_exporter_failing"]["samples"] == {'{exporter="datadog"}': "0"}
        assert families["glassbox_ready"]["samples"] == {"": "1"}
        assert families["glassbox_exporter_failed_sends_total"]["samples"] == {'{exporter="datadog"}': "3"}


async def test_the_oldest_item_age_grows_while_items_wait_and_is_zero_once_the_queue_is_empty(make_relay):
    path = next(p for p in fixture_files("ll_events") if signal_of(p) == "traces")
    with CaptureServer() as intake:
        intake.set_default(503, body=b"down")
        relay = await make_relay(agentless_at(intake.url))
        age = '{exporter="datadog"}'
        assert (await scrape(relay))["glassbox_exporter_queue_oldest_age_seconds"]["samples"] == {age: "0"}
        assert (await post_otlp(relay, "traces", path.read_bytes()))[0] == 200
        # the destination refuses every attempt: the item waits on disk for its next retry, and ages
        deadline = time.monotonic() + 10
        while float((await scrape(relay))["glassbox_exporter_queue_oldest_age_seconds"]["samples"][age]) < 0.2:
            assert time.monotonic() < deadline, "the oldest item's age did not grow"
            await asyncio.sleep(0.05)

        intake.set_default(202, body=b"{}")
        assert await relay.flush(timeout=20)
        assert (await scrape(relay))["glassbox_exporter_queue_oldest_age_seconds"]["samples"] == {age: "0"}
