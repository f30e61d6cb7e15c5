"""Run a README wiring snippet for real: a ``glassbox run`` relay on free 127.0.0.1 ports with the local exporter,
the project's fake OpenAI server, and the snippet's own shell variables and code in the runtime it names.

The only changes made to a snippet before it runs: the README's ports 4318/4317 become the relay's free ports,
and the app gets ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` for the fake server (a user has their own).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glassbox.collector.exporters.local.store import LocalStore
from tests.support.net import free_ports

REPO = Path(__file__).resolve().parents[2]
WIRING = Path(__file__).resolve().parent
JS_DIR = WIRING / "js"
NETGUARD = WIRING / "netguard"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


@dataclass(frozen=True)
class Runtime:
    """Where a snippet runs, and the make target that creates it."""

    name: str
    make_target: str
    path: Path  # the venv's python, or the node_modules directory
    node: bool = False
    wrapper: tuple[str, ...] = ()  # a command the app runs under (glassbox-instrument)

    def require(self) -> None:
        if not self.path.exists():
            raise RuntimeError(
                f"{self.path} not found: run `make {self.make_target}` (the wiring tests for {self.name} need it)"
            )

    def command(self, script: Path) -> list[str]:
        if self.node:
            return ["node", str(script)]
        return [*self.wrapper, str(self.path), str(script)]


RUNTIMES = {
    "dev": Runtime("the dev venv", "install", Path(sys.executable)),
    "instrument": Runtime(
        "glassbox-instrument",
        "install",
        Path(sys.executable),
        wrapper=(str(Path(sys.executable).parent / "glassbox-instrument"),),
    ),
    "openlit": Runtime("OpenLIT", "wiring-openlit", REPO / ".venv-openlit" / "bin" / "python"),
    "traceloop": Runtime("the Traceloop SDK", "wiring-traceloop", REPO / ".venv-traceloop" / "bin" / "python"),
    "javascript": Runtime("JavaScript", "wiring-js", JS_DIR / "node_modules", node=True),
}


def relay_config(grpc: int, http: int, admin: int) -> str:
    return f"""\
receivers:
  otlp:
    grpc: {{endpoint: "127.0.0.1:{grpc}"}}
    http: {{endpoint: "127.0.0.1:{http}"}}
exporters:
  local: {{path: spans.db}}
pipeline:
  exporters: [local]
  join_timeout: 1s
storage: {{directory: ./storage}}
admin: {{endpoint: "127.0.0.1:{admin}"}}
"""


def _clean_env() -> dict[str, str]:
    """No Datadog/OTel/Traceloop settings and no proxies leak in from the caller."""
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Relay:
    """``glassbox run -c relay.yaml`` in a subprocess, on free ports, storing spans in ``<dir>/spans.db``."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.grpc_port, self.http_port, self.admin_port = free_ports(3)
        (directory / "relay.yaml").write_text(relay_config(self.grpc_port, self.http_port, self.admin_port))
        self.log = directory / "relay.log"
        glassbox = Path(sys.executable).parent / "glassbox"
        cli = [str(glassbox)] if glassbox.exists() else [sys.executable, "-m", "glassbox.collector.cli"]
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [*cli, "run", "-c", "relay.yaml"], cwd=directory, env=_clean_env(), stdout=out, stderr=subprocess.STDOUT
            )
        self._wait_ready(30)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"glassbox run exited with {self.proc.returncode}:\n{self.output}")
            try:
                with NO_PROXY.open(f"http://127.0.0.1:{self.admin_port}/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"the relay was not ready within {timeout}s:\n{self.output}")

    @property
    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def spans(self) -> list[dict[str, Any]]:
        db = self.directory / "spans.db"
        return LocalStore(db).recent(100) if db.exists() else []

    def wait_for_llm_span(self, timeout: float = 30) -> dict[str, Any]:
        """The first LLM span stored (polled with a deadline); its event is what Datadog would get."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for row in self.spans():
                if row["kind"] == "llm":
                    return row
            time.sleep(0.1)
        names = [(row["kind"], row["name"]) for row in self.spans()]
        raise AssertionError(f"no LLM span reached the local store in {timeout}s; stored: {names}\n{self.output}")

    def wait_for_log(self, text: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return
            time.sleep(0.1)
        raise AssertionError(f"the relay never logged {text!r}:\n{self.output}")


def with_relay_ports(text: str, relay: Relay) -> str:
    """The README's standard ports, replaced by the test relay's free ones."""
    return text.replace("127.0.0.1:4318", f"127.0.0.1:{relay.http_port}").replace(
        "127.0.0.1:4317", f"127.0.0.1:{relay.grpc_port}"
    )


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    refused_network: list[str]

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def run_snippet(
    runtime: Runtime, env_block: str, code: str, suffix: str, *, relay: Relay, openai_base_url: str, workdir: Path
) -> Run:
    """Source the env block in bash, then run the code as the README shows it (network guard on)."""
    runtime.require()
    script = workdir / f"app{suffix}"
    script.write_text(code)
    guard_log = workdir / "refused_network.log"
    guard_log.write_text("")
    env = _clean_env()
    env.update(
        OPENAI_BASE_URL=openai_base_url,
        OPENAI_API_KEY="sk-wiring-test",
        NO_PROXY="127.0.0.1,localhost",
        GLASSBOX_NETGUARD_LOG=str(guard_log),
    )
    if runtime.node:
        env["NODE_PATH"] = str(runtime.path)
        env["NODE_OPTIONS"] = f"--require {NETGUARD / 'guard.cjs'}"
    else:
        env["PYTHONPATH"] = str(NETGUARD)
    shell = f"set -euo pipefail\n{with_relay_ports(env_block, relay)}\nexec {shlex.join(runtime.command(script))}\n"
    proc = subprocess.run(
        ["bash", "-c", shell],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    refused = [line for line in guard_log.read_text().splitlines() if line]
    return Run(proc.returncode, proc.stdout, proc.stderr, refused)


def installed_versions(runtime: Runtime, packages: list[str]) -> dict[str, str | None]:
    """What the runtime really has, for comparing with the README's pins."""
    runtime.require()
    if runtime.node:
        out: dict[str, str | None] = {}
        for package in packages:
            manifest = runtime.path / package / "package.json"
            out[package] = json.loads(manifest.read_text())["version"] if manifest.exists() else None
        return out
    probe = (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n"
        "    try:\n"
        "        return m.version(n)\n"
        "    except m.PackageNotFoundError:\n"
        "        return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))\n"
    )
    result = subprocess.run(
        [str(runtime.path), "-c", probe, *packages], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(result.stdout)
