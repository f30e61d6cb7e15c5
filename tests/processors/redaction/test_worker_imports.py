"""A redaction worker started by the real CLI loads Presidio, not the relay: spawn re-imports the parent's
``__main__`` unless told otherwise, and the CLI's imports (gRPC, aiohttp, every exporter) cost each worker
28 MB of RSS for nothing (processors/redaction/pool.py, ``_main_module_hidden``)."""

from __future__ import annotations

import sys
from pathlib import Path

from glassbox.processors.redaction.pool import _main_module_hidden
from tests.collector.test_journal import start_relay


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _libraries(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_a_worker_spawned_by_the_cli_does_not_import_the_relay(tmp_path):
    config = tmp_path / "relay.yaml"
    config.write_text(f"""
receivers: {{otlp: {{grpc: {{endpoint: "127.0.0.1:0"}}, http: {{endpoint: "127.0.0.1:0"}}}}}}
processors: {{redaction: {{workers: 1}}}}
exporters: {{local: {{path: "{tmp_path / "spans.db"}"}}}}
pipeline: {{processors: [redaction], exporters: [local]}}
storage: {{directory: "{tmp_path / "queue"}"}}
admin: {{endpoint: "127.0.0.1:0"}}
""")
    proc, _ = start_relay(config, tmp_path)
    try:
        workers = [pid for pid in _children(proc.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 1, workers
        assert "cygrpc" in _libraries(proc.pid)  # the relay itself runs gRPC: the check below can fail
        assert "cygrpc" not in _libraries(workers[0])
        assert "aiohttp" not in _libraries(workers[0])
        assert "spacy" in _libraries(workers[0])  # Presidio's, loaded: the worker is up
    finally:
        proc.terminate()
        proc.wait(30)


def test_main_module_is_put_back_after_a_start_even_one_that_fails():
    main = sys.modules["__main__"]
    before = {key: main.__dict__.get(key, "absent") for key in ("__spec__", "__file__")}
    try:
        with _main_module_hidden():
            assert main.__spec__ is None and "__file__" not in vars(main)
            raise OSError("fork failed")
    except OSError:
        pass
    assert {key: main.__dict__.get(key, "absent") for key in ("__spec__", "__file__")} == before
