"""``glassbox demo``: the whole flow offline — fake OpenAI server, instrumented support app, relay — and a summary.

The relay runs on the embedded default config (``local`` exporter) with free ports and a temporary store, the
app runs in a subprocess (instrumentation is process-global), and the summary shows what would reach Datadog.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from glassbox.collector.config import default_config
from glassbox.collector.demo.fake_openai import FakeOpenAI
from glassbox.collector.exporters.local.summary import render_summary
from glassbox.collector.service import Relay

APP_TIMEOUT = 60


async def run_demo(instrumentation: str = "openllmetry", out=sys.stdout) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="glassbox-demo-") as tmp:
        config = default_config({"GLASSBOX_LOCAL_DB": str(Path(tmp) / "demo.db")})
        with resources.as_file(resources.files("glassbox.config").joinpath("prompts.example.yaml")) as registry:
            config.processors.prompts.registry = str(registry)  # names the support bot's system prompt
        config.receivers.otlp.grpc.endpoint = "127.0.0.1:0"
        config.receivers.otlp.http.endpoint = "127.0.0.1:0"
        config.admin.endpoint = "127.0.0.1:0"
        relay = Relay(config, base_dir=Path(tmp))
        try:
            await relay.start()
            async with FakeOpenAI() as fake:
                print(
                    f"glassbox demo: relay on OTLP/HTTP 127.0.0.1:{relay.http_port}, fake OpenAI at {fake.base_url}",
                    file=out,
                )
                print("running the Nordhaven Furniture support assistant (3 conversations)...", file=out)
                await run_app(fake.base_url, f"http://127.0.0.1:{relay.http_port}", instrumentation)
                await relay.flush()
            rows = relay.local_exporter.store.recent(500)
        finally:
            await relay.stop()
    print(render_summary(rows), file=out)
    return rows


async def run_app(openai_base_url: str, otlp_endpoint: str, instrumentation: str) -> None:
    """Run the instrumented support app in a subprocess (instrumentation is process-global), clean env."""
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
