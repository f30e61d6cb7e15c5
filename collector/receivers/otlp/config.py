"""Settings of the ``otlp`` receiver (``receivers: otlp:``): a gRPC and an HTTP endpoint, each optional."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from glassbox.collector import validators
from glassbox.processors.base import ComponentConfig
from glassbox.processors.units import Bytes, Seconds


class ReceiverAuthConfig(ComponentConfig):
    """Clients must send ``Authorization: Bearer <bearer_token>`` and/or every listed header with its value."""

    bearer_token: SecretStr | None = None
    headers: dict[str, SecretStr] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _something(self) -> ReceiverAuthConfig:
        if self.bearer_token is None and not self.headers:
            raise ValueError("set bearer_token or headers (or remove auth)")
        return self


class ReceiverTlsConfig(ComponentConfig):
    cert_file: str
    key_file: str

    @field_validator("cert_file", "key_file")
    @classmethod
    def _exists(cls, value: str) -> str:
        if not Path(value).is_file():
            raise ValueError(f"{value!r} is not a readable file")
        return value


class GrpcConfig(ComponentConfig):
    endpoint: str = "127.0.0.1:4317"
    max_message_bytes: Bytes = Field(default=32 << 20, description="largest request (bytes, or 32MiB)")
    auth: ReceiverAuthConfig | None = None
    tls: ReceiverTlsConfig | None = None
    _endpoint = field_validator("endpoint")(validators.endpoint)


class HttpConfig(ComponentConfig):
    endpoint: str = "127.0.0.1:4318"
    max_body_bytes: Bytes = Field(
        default=32 << 20, description="limit after decompression (bytes, or 32MiB); larger → 413"
    )
    read_timeout: Seconds = Field(default=30.0, description="to receive a whole body, slow clients (seconds, or 30s)")
    auth: ReceiverAuthConfig | None = None
    tls: ReceiverTlsConfig | None = None
    _endpoint = field_validator("endpoint")(validators.endpoint)


class OtlpReceiverConfig(ComponentConfig):
    grpc: GrpcConfig | None = Field(default_factory=GrpcConfig)
    http: HttpConfig | None = Field(default_factory=HttpConfig)


def check(config: OtlpReceiverConfig, context: object) -> list[tuple[str, str]]:
    """TLS files must hold a certificate and its key (``run`` would refuse them when it starts listening)."""
    import ssl

    problems = []
    for name, transport in (("grpc", config.grpc), ("http", config.http)):
        if transport is None or transport.tls is None:
            continue
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                transport.tls.cert_file, transport.tls.key_file
            )
        except (ssl.SSLError, OSError) as exc:
            problems.append((f"{name}.tls", f"cannot load the certificate and key: {exc}"))
    return problems
