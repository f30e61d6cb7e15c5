"""Exporters: one folder each (``__init__.py`` with its factory, ``config.py``, ``exporter.py``, its format),
registered once in ``collector.components``. ``base`` is the contract, ``http`` the classified POST."""
