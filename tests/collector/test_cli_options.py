"""The CLI as a user types it: --version, flags after the subcommand, `validate PATH` and `validate --default`,
options that say what they do, and a closed pipe that ends quietly. Each runs the real `glassbox` command."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import orjson
import yaml

from glassbox.collector.cli import parser
from glassbox.collector.delivery import deadletter
from glassbox.collector.delivery.store import QueueStore, Write
from glassbox.collector.exporters.local.store import LocalStore
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
