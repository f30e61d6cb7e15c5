"""The prompt registry file: named, versioned templates with ``{{variable}}`` placeholders, loaded, validated and
compiled once at startup.

```yaml
prompts:
  - name: support-assistant
    version: "3"                          # optional: else a short hash of the template, so an edit is a new version
    template: "You are the support assistant of {{shop}}. Be brief."     # matched against the system prompt
    label: production                     # optional; tags: {team: support}; context_variables / query_variables
  - name: order-lookup
    chat_template:                        # matched message by message from the first one
      - {role: system, content: "You look up orders."}
      - {role: user, content: "Order {{order_id}}: {{question}}"}
    query_variables: [question]
```

A template compiles to one anchored regular expression per text: literals are matched exactly (surrounding white
space aside), a variable matches any text (a repeated variable must repeat its value). Matching runs on
redacted text, so a literal's e-mail address, phone or card number also matches the ``<ENTITY_TYPE>`` placeholder
that replaced it; a variable that held one simply captures the placeholder.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")
BRACES = re.compile(r"\{\{|\}\}")
# Literal text redaction may have replaced (the default ``replace`` operator writes <ENTITY_TYPE>).
REDACTABLE = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+|\+?\d[\d\s().\-]{5,}\d")
REDACTED = r"<[A-Z][A-Z0-9_]*>"
ROLES = ("system", "user", "assistant", "developer", "tool")


class RegistryError(ValueError):
    """Problems in the registry file; ``problems`` are ``(key path, message)``."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{k}: {m}" for k, m in problems))
        self.problems = problems


@dataclass(frozen=True)
class Text:
    """One template text, compiled."""

    source: str
    pattern: re.Pattern[str]
    groups: tuple[str, ...]  # regex group name → variable name, by position (g0, g1, ...)
    literal_chars: int  # how specific it is
    prefix: str  # literal text before the first variable or redactable token: the index key


@dataclass(frozen=True)
class Entry:
    name: str
    version: str
    template: Text | None
    chat_template: tuple[tuple[str, Text], ...] | None  # (role, text)
    label: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    context_variables: tuple[str, ...] = ()
    query_variables: tuple[str, ...] = ()

    @property
    def specificity(self) -> int:
        if self.template is not None:
            return self.template.literal_chars
        return sum(text.literal_chars for _, text in self.chat_template or ())

    @property
    def variables(self) -> set[str]:
        texts = [self.template] if self.template is not None else [t for _, t in self.chat_template or ()]
        return {name for text in texts if text is not None for name in text.groups}


def compile_text(source: str) -> Text:
    parts: list[str] = [r"\s*"]
    groups: list[str] = []
    seen: dict[str, str] = {}
    literal = 0
    prefix: str | None = None
    position = 0
    for match in PLACEHOLDER.finditer(source):
        text = source[position : match.start()]
        parts.append(_literal(text))
        literal += len(text.strip())
        if prefix is None:
            prefix = _prefix(text)
        name = match.group(1)
        if name in seen:
            parts.append(f"(?P={seen[name]})")
        else:
            seen[name] = f"g{len(groups)}"
            groups.append(name)
            parts.append(f"(?P<{seen[name]}>.*?)")
        position = match.end()
    tail = source[position:]
    parts.append(_literal(tail))
    literal += len(tail.strip())
    if prefix is None:
        prefix = _prefix(tail)
    parts.append(r"\s*")
    return Text(source, re.compile("".join(parts), re.DOTALL), tuple(groups), literal, prefix)


def _literal(text: str) -> str:
    """A literal, exact but for white space runs and the redactable tokens redaction may have replaced."""
    out = []
    position = 0
    for match in REDACTABLE.finditer(text):
        out.append(_spaces(text[position : match.start()]))
        out.append(f"(?:{re.escape(match.group())}|{REDACTED})")
        position = match.end()
    out.append(_spaces(text[position:]))
    return "".join(out)


def _spaces(text: str) -> str:
    return r"\s+".join(re.escape(piece) for piece in re.split(r"\s+", text)) if text else ""


def _prefix(text: str) -> str:
    """The start of a text's first literal, up to any redactable token, white space normalised."""
    match = REDACTABLE.search(text)
    return " ".join((text[: match.start()] if match else text).split())


def content_version(entry: dict[str, Any]) -> str:
    """A short hash of what the template says: an edited prompt gets a new version by itself."""
    body = entry.get("template") if entry.get("template") is not None else entry.get("chat_template")
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:10]


def load(path: Path) -> list[Entry]:
    """Read, validate and compile the registry file; raise RegistryError with every problem at once."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError([("", f"cannot read {path}: {exc.strerror or exc}")]) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise RegistryError(
            [("", f"{path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}")]
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("prompts"), list):
        raise RegistryError([("", f"{path}: expected a mapping with a `prompts:` list")])
    problems: list[tuple[str, str]] = []
    entries: list[Entry] = []
    seen: dict[tuple[str, str], int] = {}
    for i, raw in enumerate(data["prompts"]):
        where = f"prompts[{i}]"
        entry = _entry(raw, where, problems)
        if entry is None:
            continue
        key = (entry.name, entry.version)
        if key in seen:
            problems.append((where, f"{entry.name!r} version {entry.version!r} is also prompts[{seen[key]}]"))
            continue
        seen[key] = i
        entries.append(entry)
    if problems:
        raise RegistryError(problems)
    return entries


_KEYS = {"name", "version", "template", "chat_template", "label", "tags", "context_variables", "query_variables"}


def _entry(raw: Any, where: str, problems: list[tuple[str, str]]) -> Entry | None:
    if not isinstance(raw, dict):
        problems.append((where, "expected a mapping with name and template (or chat_template)"))
        return None
    before = len(problems)
    for key in sorted(set(raw) - _KEYS):
        problems.append((f"{where}.{key}", f"unknown key; known: {', '.join(sorted(_KEYS))}"))
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append((f"{where}.name", "required: a non-empty string"))
    template, chat = raw.get("template"), raw.get("chat_template")
    if (template is None) == (chat is None):
        problems.append((where, "give exactly one of template or chat_template"))
    compiled: Text | None = None
    messages: list[tuple[str, Text]] = []
    if template is not None:
        compiled = _text(template, f"{where}.template", problems)
    if chat is not None:
        if not isinstance(chat, list) or not chat:
            problems.append((f"{where}.chat_template", "expected a non-empty list of {role, content}"))
        else:
            for j, message in enumerate(chat):
                key = f"{where}.chat_template[{j}]"
                if not isinstance(message, dict) or set(message) != {"role", "content"}:
                    problems.append((key, "expected {role: ..., content: ...}"))
                    continue
                if message["role"] not in ROLES:
                    problems.append((f"{key}.role", f"{message['role']!r} is not one of {', '.join(ROLES)}"))
                text = _text(message["content"], f"{key}.content", problems)
                if text is not None:
                    messages.append((message["role"], text))
    version = raw.get("version")
    if version is not None and not isinstance(version, (str, int, float)):
        problems.append((f"{where}.version", "expected a string"))
    tags = raw.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, (str, int, float, bool)) for v in tags.values()):
        problems.append((f"{where}.tags", "expected a mapping of names to strings"))
        tags = {}
    keys = {}
    for field_name in ("context_variables", "query_variables"):
        value = raw.get(field_name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append((f"{where}.{field_name}", "expected a list of variable names"))
            value = []
        keys[field_name] = tuple(value)
    label = raw.get("label")
    if label is not None and not isinstance(label, str):
        problems.append((f"{where}.label", "expected a string"))
    if len(problems) > before:
        return None
    entry = Entry(
        name=str(name),
        version=str(version) if version is not None else content_version(raw),
        template=compiled,
        chat_template=tuple(messages) if chat is not None else None,
        label=label,
        tags={str(k): str(v) for k, v in tags.items()},
        context_variables=keys["context_variables"],
        query_variables=keys["query_variables"],
    )
    unknown = [v for v in (*entry.context_variables, *entry.query_variables) if v not in entry.variables]
    if unknown:
        problems.append((where, f"context/query variables {unknown} are not placeholders of the template"))
        return None
    return entry


def _text(raw: Any, where: str, problems: list[tuple[str, str]]) -> Text | None:
    if not isinstance(raw, str) or not raw.strip():
        problems.append((where, "expected non-empty text"))
        return None
    stray = BRACES.findall(PLACEHOLDER.sub("", raw))
    if stray:
        problems.append((where, "a {{ or }} that is not a {{variable}} placeholder (names: letters, digits, _ . -)"))
        return None
    return compile_text(raw)
