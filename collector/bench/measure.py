"""What the bench reads off the relay: CPU and peak RSS of its process tree (from /proc, so redaction worker
processes count), and counters and the per-stage histogram from its ``/metrics``."""

from __future__ import annotations

import os
import re
from pathlib import Path

STAGE_FAMILY = "glassbox_stage_duration_seconds"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _tree(pid: int, proc: Path) -> list[Path]:
    """/proc entries of ``pid`` and its descendants."""
    parents: dict[int, int] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    family, grew = {pid}, True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in family and child not in family:
                family.add(child)
                grew = True
    return [proc / str(p) for p in family]


def cpu_and_peak_rss(pid: int, proc: Path = Path("/proc")) -> tuple[float, int]:
    """(CPU seconds used so far, sum of peak RSS in bytes) over the relay and its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    cpu, peak = 0.0, 0
    for entry in _tree(pid, proc):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak += int(line.split()[1]) * 1024
        except (OSError, IndexError, ValueError):
            continue  # a worker that ended between the listing and the read
    return cpu, peak


def samples(text: str, family: str) -> list[tuple[dict[str, str], float]]:
    """Every sample named ``family`` in a Prometheus text exposition: (labels, value)."""
    found = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(1) == family:
            found.append((dict(_LABEL.findall(match.group(2) or "")), float(match.group(3))))
    return found


def counter(text: str, family: str, **labels: str) -> float:
    """The sum of a family's samples whose labels include ``labels``."""
    return sum(value for got, value in samples(text, family) if all(got.get(k) == v for k, v in labels.items()))


def stage_seconds(text: str) -> dict[str, float]:
    """Seconds spent per stage: ``decode``, ``normalize``, ``processor:<name>``, ``encode:<exporter>``,
    ``send:<exporter>`` (summed over transports and signals)."""
    totals: dict[str, float] = {}
    for labels, value in samples(text, STAGE_FAMILY + "_sum"):
        stage = labels.get("stage", "")
        detail = labels.get("processor") or labels.get("exporter")
        name = f"{stage}:{detail}" if detail and stage in ("processor", "encode", "send") else stage
        totals[name] = totals.get(name, 0.0) + value
    return totals
