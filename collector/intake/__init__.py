"""Intake: from request bytes to model spans ready for the processors.

``codec`` (OTLP protobuf / JSON bodies and responses), ``normalize`` (every instrumentation flavour → the span
model, with ``content`` for the shapes chat content comes in) and ``join`` (content sent in log records, and
each span's nearest GenAI ancestor).
"""
