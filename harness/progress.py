"""A run's progress on stderr: one line per stage, with the time elapsed and an estimate of what remains.

The estimates are the stage graph's own (:meth:`harness.graph.Stage.estimate_s`, :mod:`harness.estimate`: what
``--dry-run`` shows, for the reference 2-core CPU). Once a stage has been computed, what remains is scaled by how
long the computed stages took against their estimates, so the figure adapts to the machine. Lines go to the
``reusebench`` logger: stderr unless ``--quiet``, and ``run.log``; never stdout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from harness.stages import LANE_STAGES

log = logging.getLogger("reusebench")

#: Seconds of estimated work the pace gives the estimates before it trusts the measured pace (see Pace.remaining).
PACE_PRIOR_S = 30.0


def clock(seconds: float) -> str:
    """``0:07``, ``12:03``, ``1:02:03``: a duration as a clock reading."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def node_estimate(unit: Any, node: Any) -> float:
    """The node's estimated seconds (0 when the stage cannot say: an estimate never fails a run)."""
    try:
        return max(0.0, float(node.stage.estimate_s(unit, node)))
    except Exception:  # an estimate is a courtesy
        return 0.0


def unit_estimate(unit: Any, done_stages: frozenset[str] = frozenset()) -> float:
    """Estimated seconds of every stage of a prepared unit, as if none were cached, less ``done_stages``."""
    try:
        graph = unit.build_graph()
    except Exception:  # the run itself reports a graph that cannot be built
        return 0.0
    return sum(node_estimate(unit, node) for node in graph.nodes if node.stage.name not in done_stages)


class Pace:
    """Elapsed time and what remains: estimates scaled by the ratio of measured to estimated seconds so far."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.measured = 0.0
        self.estimated = 0.0

    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.perf_counter() - self.start

    def done(self, measured_s: float, estimated_s: float) -> None:
        """A part that was estimated at ``estimated_s`` took ``measured_s``."""
        if estimated_s > 0:
            self.measured += measured_s
            self.estimated += estimated_s

    def remaining(self, estimated_s: float) -> float:
        """What ``estimated_s`` of estimated work will take at the pace so far. The pace starts at the estimates'
        own and moves to the measured one as measured time accumulates (:data:`PACE_PRIOR_S` of prior weight),
        so a stage estimated at a millisecond that took a second does not make the rest look a thousand times
        longer."""
        factor = (self.measured + PACE_PRIOR_S) / (self.estimated + PACE_PRIOR_S)
        return estimated_s * factor

    def text(self, estimated_left_s: float) -> str:
        """``0:42 elapsed, ~1:10 left``."""
        return f"{clock(self.elapsed())} elapsed, ~{clock(self.remaining(estimated_left_s))} left"


class StageProgress:
    """The stages of one unit, logged as they start: ``[task] stage 3/9 distill layers=3: 0:42 elapsed, ~1:10
    left``. A stage read from the cache says so."""

    def __init__(self, unit: Any) -> None:
        self.unit = unit
        teachers = unit.options.teacher_names()
        self.label = unit.spec.name if len(teachers) <= 1 else f"{unit.spec.name} · {unit.teacher_name}"
        self.pace = Pace()
        self.estimates: list[float] = []
        self.index: dict[int, int] = {}

    def observe(self, graph: Any) -> None:
        """Take the estimates of every node of ``graph`` before it is walked (:func:`harness.graph.run_graph`)."""
        # Nodes the training pass made are read back in no time: nothing of theirs is left to wait for.
        done = LANE_STAGES if getattr(self.unit, "handed", None) else frozenset()
        self.estimates = [0.0 if node.stage.name in done else node_estimate(self.unit, node) for node in graph.nodes]
        self.index = {id(node): i for i, node in enumerate(graph.nodes)}

    @contextmanager
    def running(self, node: Any, cached: bool) -> Iterator[None]:
        """Log the node's start, and account for its time once it is done."""
        i = self.index.get(id(node), 0)
        left = sum(self.estimates[i:])
        how = " (cached)" if cached else ""
        if cached and str(node.key) in (getattr(self.unit, "handed", None) or {}):
            how = " (made in the training pass)"
        log.info("[%s] stage %d/%d %s %s%s: %s", self.label, i + 1, len(self.estimates), node.stage.name,
                 node.subject, how, self.pace.text(left))
        started = time.perf_counter()
        yield
        if not cached and i < len(self.estimates):
            self.pace.done(time.perf_counter() - started, self.estimates[i])


class RunProgress:
    """The units of a run: a header with the run's estimate, then a line as each unit finishes."""

    def __init__(self, label: str, units: Sequence[Any]) -> None:
        self.label = label
        self.estimates = [unit_estimate(unit) for unit in units]
        self.pace = Pace()
        self.finished = 0
        self._last = 0.0

    def header(self, units: Sequence[Any], total: float, how: str = "") -> None:
        """``running suite quick: 3 units (tasks × teachers), estimated ~6:40 on the reference CPU``: ``total``
        seconds, reckoned as ``how`` says (:func:`harness.training_pass.run_estimate`)."""
        tasks = len({unit.spec.name for unit in units})
        teachers = len({unit.teacher_name for unit in units})
        log.info("running %s: %d task(s) × %d teacher(s) = %d unit(s), estimated ~%s on the reference 2-core CPU%s "
                 "(cached stages take less)", self.label, tasks, teachers, len(units), clock(total), how)

    def training_pass_done(self, units: Sequence[Any], lane_stages: frozenset[str]) -> None:
        """The training pass (:mod:`harness.training_pass`) made the ``lane_stages`` nodes of every unit it was
        handed: what remains of those units is the rest, and the pass's time is not the pace of units."""
        self.estimates = [unit_estimate(unit, lane_stages if unit.handed else frozenset()) for unit in units]
        self._last = self.pace.elapsed()

    def unit_done(self, name: str) -> None:
        """Log that one more unit finished (units finish in any order under Ray: the pace is the mean)."""
        now = self.pace.elapsed()
        if self.finished < len(self.estimates):
            self.pace.done(now - self._last, self.estimates[self.finished])
        self._last = now
        self.finished += 1
        left = sum(self.estimates[self.finished:])
        log.info("[%s] done (%d/%d units): %s", name, self.finished, len(self.estimates), self.pace.text(left))
