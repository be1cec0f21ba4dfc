"""Where a run's time goes: wall and CPU seconds of every stage node, and how close training came to the peak.

A :class:`StageProfiler` watches a unit's graph walk like :class:`harness.progress.StageProgress` does
(:class:`ObserverGroup` shows the walk to both). For each node computed or read from the stage cache it keeps
the task, stage, model, format, whether it was cached, its wall seconds and the CPU seconds of this process and
its finished children (``getrusage``, plus the measurement processes forked for it); for a computed training node
(a result with a ``train_cost``) also tokens/s, achieved FLOP/s and their fraction of this machine's fp32 matmul
peak (:mod:`harness.peak`). The rows leave a unit on its first record under :data:`PROFILE_KEY` (so they
travel from Ray workers too); the runner collects them into ``RunResults.profile`` and logs a table to run.log.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from harness.peak import PeakMeasurement
from harness.results import PeakInfo, ProfileRow, Record, RunProfile

log = logging.getLogger("reusebench")

#: The extra key of a unit's first record that carries the unit's profile rows out of the unit.
PROFILE_KEY = "stage_profile"


def process_cpu_s() -> float:
    """User + system CPU seconds of this process, of its children that have been waited for, and of the
    measurement processes its fork servers have run (:func:`harness.measure.forkserver.forked_cpu_s`)."""
    from harness.measure.forkserver import forked_cpu_s

    total = forked_cpu_s()
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class ObserverGroup:
    """Several graph observers (:class:`harness.graph.GraphObserver`) shown the same walk, in order."""

    def __init__(self, *observers: Any) -> None:
        self.observers = [o for o in observers if o is not None]

    def observe(self, graph: Any) -> None:
        for observer in self.observers:
            observer.observe(graph)

    @contextmanager
    def running(self, node: Any, cached: bool) -> Iterator[None]:
        with ExitStack() as stack:
            for observer in self.observers:
                stack.enter_context(observer.running(node, cached))
            yield


def training_throughput(train_cost: Any, peak_flops: float | None) -> tuple[float | None, float | None, float | None]:
    """(tokens/s, FLOP/s, fraction of ``peak_flops``) of a training's cost; None where it cannot say."""
    wall = getattr(train_cost, "wall_s", None)
    if train_cost is None or not wall or wall <= 0:
        return None, None, None
    tokens = getattr(train_cost, "tokens", None)
    flops = getattr(train_cost, "flops", None)
    tokens_per_s = float(tokens) / wall if tokens is not None else None
    flops_per_s = float(flops) / wall if flops is not None else None
    fraction = flops_per_s / peak_flops if flops_per_s is not None and peak_flops and peak_flops > 0 else None
    return tokens_per_s, flops_per_s, fraction


class StageProfiler:
    """Profile rows of one unit's graph walk. ``peak`` is what training FLOP/s are compared with (None: no
    fraction). Rows are made by :meth:`rows` once the walk is over (a computed node's result is in place only
    after its ``running`` block)."""

    def __init__(self, task: str, teacher: str | None = None, peak: PeakMeasurement | None = None,
                 handed: dict[str, dict[str, Any]] | None = None) -> None:
        self.task = task
        self.teacher = teacher
        self.peak = peak
        #: profile rows (JSON) of the nodes this run's training pass trained, by node key
        self.handed = handed or {}
        self._seen: list[tuple[Any, bool, float, float]] = []

    def observe(self, graph: Any) -> None:
        """Nothing to take before the walk: each node is timed as it runs."""

    @contextmanager
    def running(self, node: Any, cached: bool) -> Iterator[None]:
        wall0, cpu0 = time.perf_counter(), process_cpu_s()
        try:
            yield
        finally:
            wall = max(0.0, time.perf_counter() - wall0)
            cpu = max(0.0, process_cpu_s() - cpu0)
            self._seen.append((node, cached, wall, cpu))

    def rows(self) -> list[ProfileRow]:
        """One row per node seen, in the order they ran. A node read back from the cache that this run's
        training pass trained (its key in ``handed``) gets the row the lane made while training it."""
        return [row for _, row in self.node_rows()]

    def node_rows(self) -> list[tuple[Any, ProfileRow]]:
        """Each node seen with its row, in the order they ran."""
        peak_flops = self.peak.flops_per_s if self.peak is not None else None
        pairs = []
        for node, cached, wall, cpu in self._seen:
            handed = self.handed.get(str(node.key)) if cached else None
            if handed is not None:
                pairs.append((node, ProfileRow.model_validate(handed)))
                continue
            params = getattr(node, "params", None) or {}
            fmt = params.get("fmt")
            row = ProfileRow(
                task=self.task,
                teacher=self.teacher,
                stage=node.stage.name,
                model=str(node.subject),
                format=str(fmt) if fmt is not None else None,
                cached=cached,
                wall_s=round(wall, 4),
                cpu_s=round(cpu, 4),
            )
            cost = getattr(node.result, "train_cost", None)
            if not cached and cost is not None:
                tokens_per_s, flops_per_s, fraction = training_throughput(cost, peak_flops)
                row.tokens_per_s = tokens_per_s
                row.flops_per_s = flops_per_s
                row.peak_fraction = fraction
            pairs.append((node, row))
        return pairs

    def attach(self, records: list[Record]) -> None:
        """Put the rows on the unit's first record (:data:`PROFILE_KEY`); a unit without records keeps none."""
        if records:
            setattr(records[0], PROFILE_KEY, [row.model_dump(mode="json") for row in self.rows()])


def collect_profile(results: Any, records: Iterable[Record], peak: PeakMeasurement | None) -> None:
    """Move the profile rows a unit attached to its records into ``results.profile``."""
    rows: list[ProfileRow] = []
    for record in records:
        extra = record.model_extra or {}
        if PROFILE_KEY in extra:
            rows.extend(ProfileRow.model_validate(row) for row in extra.pop(PROFILE_KEY) or [])
    if results.profile is None:
        # assigned, not updated in place: a field the run sets is written to results.json
        results.profile = RunProfile(peak=PeakInfo(**peak.to_dict()) if peak is not None else None, rows=[])
    if rows:
        results.profile = RunProfile(peak=results.profile.peak, rows=[*results.profile.rows, *rows])


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.1f}{unit}"
    return f"{value:.0f}"


def profile_lines(profile: RunProfile) -> list[str]:
    """The profile as a compact text table: one line per node, a total per task, then the peak."""
    header = ("task", "stage", "model", "format", "wall s", "cpu s", "tok/s", "% peak")
    table: list[Sequence[str]] = [header]
    totals: dict[str, list[float]] = {}
    for row in profile.rows:
        task = row.task if not row.teacher else f"{row.task} · {row.teacher}"
        subject = row.model + (" (cached)" if row.cached else f" (lane {row.lane})" if row.lane else "")
        fraction = _num(100 * row.peak_fraction) if row.peak_fraction is not None else "-"
        table.append((task, row.stage, subject, row.format or "-", _num(row.wall_s), _num(row.cpu_s),
                      _rate(row.tokens_per_s), fraction))
        total = totals.setdefault(task, [0.0, 0.0])
        total[0] += row.wall_s
        total[1] += row.cpu_s
    for task, (wall, cpu) in totals.items():
        table.append((task, "total", "", "", _num(wall), _num(cpu), "", ""))
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    numeric = {4, 5, 6, 7}
    lines = [
        "  ".join(
            cell.rjust(w) if i in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in table
    ]
    passed = profile.training_pass
    if passed is not None:
        jobs = f" as {passed.jobs} jobs" if passed.jobs is not None else ""
        lines.append(f"training pass: {passed.units} unit(s){jobs} in {passed.lanes} lanes of {passed.threads_per_lane} "
                     f"thread(s), {passed.wall_s:.1f} s wall (the lanes' rows ran side by side; each lane's % peak "
                     "is of the peak at its thread count)")
    peak = profile.peak
    if peak is not None:
        lines.append(f"peak: {peak.flops_per_s / 1e9:.1f} GFLOP/s fp32 matmul ({peak.method}; {peak.cpu}, "
                     f"{peak.threads} thread(s), {peak.measured_at})")
    else:
        lines.append("peak: not measured (no % of peak)")
    return lines


def log_profile(profile: RunProfile | None) -> None:
    """Log the profile table (to stderr unless --quiet, and run.log)."""
    if profile is None or not profile.rows:
        return
    log.info("stage profile:")
    for line in profile_lines(profile):
        log.info("  %s", line)
