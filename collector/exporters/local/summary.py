"""The local store as a table: per span the kind, model, tokens, cost, prompt version, evaluations and what was
redacted, as Datadog would get it (``glassbox spans`` and the demo print it)."""

from __future__ import annotations

from typing import Any


def render_summary(rows: list[dict[str, Any]]) -> str:
    """Per span: kind, model, tokens, cost, prompt name/version, evaluations, redactions — as Datadog would get
    it — grouped by conversation (session) with its total cost."""
    lines = ["", f"What would reach Datadog LLM Observability ({len(rows)} span events):", ""]
    header = f"{'kind':<10} {'name':<28} {'model':<26} {'in':>5} {'out':>5} {'cost $':>10}  session"
    lines += [header, "-" * len(header)]
    ordered = sorted(rows, key=lambda r: r["start_ns"])  # each conversation reads top-down
    sessions: dict[str, list[dict[str, Any]]] = {}
    for row in ordered:
        sessions.setdefault(row["session_id"] or "", []).append(row)
    for session, members in sessions.items():
        for row in members:
            lines += _span_lines(row)
        costs = [r["event"].get("metrics", {}).get("total_cost") for r in members if r["kind"] in ("llm", "embedding")]
        priced = [c for c in costs if c is not None]
        if session and priced:
            lines.append(
                f"{'':<10} conversation {session}: {len(members)} span(s), ${sum(priced):.6f}"
                + (f" ({len(costs) - len(priced)} without a price)" if len(priced) < len(costs) else "")
            )
    llm = [r for r in rows if r["kind"] == "llm"]
    tokens = sum((r["total_tokens"] or 0) for r in rows)
    total = sum(r["event"].get("metrics", {}).get("total_cost") or 0 for r in rows)
    lines += [
        "",
        f"{len(llm)} LLM calls, {int(tokens)} tokens, ${total:.6f} estimated, {len(set(sessions) - {''})} sessions.",
    ]
    sample = next((r for r in llm if r["event"]["meta"].get("input", {}).get("messages")), None)
    if sample:
        user = [m for m in sample["event"]["meta"]["input"]["messages"] if m.get("role") == "user"]
        if user:
            lines.append(f'Sample user message as it would be sent: "{user[-1]["content"][:100]}"')
    lines.append("Browse them with `glassbox spans`, or the viewer at the admin port while `glassbox run` is up.")
    return "\n".join(lines)


def _span_lines(row: dict[str, Any]) -> list[str]:
    event = row["event"]
    metrics = event.get("metrics", {})
    cost = metrics.get("total_cost")
    lines = [
        f"{row['kind']:<10} {row['name'][:28]:<28} {(row['model_name'] or '-')[:26]:<26} "
        f"{_int(metrics.get('input_tokens')):>5} {_int(metrics.get('output_tokens')):>5} "
        f"{(f'{cost:.6f}' if cost is not None else '-'):>10}  {row['session_id'] or '-'}"
    ]
    prompt = event.get("meta", {}).get("input", {}).get("prompt")
    if prompt:
        lines.append(f"{'':<10} prompt {prompt.get('name') or prompt.get('id')} version {prompt.get('version', '-')}")
    passed = []
    for evaluation in row.get("evaluations", []):  # scores and failures one per line, the other passes counted
        value = next((evaluation[k] for k in evaluation if k.endswith("_value")), None)
        if evaluation.get("assessment") == "pass" and evaluation.get("metric_type") != "score":
            passed.append(evaluation["label"])
            continue
        lines.append(f"{'':<10} eval {evaluation['label']} = {value} {evaluation.get('assessment', '')}".rstrip())
    if passed:
        lines.append(f"{'':<10} passed {', '.join(passed)}")
    tags = event.get("tags", [])
    redacted = [t.split(":", 1)[1] for t in tags if t.startswith("pii.type:")]
    if redacted:
        lines.append(f"{'':<10} redacted: {', '.join(redacted)}")
    unpriced = [t.split(":", 1)[1] for t in tags if t.startswith("cost.unpriced_model:")]
    if unpriced:
        lines.append(f"{'':<10} no price known for {unpriced[0]}")
    return lines


def _int(value: Any) -> str:
    return "-" if value is None else str(int(value))
