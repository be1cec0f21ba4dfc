"""CPU load of *other* processes while a block of code runs.

Busy time of the machine comes from ``/proc/stat``; this process's own CPU time (all its threads)
comes from ``resource.getrusage``. Their difference, divided by the wall time of the block, is how
many cores something else kept busy: the number that explains a noisy latency measurement.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path
from types import TracebackType

PROC_STAT = "/proc/stat"

# /proc/stat columns: user nice system idle iowait irq softirq steal guest guest_nice.
# guest time is already counted in user; idle and iowait are not busy; steal is the hypervisor's.
_BUSY_COLUMNS = (0, 1, 2, 5, 6)
_STEAL_COLUMN = 7


def _read_proc_stat(path: str, cpus: set[int] | None) -> tuple[int, int] | None:
    """(busy ticks, steal ticks) summed over ``cpus`` (all CPUs when None); None when unreadable."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    busy = steal = 0
    seen = False
    for line in lines:
        if not line.startswith("cpu"):
            continue
        name, *fields = line.split()
        if cpus is None:
            if name != "cpu":
                continue
        elif name == "cpu" or int(name[3:]) not in cpus:
            continue
        values = [int(v) for v in fields]
        busy += sum(values[i] for i in _BUSY_COLUMNS if i < len(values))
        steal += values[_STEAL_COLUMN] if len(values) > _STEAL_COLUMN else 0
        seen = True
    return (busy, steal) if seen else None


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _usable_cpus() -> set[int] | None:
    # Only the CPUs this process may run on matter; on a big host the rest is someone else's problem.
    try:
        cpus = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return None
    return None if len(cpus) == (os.cpu_count() or 0) else set(cpus)


class CpuLoadMonitor:
    """Context manager; after exit ``other_cores`` holds the average number of cores other processes used.

    ``other_cores`` (and ``machine_cores``, ``own_cores``, ``steal_cores``) are None where ``/proc/stat``
    cannot be read (macOS, Windows, some sandboxes). Resolution is one clock tick (usually 10 ms) of
    busy time, so blocks shorter than ~0.5 s give coarse numbers.
    """

    def __init__(self, proc_stat: str = PROC_STAT) -> None:
        self.proc_stat = proc_stat
        self.other_cores: float | None = None
        self.machine_cores: float | None = None
        self.own_cores: float | None = None
        self.steal_cores: float | None = None
        self.wall_s: float = 0.0
        self._cpus = _usable_cpus()
        self._tick_s = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01

    def __enter__(self) -> CpuLoadMonitor:
        self._stat0 = _read_proc_stat(self.proc_stat, self._cpus)
        self._own0 = _own_cpu_seconds()
        self._t0 = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.wall_s = time.perf_counter() - self._t0
        own = _own_cpu_seconds() - self._own0
        stat1 = _read_proc_stat(self.proc_stat, self._cpus)
        if self._stat0 is None or stat1 is None or self.wall_s <= 0:
            return
        machine = (stat1[0] - self._stat0[0]) * self._tick_s
        self.machine_cores = machine / self.wall_s
        self.own_cores = own / self.wall_s
        self.steal_cores = (stat1[1] - self._stat0[1]) * self._tick_s / self.wall_s
        # Tick sampling vs. precise rusage can make the difference slightly negative.
        self.other_cores = max(0.0, (machine - own) / self.wall_s)
