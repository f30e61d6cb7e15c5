"""The process metrics every Prometheus client library exports (``process_cpu_seconds_total``,
``process_resident_memory_bytes``, ...), so the dashboards and alerts people already have for any process work for
the relay too. Read on each scrape: from ``/proc/self`` on Linux; elsewhere from ``resource`` and ``os``, and the
memory gauges are left out rather than guessed (``ru_maxrss`` is the peak, not the current size).

No dependency: ``prometheus_client`` or ``psutil`` would do the same with more than the relay needs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from glassbox.collector import telemetry as T

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

PROC = Path("/proc")
STARTED = time.time()  # the fallback's start time: when the relay imported this, a moment after the process began


def read(proc: Path = PROC) -> dict[T.Metric, T.Series]:
    """Every process family this platform can tell, unlabelled; plus ``glassbox_uptime_seconds``."""
    values: dict[T.Metric, float] = {}
    stat = _proc_stat(proc)
    if stat is not None:
        ticks = os.sysconf("SC_CLK_TCK")
        values[T.PROCESS_CPU_SECONDS] = (stat["utime"] + stat["stime"]) / ticks
        values[T.PROCESS_VIRTUAL_MEMORY] = stat["vsize"]
        values[T.PROCESS_RESIDENT_MEMORY] = stat["rss"] * os.sysconf("SC_PAGE_SIZE")
        boot = _boot_time(proc)
        if boot is not None:
            values[T.PROCESS_START_TIME] = boot + stat["starttime"] / ticks
    elif resource is not None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        values[T.PROCESS_CPU_SECONDS] = usage.ru_utime + usage.ru_stime
    else:
        times = os.times()
        values[T.PROCESS_CPU_SECONDS] = times.user + times.system
    values.setdefault(T.PROCESS_START_TIME, STARTED)
    open_fds = _count_fds(proc)
    if open_fds is not None:
        values[T.PROCESS_OPEN_FDS] = open_fds
    if resource is not None:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY:
            values[T.PROCESS_MAX_FDS] = soft
    values[T.UPTIME] = max(0.0, time.time() - values[T.PROCESS_START_TIME])
    return {metric: {(): value} for metric, value in values.items()}


def _proc_stat(proc: Path) -> dict[str, int] | None:
    """Fields of ``/proc/self/stat`` (man 5 proc); the command name may hold spaces and parentheses, so the
    fields are counted from the last ``)``."""
    try:
        text = (proc / "self" / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # fields[0] is field 3 (state)
    return {
        "utime": int(fields[11]),  # field 14, clock ticks
        "stime": int(fields[12]),  # field 15
        "starttime": int(fields[19]),  # field 22, clock ticks after boot
        "vsize": int(fields[20]),  # field 23, bytes
        "rss": int(fields[21]),  # field 24, pages
    }


def _boot_time(proc: Path) -> float | None:
    try:
        for line in (proc / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        pass
    return None


def _count_fds(proc: Path) -> int | None:
    for directory in (proc / "self" / "fd", Path("/dev/fd")):  # /dev/fd: macOS and the BSDs
        try:
            return len(os.listdir(directory))
        except OSError:
            continue
    return None
