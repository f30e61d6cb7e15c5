"""``glassbox demo``: the whole flow offline — fake OpenAI server, instrumented support app, relay — and a summary.

The relay runs on the embedded default config with free ports. It writes to the local store that ``glassbox
spans`` reads (``glassbox.db`` in the working directory, like ``glassbox run``), so the spans can be browsed
afterwards; its queue and a log of what the relay and the libraries said go to ``.glassbox/demo/``. The app runs in
a subprocess (instrumentation is process-global). What the demo prints is the same every run: no times, ports or
ids, and only this run's spans.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from glassbox.collector.config import default_config
from glassbox.collector.demo.fake_openai import FakeOpenAI
from glassbox.collector.exporters.datadog.config import wanted_by_environment
from glassbox.collector.exporters.local.summary import render_summary
from glassbox.collector.service import Relay
from glassbox.collector.validators import split_endpoint

APP_TIMEOUT = 60
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
log = logging.getLogger("glassbox.demo")


async def run_demo(
    instrumentation: str = "openllmetry", out=sys.stdout, cwd: Path | None = None
) -> list[dict[str, Any]]:
    """Run it all, print the summary and how to browse the spans; return this run's stored rows."""
    cwd = Path.cwd() if cwd is None else cwd
    offline = {k: v for k, v in os.environ.items() if not k.startswith("DD_")}  # the demo never sends to Datadog
    config = default_config(offline, base_dir=cwd)
    viewer = f"http://{_host(config.admin.endpoint)}:{split_endpoint(config.admin.endpoint)[1]}/"
    data = config.storage.resolved_directory(cwd) / "demo"
    config.storage.directory = str(data)  # its own queue: a `glassbox run` in this folder keeps its own
    with resources.as_file(resources.files("glassbox.config").joinpath("prompts.example.yaml")) as registry:
        config.processors.prompts.registry = str(registry)  # names the support bot's system prompt
    config.receivers.otlp.grpc.endpoint = "127.0.0.1:0"
    config.receivers.otlp.http.endpoint = "127.0.0.1:0"
    config.admin.endpoint = "127.0.0.1:0"
    data.mkdir(parents=True, exist_ok=True)
    log_file = data / "demo.log"
    print(f"glassbox demo: the Nordhaven Furniture support assistant ({instrumentation}, real openai client)", file=out)
    print("talks to a fake OpenAI server through the relay (embedded default config): 4 conversations...", file=out)
    out.flush()
    with _logs_to(log_file):
        relay = Relay(config, base_dir=cwd)
        try:
            await relay.start()
            store = relay.local_exporter.store
            before = store.newest_id()  # the store may hold earlier runs: the summary is this run's
            async with FakeOpenAI() as fake:
                log.info("fake OpenAI at %s; the app sends to OTLP/HTTP 127.0.0.1:%s", fake.base_url, relay.http_port)
                app_log = await run_app(
                    fake.base_url, f"http://127.0.0.1:{relay.http_port}", instrumentation, injection_attempt=True
                )
                if app_log.strip():
                    log.info("the demo app's stderr:\n%s", app_log.rstrip())
                await relay.flush()
            rows = store.recent(500, after_id=before)
        finally:
            await relay.stop()
    print(render_summary(rows, timings=False), file=out)
    glassbox = _glassbox_command(cwd)
    print("", file=out)
    print(f"Relay and library logs: {_shown(log_file, cwd)}", file=out)
    print(f"Browse the stored spans ({_shown(store.path, cwd)}): {glassbox} spans", file=out)
    if not wanted_by_environment(os.environ):  # with Datadog settings, `glassbox run` has no local store to show
        print(f"Or in the viewer: {glassbox} run, then open {viewer}", file=out)
    return rows


async def run_app(
    openai_base_url: str, otlp_endpoint: str, instrumentation: str, injection_attempt: bool = False
) -> str:
    """Run the instrumented support app in a subprocess (instrumentation is process-global), clean env; return
    what it wrote to stderr (the OTel SDK's and the instrumentation's logs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACELOOP_", "DD_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "glassbox.collector.demo.app",
        "--openai-base-url",
        openai_base_url,
        "--otlp-endpoint",
        otlp_endpoint,
        "--instrumentation",
        instrumentation,
        *(["--injection-attempt"] if injection_attempt else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), APP_TIMEOUT)
    except TimeoutError:
        process.kill()
        raise RuntimeError(f"the demo app did not finish within {APP_TIMEOUT}s") from None
    if process.returncode != 0:
        raise RuntimeError(f"the demo app failed (exit {process.returncode}):\n{stderr.decode()[-2000:]}")
    return stderr.decode("utf-8", "replace")


@contextmanager
def _logs_to(path: Path) -> Iterator[None]:
    """Everything logged (the relay, Presidio, ...) and every warning shown goes to ``path`` instead of the
    terminal, where the summary is the demo's output; the handlers before are back afterwards."""
    root = logging.getLogger()
    before = root.handlers[:]
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    for old in before:
        root.removeHandler(old)
    root.addHandler(handler)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        handler.close()
        for old in before:
            root.addHandler(old)


def _glassbox_command(cwd: Path) -> str:
    """How to call this installation's ``glassbox`` from ``cwd``: the bare name when the shell finds this one,
    else its path (``.venv/bin/glassbox`` after ``make demo``)."""
    script = Path(sys.executable).parent / "glassbox"
    if not script.exists():
        return f"{_shown(sys.executable, cwd)} -m glassbox.collector.cli"
    found = shutil.which("glassbox")
    if found and Path(found).resolve() == script.resolve():
        return "glassbox"
    return _shown(script, cwd)


def _shown(path: str | Path, cwd: Path) -> str:
    """``path`` relative to ``cwd`` when it is inside it, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(cwd.absolute()))
    except ValueError:
        return str(absolute)


def _host(endpoint: str) -> str:
    host = split_endpoint(endpoint)[0]
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
