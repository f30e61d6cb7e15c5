"""The crafted requests, one builder per root cause of issue 9; ids read ``<class>-<variant>-<location>-<transport>``.

Every case plants values made from its own index (``harness.pii_for``), so whatever is found names its case. The
OpenTelemetry shapes are the ones the relay reads (``processors/semconv.py``, tests/testdata/otlp/ captures).
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable
from typing import Any

import phonenumbers
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from tests.leakhunt.harness import (
    TRANSPORTS,
    Case,
    attrs,
    genai_attrs,
    log_record,
    pii_for,
    resource_logs,
    resource_spans,
    sentence,
    span,
    with_unknown_field,
)

Builder = Callable[[Case], None]


class Factory:
    """Hands out case indexes (so values are unique across the module) and builds the ``Case`` objects."""

    def __init__(self, offset: int = 0) -> None:
        self.next = offset
        self.cases: list[Case] = []

    def add(
        self,
        cause: str,
        name: str,
        build: Callable[[Case, dict[str, str]], None],
        *,
        transports: tuple[str, ...] = TRANSPORTS,
        kinds: tuple[str, ...] | None = None,
        own_request: bool = False,
    ) -> None:
        for transport in transports:
            values = pii_for(self.next)
            self.next += 1
            if kinds is not None:
                values = {k: v for k, v in values.items() if k in kinds}
            case = Case(id=f"{name}-{transport}", cause=cause, transport=transport, values=values)
            case.own_request = own_request
            build(case, values)
            self.cases.append(case)


def messages(role: str, content: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": content}]}])


def chat(case: Case, n: int = 0, *, name: str = "chat gpt-4o-mini", **extra: Any) -> trace_pb2.Span:
    return span(name, case.id, genai_attrs(**extra), n)


def tool_call_output(name: str, call_id: str, arguments: Any) -> str:
    part = {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}
    return json.dumps([{"role": "assistant", "parts": [part], "finish_reason": "tool_calls"}])


def add_span(case: Case, s: trace_pb2.Span, **kwargs: Any) -> None:
    case.spans.append(resource_spans([s], **kwargs))


def add_log(case: Case, body: Any, attributes: dict[str, Any] | None = None, **fields: Any) -> None:
    """A log event plus the chat span it belongs to (same trace and span id), as openai-v2 sends events."""
    event_attrs = {"gen_ai.provider.name": "openai", "event.name": "gen_ai.user.message", **(attributes or {})}
    fields.setdefault("event_name", "gen_ai.user.message")
    case.logs.append(resource_logs([log_record(case.id, body, event_attrs, **fields)]))
    add_span(case, span("chat gpt-4o-mini", case.id, genai_attrs(**{"gen_ai.input.messages": "[]"})))


# --- baselines and controls -------------------------------------------------------------------------------------


def baselines(f: Factory) -> None:
    """Plain values in plain content: must be redacted (proves the generated values are detected at all)."""
    f.add(
        "0",
        "baseline-plain-input-messages",
        lambda c, v: add_span(c, chat(c, **{"gen_ai.input.messages": messages("user", sentence(v))})),
    )
    f.add(
        "0",
        "baseline-plain-toolcall-args",
        lambda c, v: add_span(
            c, chat(c, **{"gen_ai.output.messages": tool_call_output("lookup", "call_1", json.dumps(v))})
        ),
    )
    f.add("0", "baseline-plain-log-body", lambda c, v: add_log(c, {"content": sentence(v)}))


# --- 1. JSON inside JSON strings --------------------------------------------------------------------------------


def nest(values: dict[str, str], depth: int, escaped: bool) -> str:
    """The values as a JSON object serialized ``depth`` times, each level a string inside the next; escaped: the
    innermost text uses \\u escapes (ensure_ascii, ``\\/``, ``\\u0040``) as some serializers write it."""
    inner: dict[str, Any] = {"customer": {"name": "Zoë", "note": sentence(values)}, **values}
    text = json.dumps(inner, ensure_ascii=escaped)
    if escaped:
        text = text.replace("/", "\\/").replace("@", "\\u0040")
    for level in range(1, depth):
        text = json.dumps({"level": level, "payload": text})
    return text


def nested_json(f: Factory) -> None:
    for depth in (1, 2, 3):
        for escaped in (False, True):
            tag = f"depth{depth}" + ("-escaped" if escaped else "")

            def toolcall(c: Case, v: dict[str, str], d: int = depth, e: bool = escaped) -> None:
                add_span(c, chat(c, **{"gen_ai.output.messages": tool_call_output("lookup", "call_1", nest(v, d, e))}))

            def toolresult(c: Case, v: dict[str, str], d: int = depth, e: bool = escaped) -> None:
                response = json.dumps({"status": 200, "body": nest(v, d, e)})
                part = {"type": "tool_call_response", "id": "call_1", "response": response}
                add_span(c, chat(c, **{"gen_ai.input.messages": json.dumps([{"role": "tool", "parts": [part]}])}))

            def entity(c: Case, v: dict[str, str], d: int = depth, e: bool = escaped) -> None:
                value = json.dumps({"args": [nest(v, d, e)], "kwargs": {}})
                add_span(
                    c,
                    span(
                        "lookup.tool",
                        c.id,
                        {
                            "traceloop.span.kind": "tool",
                            "traceloop.entity.name": "lookup",
                            "traceloop.entity.input": value,
                            "traceloop.entity.output": json.dumps({"ok": True}),
                        },
                    ),
                )

            f.add("1", f"nested_json-{tag}-toolcall", toolcall)
            f.add("1", f"nested_json-{tag}-toolresult", toolresult)
            f.add("1", f"nested_json-{tag}-entityinput", entity)


# --- 3. bytes values --------------------------------------------------------------------------------------------


def bytes_values(f: Factory) -> None:
    def text(v: dict[str, str]) -> bytes:
        return sentence(v).encode()

    f.add("3", "bytes-utf8-span-attr", lambda c, v: add_span(c, chat(c, **{"app.payload": text(v)})))
    f.add(
        "3",
        "bytes-utf8-content-attr",
        lambda c, v: add_span(c, chat(c, **{"gen_ai.input.messages": messages("user", sentence(v)).encode()})),
    )

    def event(c: Case, v: dict[str, str]) -> None:
        s = chat(c)
        s.events.append(
            trace_pb2.Span.Event(
                time_unix_nano=1_795_325_281_300_000_000, name="app.note", attributes=attrs({"app.payload": text(v)})
            )
        )
        add_span(c, s)

    f.add("3", "bytes-utf8-event-attr", event)
    f.add("3", "bytes-utf8-log-body", lambda c, v: add_log(c, text(v)))
    f.add("3", "bytes-utf8-kvlist-value", lambda c, v: add_span(c, chat(c, **{"app.data": {"note": text(v)}})))
    f.add("3", "bytes-utf8-array-value", lambda c, v: add_span(c, chat(c, **{"app.list": ["ok", text(v)]})))
    f.add("3", "bytes-utf8-log-kvlist", lambda c, v: add_log(c, {"content": text(v)}))


# --- 4. a batch that must be scrubbed ---------------------------------------------------------------------------

SURROGATE_JSON = '{"q": "\\ud83d broken emoji"}'  # an escaped lone surrogate inside a JSON attribute


def scrubbed_batch(f: Factory) -> None:
    def resource(c: Case, v: dict[str, str]) -> None:
        add_span(
            c,
            chat(c, **{"gen_ai.input.messages": SURROGATE_JSON}),
            resource={"service.name": "leakhunt", "host.name": "h1", "app.owner": sentence(v)},
        )

    def scope(c: Case, v: dict[str, str]) -> None:
        add_span(c, chat(c, **{"gen_ai.input.messages": SURROGATE_JSON}), scope_attrs={"app.owner": sentence(v)})

    def other_span(c: Case, v: dict[str, str]) -> None:
        add_span(c, chat(c, **{"gen_ai.input.messages": SURROGATE_JSON}))
        add_span(c, chat(c, 1, **{"gen_ai.input.messages": messages("user", sentence(v))}))

    def other_log(c: Case, v: dict[str, str]) -> None:
        add_span(c, chat(c, **{"gen_ai.input.messages": SURROGATE_JSON}))
        add_log(c, {"content": sentence(v)}, {"app.raw": SURROGATE_JSON})

    for name, build in (("resource", resource), ("scope", scope), ("otherspan", other_span), ("log", other_log)):
        f.add("4", f"scrub-surrogate-{name}", build, own_request=True)

    def raw_surrogate(c: Case, v: dict[str, str]) -> None:
        """OTLP/JSON whose attribute string itself holds the lone surrogate escape (JSON transport only)."""
        add_span(
            c, chat(c, **{"app.raw": "SURROGATE-HERE"}), resource={"service.name": "leakhunt", "app.owner": sentence(v)}
        )
        c.json_tweak = lambda text: text.replace("SURROGATE-HERE", "\\ud83d")

    f.add("4", "scrub-rawsurrogate-resource", raw_surrogate, transports=("json",), own_request=True)


# --- 5. fields --------------------------------------------------------------------------------------------------


def fields(f: Factory) -> None:
    def with_event(name: str, **event_attrs: Any) -> Callable[[Case, dict[str, str]], None]:
        def build(c: Case, v: dict[str, str]) -> None:
            s = chat(c)
            ev_attrs = {k: (sentence(v) if val is None else val) for k, val in event_attrs.items()}
            s.events.append(
                trace_pb2.Span.Event(
                    time_unix_nano=1_795_325_281_300_000_000,
                    name=sentence(v) if name == "" else name,
                    attributes=attrs(ev_attrs),
                )
            )
            add_span(c, s)

        return build

    def toolcall(which: str) -> Callable[[Case, dict[str, str]], None]:
        def build(c: Case, v: dict[str, str]) -> None:
            name = sentence(v) if which == "name" else "lookup"
            call_id = sentence(v) if which == "id" else "call_1"
            add_span(c, chat(c, **{"gen_ai.output.messages": tool_call_output(name, call_id, {"q": "weather"})}))

        return build

    def link_state(c: Case, v: dict[str, str]) -> None:
        s = chat(c)
        trace_id, span_id = s.trace_id, s.span_id
        s.links.append(
            trace_pb2.Span.Link(trace_id=trace_id[::-1], span_id=span_id[::-1], trace_state=f"vendor={sentence(v)}")
        )
        add_span(c, s)

    def entity_refs(c: Case, v: dict[str, str]) -> None:
        res = resource_pb2.Resource(attributes=attrs({"service.name": "leakhunt", "host.id": "h1"}))
        res.entity_refs.append(
            common_pb2.EntityRef(
                schema_url=f"https://example.com/{v['email']}",
                type=sentence(v),
                id_keys=["host.id", sentence(v)],
                description_keys=[sentence(v)],
            )
        )
        add_span(c, chat(c), resource_msg=res)

    def unknown_span(c: Case, v: dict[str, str]) -> None:
        s = chat(c, name=f"unknown-field-{c.id}")
        add_span(c, with_unknown_field(s, 999, sentence(v).encode()))  # type: ignore[arg-type]
        marker = f'"name": "unknown-field-{c.id}"'
        c.json_tweak = lambda text: text.replace(marker, f'{marker}, "leakhuntExtra": {json.dumps(sentence(v))}')

    def unknown_resource(c: Case, v: dict[str, str]) -> None:
        res = resource_pb2.Resource(attributes=attrs({"service.name": "leakhunt"}))
        res = with_unknown_field(res, 999, sentence(v).encode())  # type: ignore[assignment]
        add_span(c, chat(c, name=f"unknown-resource-{c.id}"), resource_msg=res)

    def json_dup(c: Case, v: dict[str, str]) -> None:
        args = '{"note": "nothing here", "note": ' + json.dumps(sentence(v)) + "}"
        add_span(c, chat(c, **{"gen_ai.output.messages": tool_call_output("lookup", "call_1", args)}))

    def json_float(c: Case, v: dict[str, str]) -> None:
        numbers = {k: float(digits(val)) for k, val in v.items()}
        add_span(c, chat(c, **{"gen_ai.output.messages": tool_call_output("lookup", "call_1", numbers)}))

    def double_attr(c: Case, v: dict[str, str]) -> None:
        add_span(c, chat(c, **{f"app.{k}": float(digits(val)) for k, val in v.items()}))

    def sev(field_name: str) -> Callable[[Case, dict[str, str]], None]:
        return lambda c, v: add_log(c, {"content": "hello"}, **{field_name: sentence(v)})

    numeric = ("card", "ssn", "phone")
    table: list[tuple[str, Callable[[Case, dict[str, str]], None], tuple[str, ...] | None]] = [
        ("span-name", lambda c, v: add_span(c, chat(c, name=sentence(v))), None),
        (
            "tool-name",
            lambda c, v: add_span(
                c,
                span(
                    "execute_tool",
                    c.id,
                    {
                        "gen_ai.operation.name": "execute_tool",
                        "gen_ai.tool.name": sentence(v),
                        "gen_ai.tool.call.arguments": json.dumps({"q": "weather"}),
                    },
                ),
            ),
            None,
        ),
        (
            "message-role",
            lambda c, v: add_span(
                c,
                chat(
                    c,
                    **{
                        "gen_ai.input.messages": json.dumps(
                            [{"role": sentence(v), "parts": [{"type": "text", "content": "hello"}]}]
                        )
                    },
                ),
            ),
            None,
        ),
        ("toolcall-name", toolcall("name"), None),
        ("toolcall-id", toolcall("id"), None),
        ("prompt-name", lambda c, v: add_span(c, chat(c, **{"gen_ai.prompt.name": sentence(v)})), None),
        (
            "prompt-version",
            lambda c, v: add_span(
                c, chat(c, **{"gen_ai.prompt.name": "support", "gen_ai.prompt.version": sentence(v)})
            ),
            None,
        ),
        ("prompt-name-traceloop", lambda c, v: add_span(c, chat(c, **{"traceloop.prompt.key": sentence(v)})), None),
        (
            "eval-label",
            with_event(
                "gen_ai.evaluation.result",
                **{"gen_ai.evaluation.name": "quality", "gen_ai.evaluation.score.label": None},
            ),
            None,
        ),
        (
            "eval-name",
            with_event(
                "gen_ai.evaluation.result", **{"gen_ai.evaluation.name": None, "gen_ai.evaluation.score.value": 0.5}
            ),
            None,
        ),
        (
            "tag-key",
            lambda c, v: add_span(c, chat(c, **{"traceloop.association.properties." + sentence(v): "x"})),
            None,
        ),
        (
            "tag-value",
            lambda c, v: add_span(c, chat(c, **{"traceloop.association.properties.customer": sentence(v)})),
            None,
        ),
        ("event-name", with_event("", **{"app.x": "y"}), None),
        ("tracestate-span", lambda c, v: add_span(c, chat(c, trace_state=f"vendor={sentence(v)}")), None),
        ("tracestate-link", link_state, None),
        ("scope-name", lambda c, v: add_span(c, chat(c), scope=(sentence(v), "1.0")), None),
        ("scope-version", lambda c, v: add_span(c, chat(c), scope=("leakhunt", sentence(v))), None),
        ("schemaurl-resource", lambda c, v: add_span(c, chat(c), schema_url=f"https://x.test/{sentence(v)}"), None),
        ("schemaurl-scope", lambda c, v: add_span(c, chat(c), scope_schema_url=f"https://x.test/{sentence(v)}"), None),
        ("log-severitytext", sev("severity_text"), None),
        ("log-eventname", sev("event_name"), None),
        ("attr-key", lambda c, v: add_span(c, chat(c, **{sentence(v): "x"})), None),
        ("kvlist-key", lambda c, v: add_span(c, chat(c, **{"app.data": {sentence(v): "x"}})), None),
        ("double-attr", double_attr, numeric),
        (
            "json-key",
            lambda c, v: add_span(
                c, chat(c, **{"gen_ai.output.messages": tool_call_output("lookup", "call_1", {sentence(v): "x"})})
            ),
            None,
        ),
        ("json-float", json_float, numeric),
        ("json-dupkey", json_dup, None),
        ("entityrefs-resource", entity_refs, None),
        ("unknownfield-span", unknown_span, None),
        ("unknownfield-resource", unknown_resource, None),
    ]
    for location, build, kinds in table:
        f.add("5", f"field-{location}", build, kinds=kinds)


def digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


# --- 6. default exclusions --------------------------------------------------------------------------------------


def exclusions(f: Factory) -> None:
    def resource_key(key: str) -> Callable[[Case, dict[str, str]], None]:
        return lambda c, v: add_span(
            c,
            chat(c),
            resource={"service.name": "leakhunt", key: sentence(v)} if key != "service.name" else {key: sentence(v)},
        )

    def span_key(key: str) -> Callable[[Case, dict[str, str]], None]:
        return lambda c, v: add_span(c, chat(c, **{key: sentence(v)}))

    def exception_type(c: Case, v: dict[str, str]) -> None:
        s = chat(c)
        s.status.code = trace_pb2.Status.STATUS_CODE_ERROR
        s.events.append(
            trace_pb2.Span.Event(
                time_unix_nano=1_795_325_281_300_000_000,
                name="exception",
                attributes=attrs({"exception.type": sentence(v), "exception.message": "failed"}),
            )
        )
        add_span(c, s)

    def error_type(c: Case, v: dict[str, str]) -> None:
        s = chat(c, **{"error.type": sentence(v)})
        s.status.code = trace_pb2.Status.STATUS_CODE_ERROR
        add_span(c, s)

    table = [
        ("service.name", resource_key("service.name")),
        ("deployment.environment", resource_key("deployment.environment")),
        ("gen_ai.request.model", span_key("gen_ai.request.model")),
        ("gen_ai.provider.name", span_key("gen_ai.provider.name")),
        ("exception.type", exception_type),
        ("error.type", error_type),
        ("otel.status_description", span_key("otel.status_description")),
    ]
    for key, build in table:
        f.add("6", f"exclusion-{key.replace('.', '_')}", build)


# --- 7./8. disguised values -------------------------------------------------------------------------------------

FULLWIDTH = {**{chr(ord("0") + i): chr(0xFF10 + i) for i in range(10)}, "@": "\uff20"}
ARABIC_INDIC = {chr(ord("0") + i): chr(0x0660 + i) for i in range(10)}


def _groups(value: str, sep: str) -> str:
    """Digit groups of a number re-joined with ``sep`` (a card in fours)."""
    d = digits(value)
    if len(d) == 16:
        return sep.join(d[i : i + 4] for i in range(0, 16, 4))
    return value.replace("-", sep).replace(" ", sep)


def _interleave(value: str, mark: str) -> str:
    return mark.join(value)


def _html(value: str) -> str:
    return "".join(f"&#{ord(ch)};" if not ch.isalpha() else ch for ch in value)


def _u_escape(value: str) -> str:
    return "".join(f"\\u{ord(ch):04x}" if not ch.isalpha() else ch for ch in value)


DISGUISES: dict[str, Callable[[str, str], str]] = {
    "fullwidth": lambda k, v: "".join(FULLWIDTH.get(ch, ch) for ch in v),
    "nbsp": lambda k, v: _groups(v, "\u00a0"),
    "narrownbsp": lambda k, v: _groups(v, "\u202f"),
    "zerowidth": lambda k, v: _interleave(v, "\u200b"),
    "softhyphen": lambda k, v: _interleave(v, "\u00ad"),
    "endash": lambda k, v: _groups(v, "\u2013"),
    "arabicdigits": lambda k, v: "".join(ARABIC_INDIC.get(ch, ch) for ch in v),
    "urlencoded": lambda k, v: urllib.parse.quote(v, safe=""),
    "htmlentities": lambda k, v: _html(v),
    "base64": lambda k, v: base64.b64encode(v.encode()).decode(),
    "u0040escape": lambda k, v: _u_escape(v),
    "jsondouble": lambda k, v: json.dumps(json.dumps({k: v})),
}


def disguised(f: Factory) -> None:
    for disguise, transform in DISGUISES.items():

        def plant(c: Case, v: dict[str, str], t: Callable[[str, str], str] = transform) -> dict[str, str]:
            c.planted = {k: t(k, val) for k, val in v.items()}
            return c.planted

        def content(c: Case, v: dict[str, str], plant: Callable[..., dict[str, str]] = plant) -> None:
            add_span(c, chat(c, **{"gen_ai.input.messages": messages("user", sentence(plant(c, v)))}))

        def log_body(c: Case, v: dict[str, str], plant: Callable[..., dict[str, str]] = plant) -> None:
            add_log(c, {"content": sentence(plant(c, v))})

        cause = (
            "7"
            if disguise in ("fullwidth", "nbsp", "narrownbsp", "zerowidth", "softhyphen", "endash", "arabicdigits")
            else "8"
        )
        f.add(cause, f"disguised-{disguise}-input-messages", content)
        f.add(cause, f"disguised-{disguise}-log-body", log_body)


# --- 10. phone numbers outside the default regions --------------------------------------------------------------

FOREIGN_REGIONS = ("JP", "AU", "ES", "IT", "NL")


def foreign_phone(index: int, region: str) -> str:
    """A valid national-format mobile number of ``region``, varied by ``index``."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    base = example.national_number
    for bump in range(1000):
        candidate = phonenumbers.PhoneNumber(
            country_code=example.country_code, national_number=base + (index * 7 + bump) % 1000
        )
        if phonenumbers.is_valid_number(candidate):
            return phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.NATIONAL)
    raise AssertionError(f"no valid {region} number near the example")


def foreign_phones(f: Factory) -> None:
    for region in FOREIGN_REGIONS:

        def build(c: Case, v: dict[str, str], region: str = region) -> None:
            number = foreign_phone(f.next, region)
            c.values = {"phone": number}
            add_span(c, chat(c, **{"gen_ai.input.messages": messages("user", f"Call me on {number} tomorrow.")}))

        f.add("10", f"phone-national-{region.lower()}-input-messages", build, kinds=("phone",))


# --- 9. one phone number after many short numbers ---------------------------------------------------------------


def long_message(f: Factory) -> None:
    def build(c: Case, v: dict[str, str]) -> None:
        filler = " ".join(str(100 + i % 900) for i in range(65_000))  # ~260 KB of short numbers
        filler += " " + " ".join(f"item{i}" for i in range(14_000))  # and words, to ~400 KB
        text = f"{filler} Please call me at {v['phone']} about it."
        add_span(c, chat(c, **{"gen_ai.input.messages": messages("user", text)}))

    f.add("9", "long_message-65k-numbers-input-messages", build, kinds=("phone",), own_request=True)


def all_cases(builders: list[Callable[[Factory], None]], offset: int = 0) -> list[Case]:
    f = Factory(offset)
    for build in builders:
        build(f)
    ids = [c.id for c in f.cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return f.cases


MAIN = [
    baselines,
    nested_json,
    bytes_values,
    scrubbed_batch,
    fields,
    exclusions,
    disguised,
    foreign_phones,
    long_message,
]
