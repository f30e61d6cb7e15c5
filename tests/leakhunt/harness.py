"""The leak-hunt harness: unique PII per case, OTLP request building, one real relay, every byte that left, and a
search of that output for each planted value and its easy variants.

One relay runs per test module (``run_relay`` from a module fixture) with the default config's processor chain and
three exporters: ``datadog`` (Agent EVP proxy URL → a ``CaptureServer``), ``otlp`` (→ another ``CaptureServer``) and
``local`` (SQLite). Cases are grouped into a few requests per transport so the suite stays fast; each case plants
values generated from its own index, so a value found in the output names its case.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import gzip
import hashlib
import html
import json
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick
import aiohttp
import grpc
from google.protobuf import json_format, text_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from glassbox.collector.service import Relay
from tests.conftest import relay_config
from tests.support.capture_server import CaptureServer

DESTINATIONS = ("datadog", "otlp", "local")
TRANSPORTS = ("pb", "json", "grpc")
KINDS = ("email", "card", "ssn", "iban", "ip", "phone")
NUMBER_KINDS = ("card", "ssn", "iban", "phone")  # searched digits-only / separators-removed too
DEFAULT_CHAIN = ["redaction", "cost", "prompts", "evals"]  # config/default.yaml pipeline.processors
AREA_CODES = ("415", "212", "617", "312", "206", "303", "404", "512", "702", "213")


# --- unique PII per case ----------------------------------------------------------------------------------------


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # doubled positions, counted from the check digit's left neighbour
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def iban_de(account: int) -> str:
    """A German IBAN with valid check digits (mod 97) for bank code 37040044 and the given account number."""
    bban = f"37040044{account:010d}"
    number = int(bban + "131400")  # "DE00" moved to the end, letters as numbers (D=13, E=14)
    return f"DE{98 - number % 97:02d}{bban}"


def pii_for(index: int) -> dict[str, str]:
    """Six valid-looking values unique to case ``index`` (0..9999): the same index gives the same values."""
    h = hashlib.sha256(f"leakhunt-{index}".encode()).hexdigest()
    card_body = f"4{532 + index % 400:03d}{index:05d}{int(h[:6], 16) % 1_000_000:06d}"[:15]
    return {
        "email": f"hunt.{h[:6]}{index}@mailbox{index % 97}.com",
        "card": card_body + luhn_digit(card_body),
        "ssn": f"536-{22 + index // 9000:02d}-{1000 + index % 9000:04d}",
        "iban": iban_de(532013000 + index),
        "ip": f"85.214.{100 + (index // 100) % 150}.{100 + index % 100}",  # fixed width: no value prefixes another
        "phone": f"+1 {AREA_CODES[index // 100 % 10]}-555-{100 + index % 100:04d}",
    }


def sentence(values: dict[str, str]) -> str:
    """The values in a sentence with the context words people write next to them."""
    parts = {
        "email": "email {}",
        "card": "card number {}",
        "ssn": "SSN {}",
        "iban": "IBAN {}",
        "ip": "IP address {}",
        "phone": "phone {}",
    }
    return "Customer " + ", ".join(parts[k].format(v) for k, v in values.items()) + "."


# --- OTLP building ----------------------------------------------------------------------------------------------


def any_value(value: Any) -> common_pb2.AnyValue:
    out = common_pb2.AnyValue()
    if isinstance(value, common_pb2.AnyValue):
        out.CopyFrom(value)
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, bytes):
        out.bytes_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, list):
        out.array_value.values.extend(any_value(v) for v in value)
    elif isinstance(value, dict):
        out.kvlist_value.values.extend(kv(k, v) for k, v in value.items())
    else:
        raise TypeError(type(value).__name__)
    return out


def kv(key: str, value: Any) -> common_pb2.KeyValue:
    return common_pb2.KeyValue(key=key, value=any_value(value))


def attrs(mapping: dict[str, Any]) -> list[common_pb2.KeyValue]:
    return [kv(k, v) for k, v in mapping.items()]


def ids(name: str, n: int = 0) -> tuple[bytes, bytes]:
    """A non-zero trace id and span id derived from a name (the n-th span of that case)."""
    digest = hashlib.sha256(f"{name}/{n}".encode()).digest()
    return b"\x01" + digest[1:16], b"\x02" + digest[17:24]


def genai_attrs(**extra: Any) -> dict[str, Any]:
    """A chat span's attributes, as openai-v2 writes them (tests/testdata/otlp/v2_latest_span_only)."""
    base: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.provider.name": "openai",
        "gen_ai.usage.input_tokens": 21,
        "gen_ai.usage.output_tokens": 9,
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hello"}]}]),
        "gen_ai.output.messages": json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": "Hi"}], "finish_reason": "stop"}]
        ),
    }
    base.update(extra)
    return base


def canary(case_id: str) -> str:
    """A non-PII token unique to a case, sent as ``gen_ai.response.id`` on each of its spans: forwarded to all three
    destinations (Datadog metadata ``response_id``), so finding it proves the case's span reached each one whole."""
    digest = hashlib.sha256(case_id.encode()).digest()[:12]
    return "chatcmpl-canary-" + "".join(chr(ord("a") + b % 26) for b in digest)  # letters: nothing PII-like


def span(name: str, case_id: str, attributes: dict[str, Any], n: int = 0, **fields: Any) -> trace_pb2.Span:
    trace_id, span_id = ids(case_id, n)
    attributes = {**attributes}
    attributes.setdefault("gen_ai.response.id", canary(case_id))
    out = trace_pb2.Span(
        trace_id=trace_id,
        span_id=span_id,
        name=name,
        kind=trace_pb2.Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=1_795_325_281_295_742_288,
        end_time_unix_nano=1_795_325_281_323_967_576,
        attributes=attrs(attributes),
        **fields,
    )
    return out


def resource_spans(
    spans: list[trace_pb2.Span],
    *,
    resource: dict[str, Any] | None = None,
    scope: tuple[str, str] = ("opentelemetry.util.genai.handler", "1.1b0"),
    scope_attrs: dict[str, Any] | None = None,
    schema_url: str = "",
    scope_schema_url: str = "",
    resource_msg: resource_pb2.Resource | None = None,
) -> trace_pb2.ResourceSpans:
    res = resource_msg or resource_pb2.Resource(attributes=attrs(resource or {"service.name": "leakhunt"}))
    return trace_pb2.ResourceSpans(
        resource=res,
        schema_url=schema_url,
        scope_spans=[
            trace_pb2.ScopeSpans(
                scope=common_pb2.InstrumentationScope(
                    name=scope[0], version=scope[1], attributes=attrs(scope_attrs or {})
                ),
                spans=spans,
                schema_url=scope_schema_url,
            )
        ],
    )


def log_record(case_id: str, body: Any, attributes: dict[str, Any], n: int = 0, **fields: Any) -> logs_pb2.LogRecord:
    trace_id, span_id = ids(case_id, n)
    record = logs_pb2.LogRecord(
        time_unix_nano=1_795_325_281_300_000_000,
        trace_id=trace_id,
        span_id=span_id,
        attributes=attrs(attributes),
        **fields,
    )
    if body is not None:
        record.body.CopyFrom(any_value(body))
    return record


def resource_logs(records: list[logs_pb2.LogRecord], *, resource: dict[str, Any] | None = None) -> Any:
    return logs_pb2.ResourceLogs(
        resource=resource_pb2.Resource(attributes=attrs(resource or {"service.name": "leakhunt"})),
        scope_logs=[
            logs_pb2.ScopeLogs(
                scope=common_pb2.InstrumentationScope(name="opentelemetry.util.genai.handler", version="1.1b0"),
                log_records=records,
            )
        ],
    )


def with_unknown_field(message: Message, field_number: int, payload: bytes) -> Message:
    """The message with a length-delimited field of an unknown number appended to its serialized bytes (the
    protobuf library keeps it as an unknown field and serializes it again)."""
    tag = bytes(_varint(field_number << 3 | 2))
    raw = message.SerializeToString() + tag + bytes(_varint(len(payload))) + payload
    return type(message).FromString(raw)


def _varint(n: int) -> Iterable[int]:
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            yield byte | 0x80
        else:
            yield byte
            return


# --- cases and requests -----------------------------------------------------------------------------------------


@dataclass
class Case:
    """One planted location. ``values``: kind → the canonical PII value searched for; ``planted``: kind → the
    form actually sent when it differs (a disguise), searched as-is too. ``own_request``: sent alone (a case that
    may get its whole request scrubbed or refused must not hide the others)."""

    id: str
    cause: str
    transport: str
    values: dict[str, str]
    spans: list[trace_pb2.ResourceSpans] = field(default_factory=list)
    logs: list[logs_pb2.ResourceLogs] = field(default_factory=list)
    planted: dict[str, str] = field(default_factory=dict)
    own_request: bool = False
    json_tweak: Callable[[str], str] | None = None  # edits the OTLP/JSON body text (JSON transport only)


@dataclass
class Sent:
    case_ids: list[str]
    signal: str
    transport: str
    status: str


def otlp_json(message: Message) -> str:
    """OTLP/JSON as the spec writes it: camelCase, hex trace and span ids, enums as integers."""
    data = json_format.MessageToDict(message, use_integers_for_enums=True)

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    node[key] = base64.b64decode(value).hex()
                else:
                    fix(value)
        elif isinstance(node, list):
            for item in node:
                fix(item)

    fix(data)
    return json.dumps(data)


def group_requests(cases: list[Case]) -> list[tuple[list[Case], str, str]]:
    """(cases, signal, transport) per request: grouped cases share one request per signal and transport, the
    others get their own."""
    out: list[tuple[list[Case], str, str]] = []
    for transport in TRANSPORTS:
        mine = [c for c in cases if c.transport == transport]
        grouped = [c for c in mine if not c.own_request]
        for signal in ("traces", "logs"):
            members = [c for c in grouped if (c.spans if signal == "traces" else c.logs)]
            if members:
                out.append((members, signal, transport))
    for case in cases:
        if case.own_request:
            out.extend(
                ([case], signal, case.transport) for signal in ("traces", "logs") if getattr(case, _FIELD[signal])
            )
    return out


_FIELD = {"traces": "spans", "logs": "logs"}


async def send(relay: Relay, members: list[Case], signal: str, transport: str) -> str:
    """Send one request; returns its outcome ("200", "400: ...", "grpc INVALID_ARGUMENT")."""
    if signal == "traces":
        message: Message = ExportTraceServiceRequest(resource_spans=[r for c in members for r in c.spans])
    else:
        message = ExportLogsServiceRequest(resource_logs=[r for c in members for r in c.logs])
    if transport == "grpc":
        options = [("grpc.enable_http_proxy", 0), ("grpc.max_send_message_length", 64 << 20)]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{relay.grpc_port}", options=options) as channel:
            try:
                if signal == "traces":
                    await trace_service_pb2_grpc.TraceServiceStub(channel).Export(message, timeout=60)
                else:
                    await logs_service_pb2_grpc.LogsServiceStub(channel).Export(message, timeout=60)
            except grpc.aio.AioRpcError as exc:
                return f"grpc {exc.code().name}: {exc.details()}"
        return "200"
    if transport == "json":
        text = otlp_json(message)
        for case in members:
            if case.json_tweak is not None:
                text = case.json_tweak(text)
        body, content_type = text.encode("utf-8", "surrogatepass"), "application/json"
    else:
        body, content_type = message.SerializeToString(), "application/x-protobuf"
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{relay.http_port}/v1/{signal}"
        async with session.post(url, data=body, headers={"Content-Type": content_type}) as resp:
            return "200" if resp.status == 200 else f"{resp.status}: {(await resp.read())[:200]!r}"


# --- what left the relay ----------------------------------------------------------------------------------------


@dataclass
class Output:
    """Everything that left, by destination: decoded text pieces and the raw bytes as sent."""

    texts: dict[str, list[str]] = field(default_factory=lambda: {d: [] for d in DESTINATIONS})
    raw: dict[str, list[bytes]] = field(default_factory=lambda: {d: [] for d in DESTINATIONS})
    sent: list[Sent] = field(default_factory=list)
    scrubbed_batches_grouped: int = 0
    scrubbed_batches_total: int = 0  # with the cases sent alone (root cause 4 wants a batch scrubbed whole)


def _body(req: Any) -> bytes:
    if req.body is not None and req.body is not req.raw_body:
        return bytes(req.body)
    raw = bytes(req.raw_body)
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError):
        return raw


def gather(output: Output, datadog: CaptureServer, otlp: CaptureServer, relay: Relay) -> None:
    for req in datadog.requests:
        body = _body(req)
        output.raw["datadog"].append(bytes(req.raw_body))
        output.texts["datadog"].append(body.decode("utf-8", "replace"))
    for req in otlp.requests:
        body = _body(req)
        output.raw["otlp"].append(bytes(req.raw_body))
        output.raw["otlp"].append(body)
        if "json" in req.headers.get("Content-Type", ""):
            output.texts["otlp"].append(body.decode("utf-8", "replace"))
            continue
        request_type = {"/v1/traces": ExportTraceServiceRequest, "/v1/logs": ExportLogsServiceRequest}.get(req.path)
        if request_type is None:
            output.texts["otlp"].append(body.decode("utf-8", "replace"))
            continue
        message = request_type.FromString(body)
        output.texts["otlp"].append(text_format.MessageToString(message, as_utf8=True, print_unknown_fields=True))
    for row in relay.local_exporter.store.recent(1_000_000):
        output.texts["local"].append(json.dumps(row, ensure_ascii=False, default=str))


async def run_relay(cases: list[Case], tmp: Path, processors: list[str] | None = None) -> Output:
    """Start one relay (default chain unless ``processors`` is given), send every case, flush, stop, and return
    every byte that left. Grouped requests go first and are flushed, so a later scrubbed batch cannot hide them."""
    chain = DEFAULT_CHAIN if processors is None else processors
    output = Output()
    with CaptureServer() as datadog, CaptureServer() as otlp:
        exporters = {
            "datadog": {"transport": "agent", "agent_url": datadog.url, "flush_interval": 0.05},
            "otlp": {"endpoint": otlp.url, "flush_interval": 0.05},
            "local": {"path": str(tmp / "spans.db")},
        }
        config = relay_config(
            exporters, tmp=tmp, pipeline={"processors": chain}, processors={name: {} for name in chain}
        )
        relay = Relay(config, base_dir=tmp)
        await relay.start()
        try:
            requests = group_requests(cases)
            grouped = [r for r in requests if not r[0][0].own_request]
            for members, signal, transport in grouped:
                status = await send(relay, members, signal, transport)
                output.sent.append(Sent([c.id for c in members], signal, transport, status))
            assert await relay.flush(timeout=60)
            output.scrubbed_batches_grouped = scrubbed_batches(relay)
            for members, signal, transport in requests:
                if members[0].own_request:
                    status = await send(relay, members, signal, transport)
                    output.sent.append(Sent([c.id for c in members], signal, transport, status))
            assert await relay.flush(timeout=60)
            output.scrubbed_batches_total = scrubbed_batches(relay)
            gather(output, datadog, otlp, relay)
        finally:
            await relay.stop()
    return output


def scrubbed_batches(relay: Relay) -> int:
    return sum(int(getattr(p, "scrubbed_batches", 0)) for _, p in relay.processors)


def run(cases: list[Case], tmp: Path, processors: list[str] | None = None) -> Output:
    """``run_relay`` from a synchronous module fixture (one event loop for the relay's whole life)."""
    return asyncio.run(run_relay(cases, tmp, processors))


# --- the search -------------------------------------------------------------------------------------------------

_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|[\"\\/bfnrt'])")
_OCTAL_RUN = re.compile(r"(?:\\[0-3][0-7]{2})+")
_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "'": "'"}
_B64_TOKEN = re.compile(r"[A-Za-z0-9+/]{12,}={0,2}")
SEPARATORS = re.compile(r"[\s\-.()/+_\u00a0\u202f\u2009\u2010-\u2015\u2212]")


def _unescape_once(text: str) -> str:
    def octal(m: re.Match[str]) -> str:
        raw = bytes(int(o, 8) for o in m.group(0).split("\\")[1:])
        return raw.decode("utf-8", "replace")

    text = _OCTAL_RUN.sub(octal, text)  # text_format's escapes of non-ASCII bytes
    return _ESCAPE.sub(lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "u" else _SIMPLE[m.group(1)], text)


def normalized(text: str) -> str:
    """The text with the easy disguises undone: JSON/protobuf escapes (up to eight levels), HTML entities, URL encoding,
    NFKC (full-width forms, NBSP), format characters removed (zero-width, soft hyphen), every dash a hyphen,
    every space a space, every decimal digit ASCII; base64 tokens decoded and appended."""
    for _ in range(8):
        unescaped = _unescape_once(text)
        if unescaped == text:
            break
        text = unescaped
    text = urllib.parse.unquote(html.unescape(text))
    text = unicodedata.normalize("NFKC", text)
    chars = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cf" or cat == "Cs":
            continue
        if cat == "Pd":
            chars.append("-")
        elif cat == "Zs":
            chars.append(" ")
        elif cat == "Nd":
            chars.append(str(unicodedata.decimal(ch)))
        else:
            chars.append(ch)
    text = "".join(chars)
    decoded = []
    for token in _B64_TOKEN.findall(text):
        try:
            decoded.append(base64.b64decode(token + "=" * (-len(token) % 4)).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    return text + "\n" + "\n".join(decoded)


def compact(value: str) -> str:
    return SEPARATORS.sub("", value)


def json_escaped(value: str) -> str:
    return "".join(ch if ch.isalnum() else f"\\u{ord(ch):04x}" for ch in value)


@dataclass(frozen=True)
class Leak:
    case: str
    kind: str
    destination: str
    variant: str

    def __str__(self) -> str:
        return f"{self.case}: {self.kind} found in {self.destination} ({self.variant})"


def needles(case: Case) -> dict[str, list[tuple[str, str]]]:
    """view → [(needle, "kind/variant")] for one case."""
    out: dict[str, list[tuple[str, str]]] = {"raw": [], "lower": [], "compact": [], "normalized": []}
    for kind, value in case.values.items():
        out["raw"].append((value, f"{kind}/as-is"))
        out["lower"].append((value.lower(), f"{kind}/lowercase"))
        if kind in NUMBER_KINDS:
            out["compact"].append((compact(value).lower(), f"{kind}/digits-only"))
        if json_escaped(value) != value:
            out["raw"].append((json_escaped(value), f"{kind}/json-escaped"))
        quoted = urllib.parse.quote(value, safe="")
        if quoted != value:
            out["raw"].append((quoted, f"{kind}/url-encoded"))
            out["raw"].append((urllib.parse.quote_plus(value), f"{kind}/url-encoded"))
        out["raw"].append((base64.b64encode(value.encode()).decode().rstrip("="), f"{kind}/base64"))
        out["normalized"].append((value, f"{kind}/normalized"))
        planted = case.planted.get(kind)
        if planted and planted != value:
            out["raw"].append((planted, f"{kind}/planted-form"))
    return out


def views(pieces: list[str], raw: list[bytes]) -> dict[str, str]:
    text = "\n\x00\n".join(pieces + [b.decode("latin-1") for b in raw])
    norm = normalized("\n\x00\n".join(pieces))
    return {"raw": text, "lower": text.lower(), "normalized": norm, "compact": compact(norm).lower()}


def find_leaks(cases: list[Case], output: Output) -> dict[str, list[Leak]]:
    """case id → leaks, by one Aho-Corasick pass per destination and view."""
    leaks: dict[str, set[Leak]] = {c.id: set() for c in cases}
    for destination in DESTINATIONS:
        texts = views(output.texts[destination], output.raw[destination])
        for view, text in texts.items():
            automaton = ahocorasick.Automaton()
            entries: dict[str, list[tuple[str, str]]] = {}
            for case in cases:
                for needle, label in needles(case)[view]:
                    if len(needle) >= 6:
                        entries.setdefault(needle, []).append((case.id, label))
            if not entries:
                continue
            for needle, where in entries.items():
                automaton.add_word(needle, where)
            automaton.make_automaton()
            for _, where in automaton.iter(text):
                for case_id, label in where:
                    kind, variant = label.split("/")
                    leaks[case_id].add(Leak(case_id, kind, destination, variant))
    return {k: sorted(v, key=str) for k, v in leaks.items()}


def reached(cases: list[Case], output: Output) -> dict[str, set[str]]:
    """case id → the destinations where its canary was found."""
    found: dict[str, set[str]] = {c.id: set() for c in cases}
    tokens = {canary(c.id): c.id for c in cases}
    for destination in DESTINATIONS:
        automaton = ahocorasick.Automaton()
        for token, case_id in tokens.items():
            automaton.add_word(token, case_id)
        automaton.make_automaton()
        for _, case_id in automaton.iter("\n".join(output.texts[destination])):
            found[case_id].add(destination)
    return found
