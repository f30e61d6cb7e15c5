"""The relay under test: the user's config (or the embedded default) with its receivers, admin endpoint and
storage moved to free ports and a temporary folder, and its exporters replaced by one aimed at the intake
stand-in (``datadog``) or by the ``null`` exporter; started as ``glassbox run -c`` in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from glassbox.collector import components
from glassbox.collector.config import default_yaml, read_yaml

DEFAULT_CHAIN = ["redaction", "cost", "prompts", "evals"]
READY_WITHIN = 120.0  # seconds: the redaction processor builds its analyzer before the relay is ready


class BenchError(Exception):
    """What ``glassbox bench`` prints (exit 1): a config the relay refused, a relay that died, lost spans."""


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 (held open together so none is picked twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def chain_option(value: str | None, configured: list[str] | None) -> list[str]:
    """The processor chain ``--processors`` asks for: none, default, a comma-separated list, or (unset) the
    config's own chain (the default chain without -c)."""
    if value is None:
        return list(configured) if configured is not None else list(DEFAULT_CHAIN)
    if value == "none":
        return []
    if value == "default":
        return list(DEFAULT_CHAIN)
    chain = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in chain if name not in components.PROCESSORS]
    if unknown or not chain:
        raise BenchError(
            f"--processors: unknown processor {', '.join(map(repr, unknown)) or repr(value)}; give none, default, "
            f"or a comma-separated chain of {', '.join(components.PROCESSORS)}"
        )
    return chain


@dataclass
class RelaySetup:
    """The config file the relay runs with, and what the bench changed in the user's."""

    path: Path
    http_port: int
    grpc_port: int
    admin_port: int
    chain: list[str]
    exporter: str
    left_out: list[str] = field(default_factory=list)  # the user's exporters the bench does not run


def write_config(
    user_config: str | None, workdir: Path, chain_flag: str | None, exporter: str, intake_origin: str, prompts: str
) -> RelaySetup:
    """The relay's config: next to the user's file (its relative paths keep working), else in ``workdir``."""
    if user_config:
        data = read_yaml(Path(user_config))
        if not isinstance(data, dict):
            raise BenchError(f"{user_config}: a relay config is a YAML mapping (receivers, processors, ...)")
        folder = Path(user_config).resolve().parent
    else:
        data = yaml.safe_load(default_yaml())
        folder = workdir
        (workdir / "prompts.yaml").write_text(prompts)  # names the workload's system prompts
        data["processors"]["prompts"] = {"registry": "prompts.yaml"}
    pipeline = dict(data.get("pipeline") or {})
    chain = chain_option(chain_flag, pipeline.get("processors") if user_config else None)
    processors = dict(data.get("processors") or {})
    data["processors"] = {name: processors.get(name) or {} for name in chain}
    http_port, grpc_port, admin_port = free_ports(3)
    receivers = dict(data.get("receivers") or {})
    otlp = dict(receivers.get("otlp") or {})
    otlp["http"] = {**(otlp.get("http") or {}), "endpoint": f"127.0.0.1:{http_port}"}
    otlp["grpc"] = {**(otlp.get("grpc") or {}), "endpoint": f"127.0.0.1:{grpc_port}"}
    data["receivers"] = {**receivers, "otlp": otlp}
    exporters = dict(data.get("exporters") or {})
    left_out = [name for name in pipeline.get("exporters") or [] if name != exporter] if user_config else []
    if exporter == "datadog":
        section = {k: v for k, v in (exporters.get("datadog") or {}).items() if k not in ("agent_url", "site")}
        section.update(transport="agentless", api_key="bench", override_origin=intake_origin)
    else:
        section = exporters.get("null") or {}
    data["exporters"] = {exporter: section}
    pipeline.update(processors=chain, exporters=[exporter])
    if "redaction" not in chain:
        pipeline["send_unredacted"] = True  # the stand-in is on this machine; a chain without redaction is asked for
    data["pipeline"] = pipeline
    data["storage"] = {**(data.get("storage") or {}), "directory": str(workdir / "queue")}
    data["admin"] = {**(data.get("admin") or {}), "endpoint": f"127.0.0.1:{admin_port}"}
    handle, name = tempfile.mkstemp(prefix=".glassbox-bench-", suffix=".yaml", dir=folder)
    with os.fdopen(handle, "w") as file:
        yaml.safe_dump(data, file, sort_keys=False)
    return RelaySetup(Path(name), http_port, grpc_port, admin_port, chain, exporter, left_out)


class RelayProcess:
    """``glassbox run -c <setup.path>`` in its own process, its log in a file (shown when it fails)."""

    def __init__(self, setup: RelaySetup, workdir: Path, user_config: str | None) -> None:
        self.setup = setup
        self.user_config = user_config
        self.log_path = workdir / "relay.log"
        self._log = self.log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}  # the relay is not an app
        self.process = subprocess.Popen(
            [sys.executable, "-m", "glassbox.collector.cli", "--log-level", "WARNING", "run", "-c", str(setup.path)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 25) -> str:
        text = self.log_path.read_text(errors="replace").strip().splitlines()[-lines:]
        shown = "\n".join(text)
        return shown.replace(str(self.setup.path), self.user_config or "the embedded default config")

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise BenchError(f"the relay exited with code {code}:\n{self.log_tail()}")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_WITHIN
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(self.url("/readyz"), timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)  # polling the relay's readiness, with a deadline
        raise BenchError(f"the relay was not ready within {READY_WITHIN:.0f} s:\n{self.log_tail()}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.setup.admin_port}{path}"

    def metrics(self) -> str:
        self.check_alive()
        try:
            with urllib.request.urlopen(self.url("/metrics"), timeout=10) as response:
                return response.read().decode()
        except OSError as exc:
            self.check_alive()
            raise BenchError(f"the relay's /metrics did not answer ({exc}):\n{self.log_tail()}") from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        self.setup.path.unlink(missing_ok=True)
