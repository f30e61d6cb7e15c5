"""The wheel as the image installs it: built with `pip wheel . --no-deps`, installed with [relay] into a fresh
venv (dependencies from the package index), started exactly as the container's ENTRYPOINT + CMD with the
image's ENV (only the addresses on 127.0.0.1 and the volumes in a temporary directory, as a mount would put
them), and sent one GenAI span with the OTel SDK's OTLP/HTTP exporter, which must be accepted and stored.
Slow (a full install of the relay's dependencies): one test, and it says how long each step took."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

import pytest
import yaml
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.deploy.tools import K8S, ROOT, dockerfile_instructions, final_stage
from tests.support.net import free_ports

VOLUMES = ("/etc/glassbox", "/var/lib/glassbox")


def image_env(stage: list[tuple[str, str]]) -> dict[str, str]:
    """The final stage's ENV (KEY=value pairs; the Dockerfile quotes none)."""
    env: dict[str, str] = {}
    for word, args in stage:
        if word == "ENV":
            env.update(pair.split("=", 1) for pair in args.split())
    return env


def mounted(value: str, mounts: dict[str, Path]) -> str:
    """A container path as it is seen with each volume mounted at its directory under the test's tmp_path."""
    for inside, outside in mounts.items():
        if value == inside or value.startswith(inside + "/"):
            return str(outside) + value[len(inside) :]
    return value


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except OSError:
        return 0


def poll(check, what: str, seconds: float, relay: subprocess.Popen, log: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        assert relay.poll() is None, f"the relay exited ({relay.returncode}) before {what}:\n{log.read_text()}"
        time.sleep(0.2)
    pytest.fail(f"no {what} within {seconds:.0f} s:\n{log.read_text()}")


def one_genai_span():
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "wheel-install-check"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini"}
    with provider.get_tracer("deploy-test").start_as_current_span("chat gpt-4o-mini", attributes=attributes):
        pass
    provider.shutdown()
    return memory.get_finished_spans()


@pytest.mark.timeout(1200)
def test_wheel_installed_with_relay_extra_runs_as_the_container_does_and_stores_a_span(tmp_path):
    timings: dict[str, float] = {}
    started = time.monotonic()
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("glassbox_otel-*.whl")
    timings["pip wheel"] = time.monotonic() - started

    started = time.monotonic()
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    install = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*install, "--find-links", str(wheels), f"{wheel}[relay]"], check=True, timeout=1000)
    timings["venv + pip install [relay]"] = time.monotonic() - started

    stage = final_stage(dockerfile_instructions())
    words = dict(stage)
    mounts = {inside: tmp_path / inside.strip("/").replace("/", "-") for inside in VOLUMES}
    for outside in mounts.values():
        outside.mkdir()
    assert set(json.loads(words["VOLUME"])) == set(VOLUMES)
    command = [mounted(arg, mounts) for arg in json.loads(words["ENTRYPOINT"]) + json.loads(words["CMD"])]
    assert command[:4] == ["glassbox", "run", "-c", str(mounts["/etc/glassbox"] / "relay.yaml")]

    # The image's relay.yaml with the local exporter instead of Datadog and free ports instead of the fixed ones.
    grpc, http, admin = free_ports(3)
    config = yaml.safe_load((K8S / "base" / "relay.yaml").read_text())
    config["receivers"]["otlp"] = {
        "grpc": {"endpoint": f"${{env:GLASSBOX_BIND}}:{grpc}"},
        "http": {"endpoint": f"${{env:GLASSBOX_BIND}}:{http}"},
    }
    config["admin"] = {"endpoint": f"${{env:GLASSBOX_BIND}}:{admin}"}
    config["exporters"] = {"local": {"path": "${env:GLASSBOX_LOCAL_DB}"}}
    config["pipeline"]["exporters"] = ["local"]
    config["storage"]["directory"] = mounted(config["storage"]["directory"], mounts)
    (mounts["/etc/glassbox"] / "relay.yaml").write_text(yaml.safe_dump(config))

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_", "GLASSBOX_", "PYTHON"))}
    environ.update({key: mounted(value, mounts) for key, value in image_env(stage).items()})
    assert environ.pop("GLASSBOX_BIND") == "0.0.0.0"
    environ["GLASSBOX_BIND"] = "127.0.0.1"  # tests listen on 127.0.0.1 only
    environ["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{environ['PATH']}"  # `glassbox` is the venv's, as in the image
    log = tmp_path / "relay.log"
    started = time.monotonic()
    with log.open("w") as out:
        relay = subprocess.Popen(
            command, env=environ, cwd=mounted(words["WORKDIR"], mounts), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        poll(lambda: get(f"http://127.0.0.1:{admin}/readyz") == 200, "ready relay", 240, relay, log)
        timings["start until /readyz 200"] = time.monotonic() - started

        exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{http}/v1/traces", timeout=10)
        assert exporter.export(one_genai_span()) == SpanExportResult.SUCCESS
        exporter.shutdown()

        database = Path(environ["GLASSBOX_LOCAL_DB"])
        assert database.parent == mounts["/var/lib/glassbox"]

        def stored() -> list[dict]:
            listed = subprocess.run(
                [str(env_dir / "bin" / "glassbox"), "spans", "--db", str(database), "--json"],
                capture_output=True,
                text=True,
                timeout=60,
                env=environ,
            )
            return [json.loads(line) for line in listed.stdout.splitlines() if "wheel-install-check" in line]

        (span,) = poll(stored, "span in the local store", 60, relay, log)
        assert "gpt-4o-mini" in json.dumps(span)
    finally:
        relay.send_signal(signal.SIGTERM)
        try:
            code = relay.wait(timeout=60)
        except subprocess.TimeoutExpired:
            relay.kill()
            raise
    assert code == 0, log.read_text()
    print("wheel install test timings:", ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items()))
