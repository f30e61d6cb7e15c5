"""glassbox's drop-in instrumentation for apps (OTel SDK only; imports nothing else of glassbox)."""
