"""The per-stage profile of a run as ``results.json`` holds it (``RunResults.profile``; :mod:`harness.profile`
builds it)."""

from __future__ import annotations

from pydantic import Field

from harness.result_base import OpenModel


class PeakInfo(OpenModel):
    """This machine's fp32 matmul peak as the run measured it (:class:`harness.peak.PeakMeasurement`)."""

    flops_per_s: float
    method: str
    threads: int
    cpu: str
    measured_at: str


class ProfileRow(OpenModel):
    """One stage node of a unit as it ran (computed) or was read from the stage cache (``cached``)."""

    task: str
    teacher: str | None = None
    stage: str
    model: str
    format: str | None = None
    cached: bool
    wall_s: float
    #: CPU seconds of the run's process and its finished children (measurement workers) during the node
    cpu_s: float
    #: training nodes that were computed: their ``train_cost`` tokens and FLOPs over its wall time
    tokens_per_s: float | None = None
    flops_per_s: float | None = None
    #: ``flops_per_s`` as a fraction of the peak (``RunProfile.peak``, measured where the unit ran)
    peak_fraction: float | None = None


class RunProfile(OpenModel):
    """Where a run's time went, per stage node (:mod:`harness.profile`), with the peak it is compared with."""

    peak: PeakInfo | None = None
    rows: list[ProfileRow] = Field(default_factory=list)
