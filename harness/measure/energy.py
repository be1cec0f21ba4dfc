"""Optional energy estimate of a training run through codecarbon's offline tracker.

The figure is an *estimate*: without RAPL or NVML access (as in most VMs) codecarbon models the
power draw from the CPU's TDP and the utilisation it observes. It is recorded as such.
"""

from __future__ import annotations

import logging
import tempfile
from types import TracebackType

from tasks.errors import ReusebenchError


class EnergyTracker:
    """Context manager; ``energy_kwh`` holds codecarbon's estimate after exit (None when disabled)."""

    def __init__(self, enabled: bool, country_iso_code: str = "USA") -> None:
        self.enabled = enabled
        self.country_iso_code = country_iso_code
        self.energy_kwh: float | None = None
        self._tracker = None

    def __enter__(self) -> EnergyTracker:
        if not self.enabled:
            return self
        try:
            from codecarbon import OfflineEmissionsTracker
        except ImportError:
            raise ReusebenchError("--energy needs codecarbon: pip install 'reusebench[energy]'") from None
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        self._tracker = OfflineEmissionsTracker(
            country_iso_code=self.country_iso_code,
            output_dir=tempfile.mkdtemp(prefix="reusebench-codecarbon-"),
            save_to_file=False,
            log_level="error",
        )
        self._tracker.start()
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._tracker is None:
            return
        self._tracker.stop()
        data = getattr(self._tracker, "final_emissions_data", None)
        self.energy_kwh = float(data.energy_consumed) if data is not None else None
