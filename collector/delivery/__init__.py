"""Delivery: everything between "a request is accepted" and "the destination took it".

``store`` (one SQLite file: every exporter's queue, the intake journal, the dead letters; group commit),
``admission`` (the one rule for "is there room": receivers refuse by it, ``/readyz`` reports it), ``sender``
(one per exporter: batches, retries, exact acknowledgements), ``deadletter`` (the CLI's view of what was
refused for good) and ``config`` (the settings every exporter shares).
"""
