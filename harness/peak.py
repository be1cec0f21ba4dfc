"""This machine's fp32 matmul peak, measured once in a second or two and kept per machine.

The peak is what the per-stage profile (:mod:`harness.profile`) compares a training's achieved FLOP/s with,
and what ``--dry-run``'s estimates assume a fraction of (:mod:`harness.estimate`). It is measured with square
fp32 ``torch.matmul`` calls (best of a few repetitions, at the training thread count) and cached as JSON under
``$REUSEBENCH_MACHINE_CACHE``, else ``$XDG_CACHE_HOME/reusebench-machine``, else ``~/.cache/reusebench-machine``
(not in the stage cache: that folder holds only what reusebench's stage cache writes), keyed by CPU model,
thread count and torch version. ``REUSEBENCH_PEAK_FLOPS`` (FLOP/s) overrides the measurement.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

log = logging.getLogger("reusebench")

#: FLOP/s that replaces the measurement (tests set it; so can a user who knows the peak).
PEAK_ENV = "REUSEBENCH_PEAK_FLOPS"
#: The folder of per-machine caches (the peak), instead of ``$XDG_CACHE_HOME/reusebench-machine``.
MACHINE_CACHE_ENV = "REUSEBENCH_MACHINE_CACHE"
PEAK_FILE = "peak-flops.json"
#: The matmul size and repetitions of a measurement: about 17 GFLOP a call, a second or two on 2 cores.
PEAK_SIZE = 2048
PEAK_REPS = 3
#: A measurement stops repeating once it has spent this long (a slow machine still measures in seconds).
PEAK_BUDGET_S = 2.0


@dataclass(frozen=True)
class PeakMeasurement:
    """The fp32 matmul peak of this machine and how it was obtained."""

    flops_per_s: float
    method: str
    threads: int
    cpu: str
    measured_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_MEMO: dict[tuple[str, str], PeakMeasurement] = {}


def machine_cache_dir() -> Path:
    """``$REUSEBENCH_MACHINE_CACHE``, else ``$XDG_CACHE_HOME/reusebench-machine``, else ``~/.cache/reusebench-machine``."""
    if os.environ.get(MACHINE_CACHE_ENV):
        return Path(os.environ[MACHINE_CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reusebench-machine"


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what :mod:`platform` says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name") and ":" in line:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def peak_key(cpu: str, threads: int, torch_version: str) -> str:
    """The cache key of a measurement: what changes the peak."""
    return f"{cpu} | threads={threads} | torch={torch_version}"


def measure_matmul(size: int = PEAK_SIZE, reps: int = PEAK_REPS, threads: int | None = None,
                   budget_s: float = PEAK_BUDGET_S) -> float:
    """FLOP/s of the fastest of ``reps`` fp32 ``size``×``size`` matmuls (2·n³ FLOPs each) at ``threads``
    threads (the training thread count by default), after one warm-up call."""
    import torch

    from harness.train import training_threads

    threads = threads or training_threads()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            a = torch.randn(size, size, dtype=torch.float32)
            b = torch.randn(size, size, dtype=torch.float32)
            torch.matmul(a, b)  # warm-up: thread pool, allocator
            best = float("inf")
            started = time.perf_counter()
            for _ in range(max(1, reps)):
                t0 = time.perf_counter()
                torch.matmul(a, b)
                best = min(best, time.perf_counter() - t0)
                if time.perf_counter() - started > budget_s:
                    break
    finally:
        torch.set_num_threads(before)
    return 2.0 * size**3 / max(best, 1e-9)


def matmul_peak_flops(*, cache_dir: Path | None = None, size: int = PEAK_SIZE, reps: int = PEAK_REPS,
                      refresh: bool = False, threads: int | None = None) -> PeakMeasurement:
    """This machine's fp32 matmul peak at ``threads`` threads (default: the training thread count):
    ``REUSEBENCH_PEAK_FLOPS`` when set, else the cached measurement for this CPU, thread count and torch
    version, else a fresh measurement (then cached). Raises when it cannot measure (see :func:`peak_or_none`)."""
    import torch

    from harness.train import training_threads

    threads = threads or training_threads()
    cpu = cpu_model()
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    override = os.environ.get(PEAK_ENV)
    if override:
        value = float(override)
        if not value > 0 or value == float("inf"):
            raise ValueError(f"{PEAK_ENV}: must be a positive number of FLOP/s, got {override!r}")
        return PeakMeasurement(value, f"set by {PEAK_ENV}", threads, cpu, now)
    folder = Path(cache_dir) if cache_dir is not None else machine_cache_dir()
    key = peak_key(cpu, threads, str(torch.__version__))
    memo_key = (str(folder), key)
    if not refresh and memo_key in _MEMO:
        return _MEMO[memo_key]
    path = folder / PEAK_FILE
    stored = _read_cache(path)
    if not refresh and isinstance(stored.get(key), dict):
        try:
            measurement = PeakMeasurement(**stored[key])
            if measurement.flops_per_s > 0:
                _MEMO[memo_key] = measurement
                return measurement
        except TypeError:
            pass  # an entry of another shape: measure again
    flops = measure_matmul(size, reps, threads)
    measurement = PeakMeasurement(
        flops, f"torch.matmul fp32 {size}x{size}, best of {reps}, {threads} thread(s)", threads, cpu, now
    )
    _MEMO[memo_key] = measurement
    try:
        from harness.cache_files import write_small_file_atomic

        folder.mkdir(parents=True, exist_ok=True)
        write_small_file_atomic(path, json.dumps({**stored, key: measurement.to_dict()}, indent=1) + "\n")
    except OSError as exc:  # a read-only home still measures, every time
        log.debug("cannot cache the matmul peak in %s: %s", path, exc)
    return measurement


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


_FAILED: list[str] = []


def peak_or_none(threads: int | None = None) -> PeakMeasurement | None:
    """:func:`matmul_peak_flops` at ``threads`` threads, or None (warned once) when it cannot be measured: a
    peak is a courtesy."""
    try:
        return matmul_peak_flops(threads=threads)
    except Exception as exc:
        if not _FAILED:
            _FAILED.append(str(exc))
            log.warning("cannot measure this machine's matmul peak (%s); estimates use the reference CPU's", exc)
        return None
