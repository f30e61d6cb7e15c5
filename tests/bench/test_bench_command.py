"""``glassbox bench`` run for real, as a user runs it: a subprocess that starts its own relay process, intake
stand-in and client processes on 127.0.0.1. Short, low-rate runs (each a few seconds, most of it the relay
starting): every workload, both transports, the null exporter, a user's config, and the errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DEFAULT_CHAIN = ["redaction", "cost", "prompts", "evals"]
FIELDS = {
    "workload", "transport", "processors", "exporter", "rate", "duration_s", "clients", "spans_per_request",
    "spans_sent", "spans_delivered", "genai_spans_sent", "spans_at_intake", "evaluations_at_intake", "seconds",
    "spans_per_s", "cpu_s_per_1000_spans", "latency_ms", "peak_rss_mib", "stages", "pool_spans", "pool_sends",
    "intake_latency_ms", "exporters_left_out", "cpus",
}  # fmt: skip


def bench(cwd: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glassbox.collector.cli", "bench", *flags],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def bench_json(cwd: Path, *flags: str) -> dict[str, Any]:
    done = bench(cwd, *flags, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def check_plausible(result: dict[str, Any], chain: list[str], exporter: str) -> None:
    assert set(result) == FIELDS
    assert result["processors"] == chain and result["exporter"] == exporter
    assert result["spans_sent"] > 0 and result["spans_delivered"] == result["spans_sent"]
    assert 0 < result["spans_per_s"] <= result["spans_sent"] / result["seconds"] * 1.01
    assert 0 < result["cpu_s_per_1000_spans"] < 100
    assert 20 < result["peak_rss_mib"] < 8000
    stages = {stage["stage"]: stage for stage in result["stages"]}
    expected = {"decode", "normalize", *(f"processor:{name}" for name in chain), f"encode:{exporter}"}
    assert expected <= set(stages), stages
    assert list(stages)[: 2 + len(chain)] == ["decode", "normalize", *(f"processor:{name}" for name in chain)]
    assert all(stage["seconds"] >= 0 and stage["ms_per_1000_spans"] >= 0 for stage in stages.values())
    assert sum(stage["share"] for stage in stages.values()) == pytest.approx(1, abs=0.01)
    if exporter == "datadog":
        assert result["spans_at_intake"] == result["genai_spans_sent"]


@pytest.mark.parametrize(("workload", "transport"), [("chat", "http"), ("agent", "grpc")])
def test_a_genai_workload_through_the_default_chain_is_all_delivered_and_measured(tmp_path, workload, transport):
    result = bench_json(tmp_path, "--workload", workload, "--transport", transport, "--duration", "2", "--rate", "150")

    check_plausible(result, DEFAULT_CHAIN, "datadog")
    assert (result["workload"], result["transport"], result["rate"]) == (workload, transport, 150)
    assert 300 <= result["spans_sent"] < 300 + 60  # 2 s at 150 spans/s, in requests of whole traces
    assert result["genai_spans_sent"] == result["spans_sent"] and result["evaluations_at_intake"] > 0
    latency = result["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] < 30_000
    assert result["stages"][-1]["stage"] == "send:datadog"


def test_passthrough_spans_cross_the_relay_though_the_datadog_exporter_sends_none(tmp_path):
    result = bench_json(
        tmp_path, "--workload", "passthrough", "--transport", "grpc", "--duration", "1", "--rate", "500"
    )

    check_plausible(result, DEFAULT_CHAIN, "datadog")
    assert result["genai_spans_sent"] == 0 and result["spans_at_intake"] == 0
    assert result["latency_ms"] is None


def test_the_decode_only_ceiling_counts_every_span_at_the_null_exporter(tmp_path):
    result = bench_json(
        tmp_path, "--workload", "passthrough", "--processors", "none", "--exporter", "null", "--max", "--duration", "1"
    )

    check_plausible(result, [], "null")
    assert result["rate"] == "max" and result["spans_sent"] >= 1000
    assert result["latency_ms"] is None and result["spans_at_intake"] == 0


def test_a_users_config_keeps_its_chain_and_the_table_says_what_was_not_run(tmp_path):
    (tmp_path / "relay.yaml").write_text(
        "processors: {cost: {}, evals: {}}\n"
        "exporters: {local: {path: spans.db}}\n"
        "pipeline: {processors: [cost, evals], exporters: [local], send_unredacted: true}\n"
    )

    done = bench(tmp_path, "-c", "relay.yaml", "--duration", "1", "--rate", "100")

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "processors cost, evals → datadog" in out
    sent, delivered = out.split("spans sent / delivered")[1].split("(")[0].replace(",", "").split("/")
    assert int(sent) == int(delivered) >= 100
    for line in ("spans/s delivered", "CPU s per 1,000 spans", "added latency p50/p95/p99", "peak RSS"):
        assert line in out
    assert "processor:cost" in out and "processor:evals" in out and "processor:redaction" not in out
    assert "note: not run: the config's exporters local" in out
    assert not (tmp_path / "spans.db").exists()  # its exporters were replaced, not run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["relay.yaml"]  # the bench's copy was removed


def test_a_config_the_relay_refuses_shows_the_relays_message(tmp_path):
    (tmp_path / "relay.yaml").write_text(
        "processors: {redaction: {entities: [NOT_AN_ENTITY]}}\npipeline: {processors: [redaction]}\n"
    )

    done = bench(tmp_path, "-c", "relay.yaml", "--duration", "1", "--rate", "10")

    assert done.returncode == 1
    assert "the relay exited with code 1" in done.stderr
    assert "relay.yaml has 1 error(s)" in done.stderr and "unknown entity 'NOT_AN_ENTITY'" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("flags", "code", "message"),
    [
        (["--processors", "redaction,nope"], 1, "--processors: unknown processor 'nope'"),
        (["--rate", "5", "--max"], 2, "argument --max: not allowed with argument --rate"),
        (["--duration", "0"], 1, "--duration 0.0: out of range"),
        (["-c", "missing.yaml"], 1, "-c missing.yaml: no such file"),
        (["--exporter", "null", "--intake-latency", "5"], 1, "--intake-latency needs --exporter datadog"),
    ],
)
def test_bad_flags_say_which_and_how_to_fix_them(tmp_path, flags, code, message):
    done = bench(tmp_path, *flags)

    assert done.returncode == code and message in done.stderr, done.stderr
