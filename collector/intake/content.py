"""Chat content in every shape instrumentations send it, turned into model messages.

Shapes: semconv 1.37+ ``parts`` messages (JSON string on spans, AnyValue on events), per-message log events
(semconv 1.28-1.36 bodies), OpenLLMetry indexed ``gen_ai.prompt.{i}.*`` attributes, and OpenLIT's old flat
``"role: text"`` strings. Pure functions: no I/O, no OTLP types.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from glassbox.processors.model import Message, Opaque, ToolCall, ToolResult
from glassbox.processors.wire import text

_ROLES = ("system", "user", "assistant", "tool", "developer", "function")
_FLAT_LINE = re.compile(r"^(system|user|assistant|tool|developer|function): ?", re.MULTILINE)


def loads_maybe(raw: Any) -> Any:
    """A JSON string decoded, or the value itself when it is already structured (AnyValue)."""
    if isinstance(raw, (bytes, str)):
        text = raw.strip() if isinstance(raw, str) else raw
        if not text or text[:1] not in ("[", "{", b"[", b"{"):
            return raw
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return raw
    return raw


def to_text(raw: Any) -> str:
    """Any content value as a string; structured values as compact JSON (bytes as UTF-8 text or base64)."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, (bytes, bytearray)):
        return text(raw)
    try:
        return orjson.dumps(raw, default=_jsonable).decode()
    except TypeError:
        return str(raw)


def _jsonable(raw: Any) -> Any:
    if isinstance(raw, (bytes, bytearray)):
        return text(raw)
    if isinstance(raw, Opaque):
        return "[a value of a kind this relay cannot read]"
    raise TypeError(type(raw).__name__)


def arguments(raw: Any) -> dict[str, Any] | None:
    """Tool-call arguments as the dict Datadog expects; non-object JSON is wrapped, never lost."""
    if raw is None or raw == "":
        return None
    parsed = loads_maybe(raw)
    if isinstance(parsed, dict):
        return parsed
    return {"value": parsed if isinstance(parsed, (str, int, float, bool, list)) else to_text(parsed)}


def parts_messages(raw: Any) -> list[Message]:
    """``gen_ai.input.messages`` / ``gen_ai.output.messages`` (semconv 1.37+) as model messages."""
    data = loads_maybe(raw)
    if not isinstance(data, list):
        return [Message(role="user", content=to_text(data))] if data not in (None, "", []) else []
    messages = []
    for item in data:
        if isinstance(item, dict):
            messages.append(_parts_message(item))
        elif item is not None:
            messages.append(Message(role="user", content=to_text(item)))
    return messages


def system_instruction_messages(raw: Any) -> list[Message]:
    """``gen_ai.system_instructions`` is a list of parts (not messages): one system message."""
    data = loads_maybe(raw)
    if isinstance(data, list):
        message = _parts_message({"role": "system", "parts": data})
        return [message] if message.content else []
    text = to_text(data)
    return [Message(role="system", content=text)] if text else []


def _parts_message(item: dict[str, Any]) -> Message:
    message = Message(role=str(item.get("role") or "user"))
    texts = []
    parts = item.get("parts")
    if not isinstance(parts, list):  # tolerate the older {role, content} shape
        parts = [{"type": "text", "content": item.get("content")}] if item.get("content") is not None else []
    for part in parts:
        if not isinstance(part, dict):
            texts.append(to_text(part))
            continue
        kind = part.get("type")
        if kind == "text" or (kind is None and "content" in part):
            if part.get("content"):
                texts.append(to_text(part["content"]))
        elif kind == "tool_call":
            message.tool_calls.append(
                ToolCall(
                    name=str(part.get("name") or ""),
                    arguments=arguments(part.get("arguments")),
                    tool_id=_str(part.get("id")),
                )
            )
        elif kind == "tool_call_response":
            result = part["response"] if "response" in part else part.get("result")
            message.tool_results.append(ToolResult(result=to_text(result), tool_id=_str(part.get("id"))))
        elif kind in ("uri", "file", "blob"):
            modality = part.get("modality") or "file"
            ref = part.get("uri") or part.get("file_id") or part.get("mime_type") or "inline data"
            texts.append(f"[{modality}: {ref}]")
        elif kind == "reasoning":
            continue  # reasoning text is not part of the visible conversation
        else:
            texts.append(to_text(part.get("content", part)))
    message.content = "\n".join(texts)
    return message


def event_message(event_name: str, body: Any, default_role: str) -> Message:
    """A per-message log event body (semconv 1.28-1.36) as a message."""
    body = loads_maybe(body)
    if not isinstance(body, dict):
        return Message(role=default_role, content=to_text(body))
    message = Message(role=str(body.get("role") or default_role), content=to_text(body.get("content")))
    message.tool_calls = _openai_tool_calls(body.get("tool_calls"))
    if message.role == "tool":
        tool_id = _str(body.get("id") or body.get("tool_call_id"))
        message.tool_results.append(ToolResult(result=message.content, tool_id=tool_id))
        message.content = ""
    return message


def choice_message(body: Any) -> Message:
    """A ``gen_ai.choice`` body; tool calls sit inside ``message`` (openai-v2) or beside it (OpenLLMetry)."""
    body = loads_maybe(body)
    if not isinstance(body, dict):
        return Message(role="assistant", content=to_text(body))
    inner = _mapping(body.get("message"))
    message = Message(role=str(inner.get("role") or "assistant"), content=to_text(inner.get("content")))
    message.tool_calls = _openai_tool_calls(inner.get("tool_calls") or body.get("tool_calls"))
    return message


def _openai_tool_calls(raw: Any) -> list[ToolCall]:
    calls = []
    for call in raw if isinstance(raw, list) else []:
        if not isinstance(call, dict):
            continue
        function = _mapping(call.get("function")) or call
        calls.append(
            ToolCall(
                name=str(function.get("name") or ""),
                arguments=arguments(function.get("arguments")),
                tool_id=_str(call.get("id")),
                type=str(call.get("type") or "function"),
            )
        )
    return calls


def indexed_messages(attrs: dict[str, Any], prefix: str, default_role: str = "user") -> list[Message]:
    """OpenLLMetry's ``gen_ai.prompt.{i}.role/content/tool_calls.{j}.*`` attributes (<= 0.53)."""
    by_index: dict[int, dict[str, Any]] = {}
    for key, val in attrs.items():
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        number, _, field = rest.partition(".")
        if not number.isdigit() or not field:
            continue
        by_index.setdefault(int(number), {})[field] = val
    messages = []
    for index in sorted(by_index):
        fields = by_index[index]
        content = fields.get("content", fields.get("user"))  # legacy completions write `.user`
        message = Message(role=str(fields.get("role") or default_role), content=to_text(content))
        calls: dict[int, dict[str, Any]] = {}
        for field, val in fields.items():
            if field.startswith("tool_calls."):
                position, _, sub = field[len("tool_calls.") :].partition(".")
                if position.isdigit():
                    calls.setdefault(int(position), {})[sub] = val
        for j in sorted(calls):
            call = calls[j]
            message.tool_calls.append(
                ToolCall(
                    name=str(call.get("name") or ""),
                    arguments=arguments(call.get("arguments")),
                    tool_id=_str(call.get("id")),
                )
            )
        if message.role == "tool" and "tool_call_id" in fields:
            message.tool_results.append(ToolResult(result=message.content, tool_id=_str(fields["tool_call_id"])))
            message.content = ""
        messages.append(message)
    return messages


def flat_messages(text: Any, default_role: str) -> list[Message]:
    """OpenLIT <= 1.34 flattens a conversation into ``"system: ...\\nuser: ..."`` lines."""
    if not isinstance(text, str):
        return parts_messages(text)
    if not text:
        return []
    matches = list(_FLAT_LINE.finditer(text))
    if not matches or matches[0].start() != 0:
        return [Message(role=default_role, content=text)]
    messages = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        messages.append(Message(role=match.group(1), content=text[match.end() : end].rstrip("\n")))
    return messages


def _str(raw: Any) -> str | None:
    return None if raw is None or raw == "" else str(raw)


def _mapping(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {}
