"""Leak hunt: crafted OTLP requests with PII in every place an application can put it, sent through a real relay
with the default processor chain; every byte that leaves (Datadog, OTLP, local store) is searched for the values."""
