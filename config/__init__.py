"""Shipped data: the default relay config (default.yaml)."""
