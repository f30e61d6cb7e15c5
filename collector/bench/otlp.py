"""Pre-encoded OTLP trace requests whose ids can be re-stamped without re-encoding.

Every trace and span id starts with ``MARKER`` (4 bytes) and ends with a sequence number. A client replaces the
marker, found by its protobuf field tag and length in front of it, with its client number and the round it is
in: the same pool of requests can then be sent several times (``--max`` outruns any pool) with ids unique per
send, and the stand-in reads client, round and sequence number back from each span id it receives.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

MARKER = b"\xfe\xed\xfa\xce"
# Span.trace_id (field 1, 16 bytes), Span.span_id (field 2, 8 bytes), Span.parent_span_id (field 4, 8 bytes)
ANCHORS = (b"\x0a\x10", b"\x12\x08", b"\x22\x08")
MAX_ROUNDS = 0xFFFF


@dataclass
class PoolRequest:
    body: bytes
    seqs: list[int]  # the sequence number of each span, in order
    genai: int  # how many of its spans are GenAI spans (the ones the datadog exporter sends)


def stamp(body: bytes, client: int, round_: int) -> bytes:
    """The request with every id's marker replaced by (client + 1, round): unique per client and round."""
    replacement = struct.pack(">HH", client + 1, round_)
    for anchor in ANCHORS:
        body = body.replace(anchor + MARKER, anchor + replacement)
    return body


def unstamp(span_id: int) -> tuple[int, int, int]:
    """(client, round, sequence number) of a span id ``stamp`` made."""
    return (span_id >> 48) - 1, (span_id >> 32) & 0xFFFF, span_id & 0xFFFFFFFF


def new_request(service: str) -> tuple[ExportTraceServiceRequest, Any]:
    """An empty trace request with one resource (its ``service.name``) and one scope: (request, scope)."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    kv = resource_spans.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", service
    return request, resource_spans.scope_spans.add()


def add_attributes(span: Span, strings: Iterable[tuple[str, str]], ints: Iterable[tuple[str, int]] = ()) -> None:
    """String attributes, then integer ones, in the order given."""
    for key, value in strings:
        attr = span.attributes.add()
        attr.key, attr.value.string_value = key, value
    for key, number in ints:
        attr = span.attributes.add()
        attr.key, attr.value.int_value = key, number


@dataclass
class OtlpTrace:
    """One trace being written into the current request; ``span`` adds a span to it."""

    builder: RequestBuilder
    trace_id: bytes
    spans: list[Span] = field(default_factory=list)

    def span(
        self,
        name: str,
        kind: Any,
        strings: list[tuple[str, str]],
        ints: list[tuple[str, int]] = (),  # type: ignore[assignment]
        parent: Span | None = None,
        genai: bool = True,
    ) -> Span:
        span = self.builder.scope.spans.add()
        seq = self.builder.next_seq()
        span.trace_id = self.trace_id
        span.span_id = MARKER + seq.to_bytes(4, "big")
        if parent is not None:
            span.parent_span_id = parent.span_id
            self.builder.parents += 1
        span.name = name
        span.kind = kind
        now = time.time_ns()
        span.start_time_unix_nano = now - 900_000_000
        span.end_time_unix_nano = now
        add_attributes(span, strings, ints)
        self.builder.current.append(seq)
        self.builder.genai += genai
        self.spans.append(span)
        return span


class RequestBuilder:
    """Writes traces into requests of about ``batch`` spans each; a trace never spans two requests (so the relay
    never waits for a parent from another request)."""

    def __init__(self, service: str, batch: int) -> None:
        self.service, self.batch = service, batch
        self.requests: list[PoolRequest] = []
        self.spans = 0
        self._traces = 0
        self._new_request()

    def _new_request(self) -> None:
        self.request, self.scope = new_request(self.service)
        self.current: list[int] = []
        self.genai = 0
        self.parents = 0

    def next_seq(self) -> int:
        self.spans += 1
        return self.spans

    def trace(self) -> OtlpTrace:
        """A new trace; call ``end_trace`` after its spans."""
        self._traces += 1
        return OtlpTrace(self, MARKER + self._traces.to_bytes(12, "big"))

    def end_trace(self) -> None:
        if len(self.current) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.current:
            return
        body = self.request.SerializeToString()
        expected = 2 * len(self.current) + self.parents
        found = sum(body.count(anchor + MARKER) for anchor in ANCHORS)
        if found != expected:  # a timestamp or number that happens to hold an anchor and the marker
            raise RuntimeError(f"request {len(self.requests)}: {found} id markers where {expected} were written")
        self.requests.append(PoolRequest(body, self.current, self.genai))
        self._new_request()
