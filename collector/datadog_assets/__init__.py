"""Datadog dashboards and monitors as code: ``glassbox datadog plan|apply|export``.

The shipped definitions (``deploy/datadog/``) are loaded (``definitions``), validated through
datadog-api-client's models (``validation``), marked as glassbox's own (``marker``), compared with what the
organisation has (``plan``), then sent (``sync``) or exported as Terraform JSON (``terraform``).
"""
