"""The local store as a table: per span the kind, model, tokens, cost, prompt version, evaluations and what was
redacted, as Datadog would get it (``glassbox spans`` and the demo print it)."""

from __future__ import annotations

from typing import Any


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
