"""The CLI as a user types it: --version, flags after the subcommand, `validate PATH` and `validate --default`,
options that say what they do, and a closed pipe that ends quietly. Each runs the real `glassbox` command."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import orjson
import yaml

from glassbox.collector.cli import parser
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
