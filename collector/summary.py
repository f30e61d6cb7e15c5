"""The one summary the relay logs when it is ready: what it listens on, what it does, where data goes.

Built from the running components (ports as bound, exporters' resolved URLs), so it says what *is*, not what the
file asked for. Components describe themselves with an optional ``describe()``; secrets never appear (header
and key values stay out, a URL's user:password is masked).
"""

from __future__ import annotations

from typing import Any

from glassbox.collector.validators import split_endpoint
from glassbox.collector.version import VERSION


def _describe(component: Any) -> str:
    describe = getattr(component, "describe", None)
    return f": {describe()}" if callable(describe) else ""


def startup_summary(relay: Any) -> str:
    config = relay.config
    lines = [f"glassbox {VERSION} ready; config: {config.origin or 'given in code'}"]
    receiver = config.receivers.otlp
    listening = []
    if receiver is not None and receiver.grpc is not None and relay.grpc_port:
        listening.append(
            f"OTLP/gRPC on {split_endpoint(receiver.grpc.endpoint)[0]}:{relay.grpc_port}{_guards(receiver.grpc)}"
        )
    if receiver is not None and receiver.http is not None and relay.http_port:
        listening.append(
            f"OTLP/HTTP (protobuf or JSON) on {split_endpoint(receiver.http.endpoint)[0]}:{relay.http_port}"
            f"{_guards(receiver.http)}"
        )
    lines.append("  receivers: " + ("; ".join(listening) or "none"))
    chain = [f"{name}{_describe(processor)}" for name, processor in relay.processors]
    lines.append("  processors: " + (" -> ".join(chain) if chain else "none"))
    if relay.unredacted:
        lines.append(f"  redaction: OFF for {', '.join(relay.unredacted)} (pipeline.send_unredacted: true)")
    for sender in relay.senders:
        lines.append(f"  exporter {sender.name}{_describe(sender.exporter)}")
    admin = f"http://{split_endpoint(config.admin.endpoint)[0]}:{relay.admin_port}"
    viewer = f", the viewer at {admin}/" if any(s.name == "local" for s in relay.senders) else ""
    lines.append(f"  admin: {admin} (/healthz /readyz /metrics{viewer})")
    return "\n".join(lines)


def _guards(server: Any) -> str:
    guards = [word for word, on in (("TLS", server.tls is not None), ("auth", server.auth is not None)) if on]
    return f" ({', '.join(guards)})" if guards else ""
