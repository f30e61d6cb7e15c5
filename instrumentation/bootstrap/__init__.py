"""Put first on PYTHONPATH by ``glassbox-instrument``: holds the ``sitecustomize`` that starts telemetry."""
