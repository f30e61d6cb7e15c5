"""PII redaction (the ``redaction`` processor): Presidio everywhere content can hide, failing closed.

Modules, in the order data flows: ``walk`` finds every string in a batch (model fields and OTLP protobufs),
``engine`` dedupes and caches them (``cache``) and sends the rest to ``pool`` workers that prefilter
(``gates``) and run Presidio (``analyzer``, ``recognizers``, ``phone``, ``nlp``); ``processor`` writes the results back and
records what was found. Settings: ``config.RedactionSettings``.
"""
