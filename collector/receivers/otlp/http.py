"""OTLP/HTTP receiver: ``POST /v1/traces``, ``/v1/logs``, ``/v1/metrics``; protobuf or JSON; gzip; chunked.

Answers follow the OTLP spec: 200 with an Export*ServiceResponse in the request's content type; 400 with a
readable ``google.rpc.Status`` for bad bodies; 413 past the size limit (measured after decompression); 415 for
unknown content types; 429 with ``Retry-After`` when exporter queues are full.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib

from aiohttp import web
from google.protobuf import json_format
from google.rpc import status_pb2

from glassbox.collector.errors import Backpressure, BadRequest
from glassbox.collector.intake import codec
from glassbox.collector.receivers.base import Consumer
from glassbox.collector.receivers.otlp.auth import Authenticator
from glassbox.collector.receivers.otlp.core import Counts, partial_success_message
from glassbox.processors.base import where_it_failed

log = logging.getLogger("glassbox.receiver.http")
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
READ_CHUNK = 1 << 16


class TooLarge(Exception):
    pass


class HttpHandler:
    def __init__(
        self,
        consumer: Consumer,
        counts: Counts,
        max_body_bytes: int,
        auth: Authenticator | None = None,
        read_timeout: float = 30.0,
    ):
        self.consumer = consumer
        self.counts = counts
        self.max_body_bytes = max_body_bytes
        self.auth = auth or Authenticator(None)
        self.read_timeout = read_timeout

    def routes(self) -> list[web.RouteDef]:
        return [web.post(f"/v1/{signal}", self._handler(signal)) for signal in codec.SIGNALS]

    def _handler(self, signal: str):
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.handle(signal, request)

        return handle

    async def handle(self, signal: str, request: web.Request) -> web.StreamResponse:
        if not self.auth.allows(request.headers.items()):
            return self._refuse(signal, 401, "missing or wrong credentials", JSON, "unauthorized")
        content_type = request.content_type.lower() if "Content-Type" in request.headers else ""
        if content_type not in (PROTOBUF, JSON):
            return self._refuse(
                signal,
                415,
                f"unsupported Content-Type {content_type or '(none)'!r}; send {PROTOBUF} or {JSON}",
                JSON,
                "unsupported_media_type",
            )
        as_json = content_type == JSON
        try:
            async with asyncio.timeout(self.read_timeout):
                body = await self._read_body(request)
        except TimeoutError:
            return self._refuse(
                signal, 408, f"body not received within {self.read_timeout:g}s", content_type, "read_timeout"
            )
        except TooLarge:
            return self._refuse(
                signal, 413, f"body exceeds {self.max_body_bytes} bytes after decompression", content_type, "too_large"
            )
        except (zlib.error, ValueError) as exc:
            return self._refuse(signal, 400, f"cannot decompress body: {exc}", content_type, "bad_encoding")
        started = time.perf_counter()
        try:
            message = codec.decode(signal, body, json=as_json)
        except BadRequest as exc:
            return self._refuse(signal, 400, str(exc), content_type, "bad_request")
        self.counts.decoded(signal, started)
        try:
            rejected: list[str] = []
            count = await self.consumer.consume(signal, message, len(body), rejected)
        except Backpressure as exc:
            log.warning("refusing an OTLP/HTTP %s request: %s", signal, exc)
            response = self._refuse(signal, 429, str(exc), content_type, exc.reason)
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
            return response
        except Exception as exc:  # a bug while normalizing one request must not take the receiver down
            log.error("failed to process an OTLP/HTTP %s request (%s)", signal, where_it_failed(exc))
            return self._refuse(
                signal, 500, "internal error while processing the request", content_type, "internal_error"
            )
        self.counts.accepted(signal, count)
        body = codec.encode_response(
            signal, json=as_json, rejected=len(rejected), message=partial_success_message(rejected)
        )
        return web.Response(body=body, content_type=content_type)

    async def _read_body(self, request: web.Request) -> bytes:
        """Read the (possibly chunked, possibly gzipped) body, never holding more than the limit."""
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("identity", "", "gzip", "deflate"):
            raise ValueError(f"unsupported Content-Encoding {encoding!r} (use gzip or none)")
        if (
            request.content_length is not None
            and encoding in ("identity", "")
            and request.content_length > self.max_body_bytes
        ):
            raise TooLarge()
        inflater = _Inflater(encoding, self.max_body_bytes) if encoding in ("gzip", "deflate") else None
        parts: list[bytes] = []
        size = 0
        while True:
            chunk = await request.content.read(READ_CHUNK)
            if not chunk:
                break
            if inflater is not None:
                chunk = inflater.feed(chunk)
            size += len(chunk)
            if size > self.max_body_bytes:
                raise TooLarge()
            parts.append(chunk)
        if inflater is not None:
            inflater.finish()
        return b"".join(parts)

    def _refuse(self, signal: str, status: int, message: str, content_type: str, reason: str) -> web.Response:
        self.counts.refused(signal, reason)
        rpc_status = status_pb2.Status(code=_GRPC_CODES.get(status, 2), message=message)
        if content_type == JSON:
            body = json_format.MessageToJson(rpc_status, indent=None).encode()
        else:
            body = rpc_status.SerializeToString()
            content_type = PROTOBUF
        return web.Response(status=status, body=body, content_type=content_type)


class _Inflater:
    """Streaming gzip/deflate with the size limit applied to the output; gzip bodies may have many members
    (RFC 1952), as concatenated gzip files do."""

    def __init__(self, encoding: str, limit: int):
        self.wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        self.limit = limit
        self.produced = 0
        self.engine = zlib.decompressobj(self.wbits)

    def feed(self, data: bytes) -> bytes:
        out = []
        while data:
            chunk = self.engine.decompress(data, self.limit + 1 - self.produced)
            self.produced += len(chunk)
            out.append(chunk)
            if self.produced > self.limit or self.engine.unconsumed_tail:
                raise TooLarge()
            if self.engine.eof and self.engine.unused_data:
                data = self.engine.unused_data  # the next gzip member starts here
                self.engine = zlib.decompressobj(self.wbits)
            else:
                data = b""
        return b"".join(out)

    def finish(self) -> None:
        tail = self.engine.flush()
        if tail:
            self.produced += len(tail)
            if self.produced > self.limit:
                raise TooLarge()
            raise ValueError("trailing data after the compressed stream")
        if not self.engine.eof:
            raise ValueError("truncated compressed stream")


# HTTP status → google.rpc.Code: INVALID_ARGUMENT, UNAUTHENTICATED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
# UNAVAILABLE, INTERNAL
_GRPC_CODES = {400: 3, 401: 16, 408: 4, 413: 8, 415: 3, 429: 14, 500: 13}
