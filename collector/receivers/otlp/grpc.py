"""OTLP/gRPC receiver: TraceService, LogsService and MetricsService ``Export`` on one ``grpc.aio`` server.

Requests arrive as raw bytes and are parsed here, so a malformed message gets INVALID_ARGUMENT with a readable
message (and is counted) instead of grpcio's generic UNKNOWN. Full exporter queues answer UNAVAILABLE with
``google.rpc.RetryInfo`` so OTel SDK exporters back off and retry; oversized messages are refused by gRPC itself
(RESOURCE_EXHAUSTED, non-retryable, as the spec asks).
"""

from __future__ import annotations

import logging
import time

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2

from glassbox.collector.errors import Backpressure, BadRequest
from glassbox.collector.intake import codec
from glassbox.collector.receivers.base import Consumer
from glassbox.collector.receivers.otlp.auth import Authenticator
from glassbox.collector.receivers.otlp.core import Counts, partial_success_message
from glassbox.processors.base import where_it_failed

log = logging.getLogger("glassbox.receiver.grpc")
SERVICES = {
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
}


class _Status(grpc.Status):
    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: tuple):
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


def _unavailable(message: str, retry_after: float) -> _Status:
    """UNAVAILABLE carrying RetryInfo, in ``grpc-status-details-bin`` and as its own trailer."""
    info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=max(1, int(retry_after))))
    status = status_pb2.Status(code=grpc.StatusCode.UNAVAILABLE.value[0], message=message)
    status.details.add().Pack(info)
    # grpcio-status reads the details; the OTel Python SDK reads the RetryInfo trailer: send both.
    return _Status(
        grpc.StatusCode.UNAVAILABLE,
        message,
        (
            ("grpc-status-details-bin", status.SerializeToString()),
            ("google.rpc.retryinfo-bin", info.SerializeToString()),
        ),
    )


class ExportHandler:
    """One ``Export`` method: authenticate, parse, hand to the pipeline, answer."""

    def __init__(self, signal: str, consumer: Consumer, counts: Counts, auth: Authenticator):
        self.signal = signal
        self.consumer = consumer
        self.counts = counts
        self.auth = auth

    async def __call__(self, body: bytes, context: grpc.aio.ServicerContext) -> bytes:
        signal = self.signal
        if self.auth.enabled and not self.auth.allows(context.invocation_metadata() or ()):
            self._refused("unauthorized")
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong credentials")
        started = time.perf_counter()
        try:
            request = codec.decode(signal, body, json=False)
        except BadRequest as exc:
            self._refused("bad_request")
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        self.counts.decoded(signal, started)
        rejected: list[str] = []
        try:
            count = await self.consumer.consume(signal, request, len(body), rejected)
        except Backpressure as exc:
            log.warning("refusing an OTLP/gRPC %s request: %s", signal, exc)
            self._refused(exc.reason)
            await context.abort_with_status(_unavailable(str(exc), exc.retry_after))
        except Exception as exc:
            log.error("failed to process an OTLP/gRPC %s request (%s)", signal, where_it_failed(exc))
            self._refused("internal_error")
            await context.abort(grpc.StatusCode.INTERNAL, "internal error while processing the request")
        self.counts.accepted(signal, count)
        return codec.encode_response(
            signal, json=False, rejected=len(rejected), message=partial_success_message(rejected)
        )

    def _refused(self, reason: str) -> None:
        self.counts.refused(self.signal, reason)


def build_server(
    consumer: Consumer, counts: Counts, max_message_bytes: int, auth: Authenticator | None = None
) -> grpc.aio.Server:
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", 4 << 20),
            ("grpc.so_reuseport", 0),  # a second relay on a busy port must fail, not share it silently
        ]
    )
    auth = auth or Authenticator(None)
    for signal, service in SERVICES.items():
        handler = grpc.unary_unary_rpc_method_handler(_coroutine(ExportHandler(signal, consumer, counts, auth)))
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {"Export": handler}),))
    return server


def _coroutine(handler: ExportHandler):
    """grpc.aio recognises async handlers with ``inspect.iscoroutinefunction``, which a callable object fails."""

    async def export(body: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return await handler(body, context)

    return export
