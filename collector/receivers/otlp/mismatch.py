"""What the OTLP/HTTP port says when something that is not HTTP/1.1 arrives there.

Most often an SDK exporting OTLP/gRPC to 4318 (the Python SDK's default protocol is gRPC): aiohttp refuses the
HTTP/2 preface and logs a traceback per attempt, and the SDK retries, so the user reads pages of tracebacks and
not the fix. Here each refusal is counted (``receiver_refused_requests{reason="grpc_on_http_port"}``, or
``not_http`` for anything else that is not HTTP) and explained in one log line, at most once a minute per reason
(``not_http`` at debug level, as aiohttp does: port scanners and TLS clients on a public port are noise).
"""

from __future__ import annotations

import logging
import time

from aiohttp.http_exceptions import HttpProcessingError

from glassbox.collector.receivers.otlp.core import Counts

log = logging.getLogger("glassbox.receiver.otlp")
INTERVAL = 60.0  # seconds between two log lines for the same reason (every refusal is counted)


class ProtocolMismatch(logging.Filter):
    """Sits on the HTTP server's own logger: swallows aiohttp's "Error handling request" tracebacks for bodies
    that are not HTTP/1.1, counts them, and says what to change instead."""

    def __init__(self, counts: Counts, where: str, grpc: str | None):
        super().__init__()
        self.counts = counts
        self.where = where  # the HTTP endpoint, as configured
        self.grpc = grpc  # the gRPC endpoint, or None when that server is off
        self._said: dict[str, tuple[float, int]] = {}  # reason -> (last log time, refusals since)

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):  # anything else: as aiohttp.server's own level says
            return record.levelno >= logging.getLogger("aiohttp.server").getEffectiveLevel()
        reason = "grpc_on_http_port" if "PRI" in str(exc) else "not_http"
        self.counts.refused("unknown", reason)
        last, since = self._said.get(reason, (float("-inf"), 0))
        now = time.monotonic()
        if now - last < INTERVAL:
            self._said[reason] = (last, since + 1)
            return False
        self._said[reason] = (now, 0)
        more = f" ({since} more since the last notice)" if since else ""
        log.log(logging.WARNING if reason == "grpc_on_http_port" else logging.DEBUG, "%s%s", self.explain(reason), more)
        return False

    def explain(self, reason: str) -> str:
        if reason == "grpc_on_http_port":
            target = (
                f"the OTLP/gRPC port (receivers.otlp.grpc.endpoint, {self.grpc})"
                if self.grpc
                else "an OTLP/gRPC receiver (receivers.otlp.grpc is off)"
            )
            return (
                f"OTLP/gRPC (HTTP/2) arrived on the OTLP/HTTP port ({self.where}) and was refused: send gRPC to "
                f"{target}, or make the app export OTLP/HTTP with OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
            )
        return f"a connection to the OTLP/HTTP port ({self.where}) did not speak HTTP/1.1 and was refused"


def server_logger(mismatch: ProtocolMismatch) -> logging.Logger:
    """A logger for one HTTP server (aiohttp takes it as ``logger=``): the filter above, then aiohttp's own
    handlers and level, as if it were ``aiohttp.server``."""
    logger = logging.Logger("aiohttp.server", logging.DEBUG)  # not registered: each receiver has its own filter;
    logger.parent = logging.getLogger("aiohttp.server")  # DEBUG so that every refusal reaches it to be counted
    logger.addFilter(mismatch)
    return logger
