"""Processors: plain objects with ``start()``, ``process(batch) -> batch`` and ``shutdown()``.

The pipeline calls them in the configured order; a processor never calls the next one. ``process`` may be a
coroutine function when the work is better done off the event loop. Processors import only ``model``.
"""
