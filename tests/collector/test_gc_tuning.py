"""Once started, the relay keeps what it loaded out of the collector's view and collects less often (the
default thresholds cost ~20% of its CPU in bench.relay), and lets its helper threads have the GIL sooner (see
collector/service.py)."""

from __future__ import annotations

import gc
import sys

from glassbox.collector.service import GC_THRESHOLDS, SWITCH_INTERVAL


async def test_a_started_relay_freezes_what_it_loaded_and_raises_the_thresholds(make_relay):
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    try:
        await make_relay()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 10_000  # the imported modules, config, processors
    finally:
        gc.set_threshold(*GC_THRESHOLDS)


async def test_a_started_relay_shortens_the_gil_switch_interval(make_relay):
    sys.setswitchinterval(0.005)
    await make_relay()
    assert sys.getswitchinterval() == SWITCH_INTERVAL
