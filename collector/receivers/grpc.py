"""OTLP/gRPC receiver: TraceService, LogsService and MetricsService ``Export`` on one ``grpc.aio`` server.

Full exporter queues answer UNAVAILABLE with ``google.rpc.RetryInfo`` so OTel SDK exporters back off and retry;
oversized messages are refused by gRPC itself (RESOURCE_EXHAUSTED, non-retryable, as the spec asks).
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from glassbox.collector.pipeline import Backpressure, Pipeline
from glassbox.collector.receivers.auth import Authenticator
from glassbox.collector.telemetry import Telemetry

log = logging.getLogger("glassbox.receiver.grpc")


class _Handler:
    def __init__(self, pipeline: Pipeline, telemetry: Telemetry, auth: Authenticator):
        self.pipeline = pipeline
        self.telemetry = telemetry
        self.auth = auth

    async def run(self, signal: str, consume, request, context: grpc.aio.ServicerContext, response):
        if self.auth.enabled and not self.auth.allows(context.invocation_metadata() or ()):
            self.telemetry.add("receiver_refused_requests", 1, transport="grpc", signal=signal, reason="unauthorized")
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong credentials")
        try:
            count = await consume(request, request.ByteSize())
        except Backpressure as exc:
            self.telemetry.add("receiver_refused_requests", 1, transport="grpc", signal=signal, reason="queue_full")
            await context.abort_with_status(_unavailable(str(exc), exc.retry_after))
        except Exception:
            log.exception("failed to process an OTLP/gRPC %s request", signal)
            self.telemetry.add("receiver_refused_requests", 1, transport="grpc", signal=signal,
                               reason="internal_error")
            await context.abort(grpc.StatusCode.INTERNAL, "internal error while processing the request")
        self.telemetry.add("receiver_accepted_requests", 1, transport="grpc", signal=signal)
        unit = {"traces": "spans", "logs": "log_records", "metrics": "metric_points"}[signal]
        self.telemetry.add(f"receiver_accepted_{unit}", count, transport="grpc")
        return response


class _Status(grpc.Status):
    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: tuple):
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


def _unavailable(message: str, retry_after: float):
    """UNAVAILABLE carrying RetryInfo in ``grpc-status-details-bin``, the way grpcio-status encodes it."""
    info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=int(retry_after)))
    status = status_pb2.Status(code=grpc.StatusCode.UNAVAILABLE.value[0], message=message)
    status.details.add().Pack(info)
    return _Status(grpc.StatusCode.UNAVAILABLE, message, (("grpc-status-details-bin", status.SerializeToString()),))


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, handler: _Handler):
        self.handler = handler

    async def Export(self, request, context):  # noqa: N802 (gRPC method name)
        return await self.handler.run("traces", self.handler.pipeline.consume_traces, request, context,
                                      trace_service_pb2.ExportTraceServiceResponse())


class LogsService(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, handler: _Handler):
        self.handler = handler

    async def Export(self, request, context):  # noqa: N802
        return await self.handler.run("logs", self.handler.pipeline.consume_logs, request, context,
                                      logs_service_pb2.ExportLogsServiceResponse())


class MetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, handler: _Handler):
        self.handler = handler

    async def Export(self, request, context):  # noqa: N802
        return await self.handler.run("metrics", self.handler.pipeline.consume_metrics, request, context,
                                      metrics_service_pb2.ExportMetricsServiceResponse())


def build_server(pipeline: Pipeline, telemetry: Telemetry, max_message_bytes: int,
                 auth: Authenticator | None = None) -> grpc.aio.Server:
    server = grpc.aio.server(options=[
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", 4 << 20),
    ])
    handler = _Handler(pipeline, telemetry, auth or Authenticator(None))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(handler), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(LogsService(handler), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(MetricsService(handler), server)
    return server
