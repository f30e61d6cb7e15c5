"""Processors and the span model they share.

The shared layer — ``model`` (the span model and its enrichment API), ``semconv`` (every attribute name),
``wire`` (the only code that reads or writes the OTLP copy), ``scrub`` (the one fail-closed policy), ``base``
(the processor contract, its factory and errors), ``units`` (sizes and durations in config) and ``words`` (many
words looked for in one pass) — imports nothing of the collector. Each processor is one folder (``config.py`` +
``processor.py``) that imports only that shared layer.
"""
