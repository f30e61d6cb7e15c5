"""Test support: a real Datadog test agent, payload schemas and an HTTP capture server."""
