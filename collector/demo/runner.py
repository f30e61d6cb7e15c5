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
from pathlib import Path
from typing import Any

from glassbox.collector.config import default_config
from glassbox.collector.demo.fake_openai import FakeOpenAI
from glassbox.collector.service import Relay

APP_TIMEOUT = 60


async def run_demo(instrumentation: str = "openllmetry", out=sys.stdout) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="glassbox-demo-") as tmp:
        config = default_config({"GLASSBOX_LOCAL_DB": str(Path(tmp) / "demo.db")})
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


def render_summary(rows: list[dict[str, Any]]) -> str:
    """Per span: kind, model, tokens, cost, prompt version, evaluations, redactions — as Datadog would get it."""
    lines = ["", f"What would reach Datadog LLM Observability ({len(rows)} span events):", ""]
    header = f"{'kind':<10} {'name':<28} {'model':<26} {'in':>5} {'out':>5} {'cost $':>10}  session"
    lines += [header, "-" * len(header)]
    sessions: set[str] = set()
    for row in sorted(rows, key=lambda r: r["start_ns"]):  # each conversation reads top-down
        event = row["event"]
        metrics = event.get("metrics", {})
        cost = metrics.get("total_cost")
        sessions.add(row["session_id"] or "")
        lines.append(
            f"{row['kind']:<10} {row['name'][:28]:<28} {(row['model_name'] or '-')[:26]:<26} "
            f"{_int(metrics.get('input_tokens')):>5} {_int(metrics.get('output_tokens')):>5} "
            f"{(f'{cost:.6f}' if cost is not None else '-'):>10}  {row['session_id'] or '-'}"
        )
        prompt = event.get("meta", {}).get("input", {}).get("prompt")
        if prompt:
            lines.append(f"{'':<10} prompt {prompt.get('id')} version {prompt.get('version', '-')}")
        for evaluation in row.get("evaluations", []):
            value = next((evaluation[k] for k in evaluation if k.endswith("_value")), None)
            lines.append(f"{'':<10} eval {evaluation['label']} = {value} {evaluation.get('assessment', '')}")
        redacted = [t for t in event.get("tags", []) if t.startswith("pii.type:")]
        if redacted:
            lines.append(f"{'':<10} redacted: {', '.join(t.split(':', 1)[1] for t in redacted)}")
    llm = [r for r in rows if r["kind"] == "llm"]
    tokens = sum((r["total_tokens"] or 0) for r in rows)
    lines += ["", f"{len(llm)} LLM calls, {int(tokens)} tokens, {len(sessions - {''})} sessions."]
    sample = next((r for r in llm if r["event"]["meta"].get("input", {}).get("messages")), None)
    if sample:
        user = [m for m in sample["event"]["meta"]["input"]["messages"] if m.get("role") == "user"]
        if user:
            lines.append(f'Sample user message as it would be sent: "{user[-1]["content"][:100]}"')
    lines.append("Browse them with `glassbox spans`, or the viewer at the admin port while `glassbox run` is up.")
    return "\n".join(lines)


def _int(value: Any) -> str:
    return "-" if value is None else str(int(value))
