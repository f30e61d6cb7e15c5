"""The ``otlp`` receiver: OTLP/gRPC (4317) and OTLP/HTTP (4318), traces, logs and metrics."""

from glassbox.collector.receivers.base import ReceiverFactory
from glassbox.collector.receivers.otlp.config import OtlpReceiverConfig, check
from glassbox.collector.receivers.otlp.receiver import OtlpReceiver

FACTORY = ReceiverFactory(
    name="otlp",
    config=OtlpReceiverConfig,
    create=lambda config, context, consumer, telemetry: OtlpReceiver(config, consumer, telemetry),
    check=check,
)
