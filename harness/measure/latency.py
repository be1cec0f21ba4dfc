"""Latency of a callable: warm-up, then at least N iterations and T seconds, with a noise check.

Each timed block records how much CPU other processes used while it ran. A block whose coefficient
of variation or other-process load is above its threshold is repeated; if every attempt is noisy,
the least disturbed one is reported with ``noisy=True`` and the reason.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from harness.measure.cpuload import CpuLoadMonitor


@dataclass
class LatencyStats:
    """Summary of one timed block; all times in milliseconds."""

    p50: float
    p90: float
    p99: float
    mean: float
    std: float
    cv: float
    min: float
    max: float
    n: int
    total_s: float
    batch_size: int = 1
    seq_len: int = 0
    threads: int = 1
    other_load_cores: float | None = None
    attempts: int = 1
    noisy: bool = False
    noise_reason: str | None = None

    def to_dict(self) -> dict:
        """Plain JSON-serialisable dict of every field."""
        return asdict(self)


def _time_block(fn: Callable[[], object], min_iterations: int, min_seconds: float) -> tuple[np.ndarray, float]:
    """Per-call durations in ns and the block's wall time in s."""
    min_ns = int(min_seconds * 1e9)
    durations: list[int] = []
    append = durations.append
    clock = time.perf_counter_ns
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # as timeit does: a collection pause is not the model's latency
    try:
        start = clock()
        end = start
        while len(durations) < min_iterations or end - start < min_ns:
            t0 = clock()
            fn()
            end = clock()
            append(end - t0)
    finally:
        if gc_was_enabled:
            gc.enable()
    return np.asarray(durations, dtype=np.float64), (end - start) / 1e9


def _summarise(durations_ns: np.ndarray, total_s: float) -> dict:
    ms = durations_ns / 1e6
    p50, p90, p99 = np.percentile(ms, [50, 90, 99], method="linear")
    mean = float(ms.mean())
    std = float(ms.std(ddof=1)) if ms.size > 1 else 0.0
    return {
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "mean": mean,
        "std": std,
        "cv": std / mean if mean > 0 else 0.0,
        "min": float(ms.min()),
        "max": float(ms.max()),
        "n": int(ms.size),
        "total_s": total_s,
    }


def _noise_reason(cv: float, other: float | None, max_cv: float | None, max_other: float | None) -> str | None:
    reasons = []
    if max_cv is not None and cv > max_cv:
        reasons.append(f"cv {cv:.3f} > {max_cv}")
    if max_other is not None and other is not None and other > max_other:
        reasons.append(f"other-process load {other:.2f} cores > {max_other}")
    return "; ".join(reasons) or None


def measure_latency(
    fn: Callable[[], object],
    *,
    warmup: int = 5,
    min_iterations: int = 20,
    min_seconds: float = 1.0,
    max_cv: float | None = 0.15,
    max_other_load: float | None = 0.25,
    retries: int = 2,
    batch_size: int = 1,
    seq_len: int = 0,
    threads: int = 1,
) -> LatencyStats:
    """Time ``fn()`` after ``warmup`` calls, over at least ``min_iterations`` calls and ``min_seconds``.

    A block with CV above ``max_cv`` or other-process load above ``max_other_load`` cores is repeated up
    to ``retries`` times (None disables a check). When all attempts are noisy, the attempt with the lowest
    other-process load (then lowest CV) is returned with ``noisy=True``. ``batch_size``, ``seq_len`` and
    ``threads`` are only recorded.
    """
    if min_iterations < 1:
        raise ValueError("min_iterations must be >= 1")
    for _ in range(warmup):
        fn()
    best: tuple[tuple[float, float], dict, float | None, str] | None = None
    attempts = 0
    for attempts in range(1, max(0, retries) + 2):
        with CpuLoadMonitor() as monitor:
            durations, total_s = _time_block(fn, min_iterations, min_seconds)
        summary = _summarise(durations, total_s)
        other = monitor.other_cores
        reason = _noise_reason(summary["cv"], other, max_cv, max_other_load)
        if reason is None:
            return LatencyStats(
                **summary, batch_size=batch_size, seq_len=seq_len, threads=threads,
                other_load_cores=other, attempts=attempts,
            )
        key = (other if other is not None else math.inf, summary["cv"])
        if best is None or key < best[0]:
            best = (key, summary, other, reason)
    assert best is not None
    _, summary, other, reason = best
    return LatencyStats(
        **summary, batch_size=batch_size, seq_len=seq_len, threads=threads, other_load_cores=other,
        attempts=attempts, noisy=True, noise_reason=f"{reason} (after {attempts} attempt{'s' if attempts > 1 else ''})",
    )
