"""Receivers: one folder each (factory in ``__init__``, ``config.py``, the servers), registered once in
``collector.components``. ``base`` is the contract."""
