"""Scenario 4, worker memory: resident memory of a Celery worker after it swept 1,000 accounts.

Read from /proc/<pid>/status (VmRSS now, VmHWM the peak) for the worker's main process and each prefork
pool child. Measured by the sweep scenario while its worker is still running (see benchmarks/sweep.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from benchmarks.harness import Figure, report

SCENARIO = "4 worker memory"
TARGET_MB = 300.0
PROC = Path("/proc")


@dataclasses.dataclass(frozen=True)
class ProcessMemory:
    pid: int
    role: str  # "main" or "pool child"
    rss_mb: float
    peak_mb: float


def _status_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB (the kernel reports kB)."""
    fields: dict[str, float] = {}
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            fields[name] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def children_of(pid: int) -> list[int]:
    children = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        # "pid (comm) state ppid ...": comm may contain spaces, so split after its closing parenthesis.
        parent = int(stat.rpartition(")")[2].split()[1])
        if parent == pid:
            children.append(int(entry.name))
    return sorted(children)


def worker_memory(main_pid: int) -> list[ProcessMemory]:
    processes = [(main_pid, "main")] + [(child, "pool child") for child in children_of(main_pid)]
    measured = []
    for pid, role in processes:
        try:
            rss, peak = _status_mb(pid)
        except OSError:
            continue
        measured.append(ProcessMemory(pid, role, rss, peak))
    return measured


def measure(main_pid: int) -> list[Figure]:
    """Figures for the worker whose main process is `main_pid`: the largest RSS against the target."""
    processes = worker_memory(main_pid)
    for process in processes:
        report(f"worker {process.role} {process.pid}: RSS {process.rss_mb:.1f} MB (peak {process.peak_mb:.1f} MB)")
    if not processes:
        return [Figure(SCENARIO, "largest worker process RSS", None, "MB", target=f"<= {TARGET_MB:.0f} MB", met=False)]
    largest = max(process.rss_mb for process in processes)
    peak = max(process.peak_mb for process in processes)
    return [
        Figure(
            SCENARIO,
            "largest worker process RSS",
            largest,
            "MB",
            target=f"<= {TARGET_MB:.0f} MB",
            met=largest <= TARGET_MB,
        ),
        Figure(SCENARIO, "largest worker process peak RSS", peak, "MB"),
        Figure(SCENARIO, "worker processes (main + pool)", len(processes), "", digits=0),
        Figure(SCENARIO, "whole worker RSS (sum)", sum(process.rss_mb for process in processes), "MB"),
    ]
