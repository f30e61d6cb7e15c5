"""The standard process metrics on a running relay's /metrics (``collector.process_metrics``), checked against
what the kernel says through other doors (``resource``, ``os``), and the parts of the reader that do not depend
on the machine: ``/proc/self/stat`` parsing and the fallback where there is no ``/proc``."""

from __future__ import annotations

import os
import resource
import sys
import time

import pytest

from glassbox.collector import process_metrics
from glassbox.collector import telemetry as T
from tests.collector.test_telemetry import scrape

STANDARD = {
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_start_time_seconds": "gauge",
    "glassbox_uptime_seconds": "gauge",
}


def value(families: dict, name: str) -> float:
    return float(families[name]["samples"][""])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the memory gauges come from /proc (Linux)")
async def test_a_running_relay_reports_its_process_under_the_standard_names(make_relay):
    relay = await make_relay()  # in this process: what it reports is this process
    families = await scrape(relay)
    for name, kind in STANDARD.items():
        assert families[name]["type"] == kind and set(families[name]["samples"]) == {""}, name

    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = value(families, "process_cpu_seconds_total")
    assert 0 < cpu <= usage.ru_utime + usage.ru_stime + 0.05  # /proc counts in clock ticks, rusage finer
    rss = value(families, "process_resident_memory_bytes")
    assert 20 << 20 < rss <= usage.ru_maxrss * 1024  # never above the peak the kernel recorded (KiB on Linux)
    assert rss < value(families, "process_virtual_memory_bytes")
    assert value(families, "process_max_fds") == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert 3 <= value(families, "process_open_fds") <= value(families, "process_max_fds")
    started = value(families, "process_start_time_seconds")
    uptime = value(families, "glassbox_uptime_seconds")
    assert started <= process_metrics.STARTED + 1 and started > time.time() - 7 * 86400
    assert uptime == pytest.approx(time.time() - started, abs=2)

    spin = time.process_time() + 0.3  # use some CPU: the counter is read at each scrape, not once
    while time.process_time() < spin:
        pass
    again = await scrape(relay)
    assert value(again, "process_cpu_seconds_total") >= cpu + 0.2
    assert value(again, "glassbox_uptime_seconds") >= uptime


def test_the_stat_line_is_read_from_the_last_parenthesis(tmp_path):
    """The command name may contain spaces and parentheses (``prctl(PR_SET_NAME)``): fields are counted after
    the last ``)``, as man 5 proc advises."""
    (tmp_path / "self" / "fd").mkdir(parents=True)
    for fd in range(5):
        (tmp_path / "self" / "fd" / str(fd)).write_text("")
    fields = ["S", "1", "2", "3", "0", "-1", "4194560", "10", "0", "0", "0"]  # fields 3..13
    fields += ["250", "150", "0", "0", "20", "0", "4", "0", "1000", "123456789", "2048"]  # 14..24
    (tmp_path / "self" / "stat").write_text(f"4242 (glass) box (x)) {' '.join(fields)} 0 0 0\n")
    (tmp_path / "stat").write_text("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n")
    got = {metric: series[()] for metric, series in process_metrics.read(tmp_path).items()}
    ticks = os.sysconf("SC_CLK_TCK")
    assert got[T.PROCESS_CPU_SECONDS] == pytest.approx(400 / ticks)
    assert got[T.PROCESS_VIRTUAL_MEMORY] == 123456789
    assert got[T.PROCESS_RESIDENT_MEMORY] == 2048 * os.sysconf("SC_PAGE_SIZE")
    assert got[T.PROCESS_START_TIME] == pytest.approx(1700000000 + 1000 / ticks)
    assert got[T.PROCESS_OPEN_FDS] == 5


def test_without_proc_the_portable_metrics_remain_and_memory_is_left_out(tmp_path):
    got = {metric: series[()] for metric, series in process_metrics.read(tmp_path / "no-proc").items()}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    assert 0 < got[T.PROCESS_CPU_SECONDS] <= usage.ru_utime + usage.ru_stime
    assert got[T.PROCESS_START_TIME] == process_metrics.STARTED
    assert got[T.PROCESS_MAX_FDS] == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert T.PROCESS_RESIDENT_MEMORY not in got and T.PROCESS_VIRTUAL_MEMORY not in got  # absent, never guessed
    assert got[T.UPTIME] >= 0
