"""The CLI as a user types it: --version, flags after the subcommand, `validate PATH` and `validate --default`,
options that say what they do, a closed pipe that ends quietly, the spans table, and dead letters readable without
the exporters' secrets. Each runs the real `glassbox` command."""

from __future__ import annotations

import argparse
import re
import subprocess
import zlib
from datetime import datetime
from pathlib import Path

import orjson
import pytest
import yaml

from glassbox.collector.cli import parser
from glassbox.collector.delivery import deadletter
from glassbox.collector.delivery.store import QueueStore, Write
from glassbox.collector.exporters.datadog.format import EVAL_ZLIB_KIND
from glassbox.collector.exporters.local.store import LocalStore
from glassbox.collector.exporters.local.summary import cut
from tests.collector.test_cli import GOOD, cli_env, command, run


def test_version():
    result = run("glassbox", "--version", cwd=Path.cwd())
    assert result.returncode == 0 and result.stdout.startswith("glassbox ")


def test_validate_takes_the_path_as_an_argument_and_the_log_level_after_the_subcommand(tmp_path: Path):
    (tmp_path / "cfg.yaml").write_text(GOOD % 0)

    result = run("glassbox", "validate", "cfg.yaml", "--log-level", "WARNING", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("cfg.yaml: valid (exporters: local;")


def test_validate_default_prints_the_embedded_config_and_checks_it(tmp_path: Path):
    result = run("glassbox", "validate", "--default", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    document, _, verdict = result.stdout.rpartition("the embedded default: valid")
    assert yaml.safe_load(document)["pipeline"]["processors"] == ["redaction", "cost", "prompts", "evals"]
    assert verdict.startswith(" (exporters: local; processors: redaction, cost, prompts, evals)")


def test_validate_needs_a_file_or_default_and_says_so(tmp_path: Path):
    result = run("glassbox", "validate", cwd=tmp_path)
    assert result.returncode == 2 and "give a config file (PATH or -c PATH) or --default" in result.stderr


def test_every_option_says_what_it_does():
    subcommands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name, sub in subcommands.items():
        for action in sub._actions:
            assert action.help, f"glassbox {name} {'/'.join(action.option_strings) or action.dest} has no help"
    assert "the embedded default" in run("glassbox", "run", "--help", cwd=Path.cwd()).stdout


def test_a_reader_that_leaves_early_ends_the_listing_quietly(tmp_path: Path):
    """`glassbox spans | head` used to print a BrokenPipeError traceback."""
    store = LocalStore(tmp_path / "spans.db")
    rows = []
    for i in range(3000):  # well over a pipe buffer of output
        event = {"trace_id": f"{i:032x}", "span_id": str(i + 1), "name": f"chat {i}", "meta": {"span": {"kind": "llm"}}}
        rows.append(
            (1, event["trace_id"], event["span_id"], "undefined", event["name"], "llm", "app", "gpt-4o-mini",
             "openai", "ok", 1, 1000, 10, 5, 15, 0.0001, "sess-1", orjson.dumps(event))
        )  # fmt: skip
    store.insert(rows, [])
    proc = subprocess.Popen(
        [*command("glassbox"), "spans", "--db", str(tmp_path / "spans.db"), "-n", "3000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100)  # the listing started
    proc.stdout.close()  # and the reader left
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def stored_spans(path: Path, specs: list[tuple[str, str, str]]) -> None:
    """(trace id, service, status) per span, written through the local store."""
    rows = []
    for i, (trace, service, status) in enumerate(specs):
        event = {"trace_id": trace, "span_id": str(i + 1), "name": f"chat {i}", "status": status}
        event |= {"tags": [f"service:{service}", "env:test"], "meta": {"span": {"kind": "llm"}}}
        rows.append(
            (1, trace, str(i + 1), "undefined", event["name"], "llm", service, "gpt-4o-mini", "openai", status,
             i, 1000, 10, 5, 15, 0.0001, None, orjson.dumps(event))
        )  # fmt: skip
    LocalStore(path).insert(rows, [])


def test_spans_filters_by_service_trace_and_errors_and_prints_json(tmp_path: Path):
    a, b = "a" * 32, "b" * 32
    stored_spans(tmp_path / "s.db", [(a, "shop", "ok"), (a, "shop", "error"), (b, "billing", "ok"), (b, "shop", "ok")])

    def listed(*options: str) -> list[tuple[str, str, str]]:
        result = run("glassbox", "spans", "--db", str(tmp_path / "s.db"), "--json", *options, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        rows = [orjson.loads(line) for line in result.stdout.splitlines()]
        return [(r["trace_id"], r["ml_app"], r["status"]) for r in rows]

    assert len(listed()) == 4
    assert listed("--service", "billing") == [(b, "billing", "ok")]
    assert listed("--service", "shop", "--errors") == [(a, "shop", "error")]
    assert listed("--trace", b.upper()) == [(b, "billing", "ok"), (b, "shop", "ok")]
    table = run("glassbox", "spans", "--db", str(tmp_path / "s.db"), "--service", "nobody", cwd=tmp_path).stdout
    assert "(0 span events)" in table


async def test_deadletter_purge_deletes_the_given_letters_or_all(tmp_path: Path):
    (tmp_path / "cfg.yaml").write_text(GOOD % 0)
    store = QueueStore(tmp_path / "storage" / "queue.db")
    store.open()
    try:
        await store.commit(Write(enqueue={"local": [("span", b"one"), ("span", b"two"), ("span", b"three")]}))
        ids = [row[0] for row in await store.peek("local", 0, 10)]
        await store.dead_letter("local", ids, "http_400", "refused")
    finally:
        store.close()
    letters = sorted(r["id"] for r in deadletter.list_letters(tmp_path / "storage" / "queue.db"))

    first = run("glassbox", "deadletter", "purge", str(letters[0]), "-c", "cfg.yaml", cwd=tmp_path)
    assert first.returncode == 0 and first.stdout.strip() == "deleted 1 dead letter(s)", first.stderr
    rest = run("glassbox", "deadletter", "purge", "-c", "cfg.yaml", cwd=tmp_path)
    assert rest.stdout.strip() == "deleted 2 dead letter(s)"
    assert run("glassbox", "deadletter", "list", "-c", "cfg.yaml", cwd=tmp_path).stdout.strip() == "no dead letters"


# --- the spans table: time, service, latency, error; 120 columns; cuts that never split a placeholder ---------

LONG_ERROR = "upstream said no for <PERSON> at <EMAIL_ADDRESS> " + "and then some more words " * 4 + "<EMAIL_ADDRESS>"


def test_spans_table_shows_time_service_latency_and_error_in_120_columns(tmp_path: Path):
    now = datetime.now()
    today_ns = int(now.replace(hour=9, minute=5, second=7, microsecond=0).timestamp() * 1e9)
    old_ns = int(datetime(2024, 2, 29, 23, 59, 30).timestamp() * 1e9)
    error = {"type": "RateLimitError", "message": LONG_ERROR}
    specs = [  # (start, duration ns, service, name, status, error)
        (old_ns, 850_000_000, "shop", "chat", "ok", None),
        (today_ns, 1_250_000_000, "a-service-with-a-long-name", "a span name far longer than its column " * 3, "error",
         error),
        (today_ns + 1, 125_000_000_000, "shop", "embed", "ok", None),
    ]  # fmt: skip
    rows = []
    for i, (start, duration, service, name, status, err) in enumerate(specs):
        event = {"trace_id": "c" * 32, "span_id": str(i + 1), "name": name, "status": status, "start_ns": start}
        event |= {"tags": [f"service:{service}"], "meta": {"span": {"kind": "llm"}}, "metrics": {}}
        if err:
            event["meta"]["error"] = err
            event["status_message"] = err["message"]
        rows.append(
            (1, "c" * 32, str(i + 1), "undefined", name, "llm", service, "gpt-4o-mini", "openai", status, start,
             duration, 10, 5, 15, None, None, orjson.dumps(event))
        )  # fmt: skip
    LocalStore(tmp_path / "s.db").insert(rows, [])

    result = run("glassbox", "spans", "--db", "s.db", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 120, result.stdout
    header = next(line for line in lines if line.startswith("time"))
    assert header.split() == ["time", "kind", "service", "name", "model", "in", "out", "cost", "$", "latency", "error"]
    old, failed, slow = (line for line in lines if " llm " in line)
    assert old.startswith("02-29 23:59 llm ") and " shop " in old and old.endswith("850ms -")
    assert failed.startswith("09:05:07    llm ") and failed.endswith("1.25s RateLimitError"), failed
    assert "a-service-wi" in failed and "…" in failed  # the long service and name are cut, with an ellipsis
    assert slow.endswith("2m05s -")
    message = next(line.strip() for line in lines if line.strip().startswith("error: "))
    assert message.endswith("…") and "<EMAIL_ADDR…" not in message, message
    assert re.fullmatch(r"error: upstream said no for <PERSON> at <EMAIL_ADDRESS> and then[ a-z]*…", message), message


@pytest.mark.parametrize(
    "text, width, expected",
    [
        ("short", 10, "short"),
        ("mail <EMAIL_ADDRESS> now", 12, "mail…"),  # the placeholder would be cut: it goes whole
        ("mail <EMAIL_ADDRESS> now", 22, "mail <EMAIL_ADDRESS> …"),
        ("a < b and c", 6, "a < b…"),  # a "<" that starts no placeholder is plain text
        ("line\nbreaks\tand  spaces", 30, "line breaks and spaces"),
    ],
)
def test_a_cut_never_splits_a_placeholder(text, width, expected):
    assert cut(text, width) == expected


# --- deadletter and spans read what the relay left on disk without the exporters' secrets --------------------

NEEDS_SECRETS = """\
processors: {redaction: {workers: 0}}
exporters:
  datadog: {transport: agentless, api_key: "${env:DD_API_KEY}"}
  local: {path: spans.db}
pipeline:
  processors: [redaction]
  exporters: [datadog, local]
storage: {directory: ./storage}
"""


async def test_deadletter_and_spans_work_without_the_exporters_secrets_while_run_and_validate_stay_strict(
    tmp_path: Path,
):
    (tmp_path / "cfg.yaml").write_text(NEEDS_SECRETS)
    store = QueueStore(tmp_path / "storage" / "queue.db")
    store.open()
    try:
        await store.commit(
            Write(
                enqueue={
                    "datadog": [
                        ("span", b'{"refused": true}'),
                        (EVAL_ZLIB_KIND, zlib.compress(b'{"label":"a"},{"label":"b"}')),
                        (EVAL_ZLIB_KIND, b"damaged"),
                    ]
                }
            )
        )
        ids = [row[0] for row in await store.peek("datadog", 0, 10)]
        await store.dead_letter("datadog", ids, "http_403", "Forbidden")
    finally:
        store.close()
    stored_spans(tmp_path / "spans.db", [("d" * 32, "shop", "ok")])
    assert "DD_API_KEY" not in cli_env()

    listed = run("glassbox", "deadletter", "list", "-c", "cfg.yaml", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"^\s+\d+  datadog\s+span\s+17  .*  http_403: Forbidden$", listed.stdout, re.MULTILINE)
    shown = run("glassbox", "deadletter", "show", str(ids[0]), "-c", "cfg.yaml", cwd=tmp_path)
    assert shown.returncode == 0 and '{"refused": true}' in shown.stdout, shown.stderr
    shown = run("glassbox", "deadletter", "show", str(ids[1]), "-c", "cfg.yaml", cwd=tmp_path)  # decompressed
    assert shown.returncode == 0 and shown.stdout.endswith('{"label":"a"},{"label":"b"}\n'), shown.stderr
    shown = run("glassbox", "deadletter", "show", str(ids[2]), "-c", "cfg.yaml", cwd=tmp_path)
    assert shown.returncode == 0 and "<7 bytes that do not decompress: not zlib data" in shown.stdout, shown.stderr
    spans = run("glassbox", "spans", "-c", "cfg.yaml", cwd=tmp_path)
    assert spans.returncode == 0 and "(1 span events)" in spans.stdout, spans.stderr

    for strict in (["validate", "cfg.yaml"], ["run", "-c", "cfg.yaml"]):
        result = run("glassbox", *strict, cwd=tmp_path)
        assert result.returncode == 1, (strict, result.stdout)
        assert "exporters.datadog.api_key: environment variable DD_API_KEY is not set" in result.stderr


def test_deadletter_still_checks_the_storage_section_it_reads(tmp_path: Path):
    broken = NEEDS_SECRETS.replace(
        "storage: {directory: ./storage}", 'storage: {directory: "${env:GLASSBOX_TEST_UNSET_DIR}", sync: always}'
    )
    (tmp_path / "cfg.yaml").write_text(broken)

    result = run("glassbox", "deadletter", "list", "-c", "cfg.yaml", cwd=tmp_path)

    assert result.returncode == 1
    assert "storage.directory: environment variable GLASSBOX_TEST_UNSET_DIR is not set" in result.stderr
    assert "DD_API_KEY" not in result.stderr and "Traceback" not in result.stderr
