"""Peak memory: resident set size sampled in a background thread, and CUDA peak allocation."""

from __future__ import annotations

import os
import sys
import threading
from types import TracebackType

import psutil

_MB = 1024 * 1024


class PeakRSSSampler:
    """Context manager sampling the RSS of ``pid`` (default: this process) every ``interval_s`` seconds.

    ``baseline_mb`` is the RSS at entry, ``peak_mb`` the highest RSS seen (entry and exit included),
    ``peak_above_baseline_mb`` their difference. Allocations that live for less than one interval
    can be missed; that is the price of a cheap sampler.
    """

    def __init__(self, pid: int | None = None, interval_s: float = 0.01) -> None:
        self.process = psutil.Process(pid if pid is not None else os.getpid())
        self.interval_s = interval_s
        self.baseline_mb: float = 0.0
        self.peak_mb: float = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def peak_above_baseline_mb(self) -> float:
        """Peak RSS minus the RSS at entry, in MB (never negative)."""
        return max(0.0, self.peak_mb - self.baseline_mb)

    def _sample(self) -> None:
        try:
            rss = self.process.memory_info().rss / _MB
        except psutil.Error:  # the process is gone
            self._stop.set()
            return
        self.samples += 1
        if rss > self.peak_mb:
            self.peak_mb = rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> PeakRSSSampler:
        self.baseline_mb = self.process.memory_info().rss / _MB
        self.peak_mb = self.baseline_mb
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="peak-rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()


def cuda_peak_mb() -> float | None:
    """``torch.cuda.max_memory_allocated()`` in MB, or None.

    None unless torch is already imported (it is never imported just for this), CUDA is available and
    torch has initialised it: asking an uninitialised CUDA would create a context only to report 0.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if not (torch.cuda.is_available() and torch.cuda.is_initialized()):
            return None
        return torch.cuda.max_memory_allocated() / _MB
    except Exception:  # a broken CUDA set-up must not break a CPU measurement
        return None
