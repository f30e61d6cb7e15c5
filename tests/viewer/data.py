"""Data for the viewer tests, written through the real ``local`` exporter's send path (the items it stores are
the span events the datadog exporter would send): bulk traces for paging and timing, and one trace whose every
field is hostile (markup, script, quotes, bidi and astral unicode)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from glassbox.collector.exporters.local.config import LocalExporterConfig
from glassbox.collector.exporters.local.exporter import LocalExporter

HOSTILE = '<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2"> Ünïcødé 🚀 \u202eevil'
HOSTILE_TRACE = "feedfacefeedfacefeedfacefeedface"


def span_event(
    trace: str,
    span: str,
    parent: str,
    *,
    start_ns: int,
    kind: str = "llm",
    service: str = "bulk",
    name: str = "openai.chat",
    status: str = "ok",
    text: str = "hello",
    pii: tuple[str, ...] = (),
) -> dict:
    meta: dict = {"span": {"kind": kind}}
    tags = [f"service:{service}", f"ml_app:{service}", "error:" + ("1" if status == "error" else "0")]
    tags += [f"pii.type:{p}" for p in pii]
    metrics: dict = {}
    if kind == "llm":
        meta.update(
            model_name="gpt-4o-mini",
            model_provider="openai",
            input={
                "messages": [{"role": "user", "content": text}],
                "prompt": {"name": "bulk-prompt", "version": "v1", "template": "{{q}}", "variables": {"q": text}},
            },
            output={"messages": [{"role": "assistant", "content": "answer to " + text}]},
            metadata={"temperature": 0.1},
        )
        metrics = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15, "total_cost": 0.00001}
    return {
        "trace_id": trace,
        "span_id": span,
        "parent_id": parent,
        "name": name,
        "start_ns": start_ns,
        "duration": 2_000_000,
        "status": status,
        "meta": meta,
        "metrics": metrics,
        "tags": tags,
        "session_id": f"s-{trace[:6]}",
    }


def item(event: dict) -> tuple[str, bytes]:
    meta = event["meta"]
    ml_app = next(t[7:] for t in event["tags"] if t.startswith("ml_app:"))
    return "span", orjson.dumps(
        {"ml_app": ml_app, "model": meta.get("model_name"), "provider": meta.get("model_provider"), "event": event}
    )


def eval_item(trace: str, span: str, label: str, assessment: str, reasoning: str) -> tuple[str, bytes]:
    metric = {
        "join_on": {"span": {"span_id": span, "trace_id": trace}},
        "label": label,
        "metric_type": "categorical",
        "categorical_value": assessment,
        "assessment": assessment,
        "reasoning": reasoning,
        "ml_app": "x",
    }
    return "eval", orjson.dumps(metric)


def bulk_items(traces: int, spans_per_trace: int, start_ns: int, service: str = "bulk") -> list[tuple[str, bytes]]:
    """``traces`` traces of one workflow root and ``spans_per_trace - 1`` LLM calls; every 7th has an error,
    every 5th a PII finding."""
    items = []
    for t in range(traces):
        trace = f"{t + 1:032x}"
        at = start_ns + t * 10_000_000
        items.append(
            item(
                span_event(trace, f"{t}0", "undefined", start_ns=at, kind="workflow", name="bulk_flow", service=service)
            )
        )
        for s in range(1, spans_per_trace):
            items.append(
                item(
                    span_event(
                        trace,
                        f"{t}{s}",
                        f"{t}0",
                        start_ns=at + s,
                        service=service,
                        status="error" if t % 7 == 0 and s == 1 else "ok",
                        text=f"question {t}.{s}",
                        pii=("phone_number",) if t % 5 == 0 else (),
                    )
                )
            )
    return items


def hostile_items(start_ns: int) -> list[tuple[str, bytes]]:
    root = span_event(
        HOSTILE_TRACE, "9001", "undefined", start_ns=start_ns, kind="workflow", name=HOSTILE, service="hostile-app"
    )
    llm = span_event(
        HOSTILE_TRACE,
        "9002",
        "9001",
        start_ns=start_ns + 1,
        name=HOSTILE,
        service="hostile-app",
        text="Please run " + HOSTILE,
        pii=("email_address",),
    )
    llm["meta"]["model_name"] = HOSTILE
    llm["meta"]["input"]["prompt"].update(name=HOSTILE, version=HOSTILE, template=HOSTILE, variables={HOSTILE: HOSTILE})
    llm["meta"]["output"]["messages"] = [
        {"role": "assistant", "content": HOSTILE, "tool_calls": [{"name": HOSTILE, "arguments": {HOSTILE: HOSTILE}}]}
    ]
    llm["meta"]["metadata"] = {HOSTILE: HOSTILE}
    llm["tags"].append("x:" + HOSTILE)
    return [item(root), item(llm), eval_item(HOSTILE_TRACE, "9002", HOSTILE, "fail", HOSTILE)]


def write(path: Path, items: list[tuple[str, bytes]], batch: int = 2000, max_spans: int = 200_000) -> None:
    """Through ``LocalExporter.send``, in batches as the relay's sender would."""

    async def run() -> None:
        exporter = LocalExporter(LocalExporterConfig(path=str(path), max_spans=max_spans))
        await exporter.start()
        for i in range(0, len(items), batch):
            await exporter.send(items[i : i + batch])

    asyncio.run(run())
