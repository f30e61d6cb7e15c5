"""The ``otlp`` receiver: OTLP/gRPC and OTLP/HTTP servers feeding one consumer (the pipeline)."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

import grpc
from aiohttp import web

from glassbox.collector.errors import StartupError
from glassbox.collector.receivers.base import Consumer
from glassbox.collector.receivers.otlp.auth import Authenticator
from glassbox.collector.receivers.otlp.config import OtlpReceiverConfig, ReceiverTlsConfig
from glassbox.collector.receivers.otlp.core import Counts
from glassbox.collector.receivers.otlp.grpc import build_server
from glassbox.collector.receivers.otlp.http import HttpHandler
from glassbox.collector.receivers.otlp.mismatch import ProtocolMismatch, server_logger
from glassbox.collector.telemetry import Telemetry
from glassbox.collector.validators import split_endpoint

log = logging.getLogger("glassbox.receiver.otlp")


class OtlpReceiver:
    def __init__(self, config: OtlpReceiverConfig, consumer: Consumer, telemetry: Telemetry):
        self.config = config
        self.consumer = consumer
        self.telemetry = telemetry
        self.ports: dict[str, int] = {}
        self._grpc: grpc.aio.Server | None = None
        self._http: web.AppRunner | None = None

    async def start(self) -> None:
        grpc_config, http_config = self.config.grpc, self.config.http
        if grpc_config is not None:
            host, port = split_endpoint(grpc_config.endpoint)
            self._grpc = build_server(
                self.consumer,
                Counts(self.telemetry, "grpc"),
                grpc_config.max_message_bytes,
                Authenticator(grpc_config.auth),
            )
            try:
                if grpc_config.tls is not None:
                    credentials = grpc.ssl_server_credentials(
                        [(Path(grpc_config.tls.key_file).read_bytes(), Path(grpc_config.tls.cert_file).read_bytes())]
                    )
                    self.ports["grpc"] = self._grpc.add_secure_port(f"{host}:{port}", credentials)
                else:
                    self.ports["grpc"] = self._grpc.add_insecure_port(f"{host}:{port}")
            except (RuntimeError, OSError) as exc:
                raise StartupError(
                    f"receivers.otlp.grpc.endpoint: cannot listen on {grpc_config.endpoint} "
                    f"(is another process using the port?): {exc}"
                ) from None
            await self._grpc.start()
            log.info("OTLP/gRPC receiver listening on %s:%d", host, self.ports["grpc"])
        if http_config is not None:
            handler = HttpHandler(
                self.consumer,
                Counts(self.telemetry, "http"),
                http_config.max_body_bytes,
                Authenticator(http_config.auth),
                http_config.read_timeout,
            )
            app = web.Application(client_max_size=http_config.max_body_bytes)
            app.add_routes(handler.routes())
            grpc_at = f"{split_endpoint(grpc_config.endpoint)[0]}:{self.ports['grpc']}" if grpc_config else None
            mismatch = ProtocolMismatch(Counts(self.telemetry, "http"), http_config.endpoint, grpc_at)
            # The handler decompresses itself, with the size limit applied to the decompressed bytes.
            self._http, self.ports["http"] = await serve(
                app,
                http_config.endpoint,
                _ssl(http_config.tls),
                "receivers.otlp.http.endpoint",
                auto_decompress=False,
                keepalive_timeout=30.0,
                logger=server_logger(mismatch),
            )
            mismatch.where = f"{split_endpoint(http_config.endpoint)[0]}:{self.ports['http']}"
            log.info(
                "OTLP/HTTP receiver listening on %s:%d", split_endpoint(http_config.endpoint)[0], self.ports["http"]
            )

    async def shutdown(self) -> None:
        if self._grpc is not None:
            await self._grpc.stop(grace=2.0)
            self._grpc = None
        if self._http is not None:
            await self._http.cleanup()
            self._http = None


async def serve(
    app: web.Application, endpoint: str, ssl_context: ssl.SSLContext | None, key: str, **handler: Any
) -> tuple[web.AppRunner, int]:
    """Serve an aiohttp app on ``endpoint``; returns the runner and the real port (when 0 was asked for)."""
    host, port = split_endpoint(endpoint)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0, **handler)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=512, ssl_context=ssl_context)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise StartupError(f"{key}: cannot listen on {endpoint}: {exc.strerror or exc}") from None
    server = site._server
    assert server is not None and hasattr(server, "sockets")
    return runner, server.sockets[0].getsockname()[1]


def _ssl(tls: ReceiverTlsConfig | None) -> ssl.SSLContext | None:
    if tls is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert_file, tls.key_file)
    return context
