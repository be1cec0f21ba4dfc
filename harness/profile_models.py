"""The per-stage profile of a run as ``results.json`` holds it (``RunResults.profile``; :mod:`harness.profile`
builds it)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from harness.result_base import OpenModel, without_unset


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
    #: ``flops_per_s`` as a fraction of the peak (``RunProfile.peak``, measured where the unit ran; for a node
    #: trained in a lane of the training pass, the peak at the lane's thread count)
    peak_fraction: float | None = None
    #: the lane of the training pass (:mod:`harness.training_pass`) that trained the node, and its threads
    lane: int | None = None
    threads: int | None = None


class TrainingPassInfo(OpenModel):
    """The training pass of a run: how many lanes (worker processes, one CPU each) and how long it took."""

    lanes: int
    threads_per_lane: int
    wall_s: float
    units: int
    #: the lane tasks the units' work was split into (a teacher's chain, each adapted model); None before jobs
    jobs: int | None = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return without_unset(self, handler(self), frozenset({"jobs"}))  # files from before jobs stay as written


class RunProfile(OpenModel):
    """Where a run's time went, per stage node (:mod:`harness.profile`), with the peak it is compared with."""

    peak: PeakInfo | None = None
    rows: list[ProfileRow] = Field(default_factory=list)
    #: the training pass, when the run had one (:mod:`harness.training_pass`): its lanes and wall seconds. The
    #: lanes ran side by side, so the wall seconds of their rows add up to more than this.
    training_pass: TrainingPassInfo | None = None
