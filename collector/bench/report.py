"""``glassbox bench``'s output: the result as a short table (``--json``: the same dict as one JSON object)."""

from __future__ import annotations

from typing import Any


def render(result: dict[str, Any]) -> str:
    r = result
    rate = "max" if r["rate"] == "max" else f"{r['rate']:g} spans/s"
    chain = ", ".join(r["processors"]) or "none"
    latency = r["latency_ms"]
    lines = [
        f"glassbox bench: {r['workload']} over {r['transport']}, processors {chain} → {r['exporter']}, "
        f"rate {rate}, {r['duration_s']:g} s, {r['clients']} clients × {r['spans_per_request']} spans per request",
        "",
        f"  spans sent / delivered      {r['spans_sent']:>10,} / {r['spans_delivered']:,} "
        f"({r['genai_spans_sent']:,} GenAI, {r['evaluations_at_intake']:,} evaluations at the intake)",
        f"  spans/s delivered           {r['spans_per_s']:>10,.0f}",
        f"  CPU s per 1,000 spans       {r['cpu_s_per_1000_spans']:>10.3f}",
        "  added latency p50/p95/p99   "
        + (
            f"{latency['p50']:>10,.0f} / {latency['p95']:,.0f} / {latency['p99']:,.0f} ms (sent → at the intake)"
            if latency
            else f"{'n/a':>10} (no GenAI span reached the intake)"
        ),
        f"  peak RSS                    {r['peak_rss_mib']:>10,.0f} MiB (relay and its workers)",
        "",
        f"  {'stage':<28}{'ms per 1k spans':>16}{'share':>8}",
    ]
    lines += [
        f"  {stage['stage']:<28}{stage['ms_per_1000_spans']:>16,.1f}{stage['share']:>8.0%}" for stage in r["stages"]
    ]
    notes = []
    if r["pool_sends"] > 1:
        notes.append(f"the workload's {r['pool_spans']:,} distinct spans were sent {r['pool_sends']:g} times (new ids)")
    if r["exporters_left_out"]:
        notes.append(f"not run: the config's exporters {', '.join(r['exporters_left_out'])}")
    if r["intake_latency_ms"]:
        notes.append(f"the intake stand-in answered after {r['intake_latency_ms']:g} ms")
    if notes:
        lines += ["", *(f"  note: {note}" for note in notes)]
    return "\n".join(lines)
