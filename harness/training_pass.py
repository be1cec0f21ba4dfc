"""The training pass: train every unit's models before anything is measured, several units at a time.

On a small CPU machine one training that uses every core reaches only 30-50 % of the matmul peak (small
batches of short texts: much of a step is not one large matmul), while two single-thread trainings side by side
get 1.30x the throughput of one two-thread training (measured on a 2-core AMD EPYC,
``bench/results/experiments/time-budget-2026-12-02``). So a local run whose units have models to train first
trains them in *lanes*: one spawned worker process per CPU, pinned to that CPU with one torch thread, taking
*jobs* largest first (by their estimated training and export seconds): a unit's teacher chain (fine-tuning,
distillation, their exports), and each of its adapted models with its export. A lane trains the unit's models and
makes their exports (ONNX and int8 files: artefacts, not measurements); each is written to the stage cache as
usual (with ``--no-cache``, the run's own scratch cache), and the serial pass that follows (evaluations and
every latency and memory measurement, alone on the machine as before) reads it back: the node is credited to
the training pass (its profile row is the lane's, its progress line says so), never called cached.

Keys, builds, ``--force`` and resumption work as without lanes: a lane writes complete cache entries or none.
A unit whose training or export fails in a lane is trained and exported again by the serial pass, which records or reports the failure
exactly as a run without lanes would.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.stages import LANE_STAGES, TRAINING_STAGES

if TYPE_CHECKING:
    from harness.options import RunOptions
    from harness.profile_models import TrainingPassInfo
    from harness.unit import TaskUnit

log = logging.getLogger("reusebench")

#: Torch threads per lane: the measured gain is for one thread per core.
THREADS_PER_LANE = 1
#: a one-thread lane's speed against the stage estimates (6·N·D at 70 % of the two-thread peak). Measured on
#: the quick suite (2-core Xeon, 2026-12-03): training stages estimated at 171 s took 513 s in two one-thread lanes side
#: by side, so each lane ran at 0.33 of the estimate's rate: half the threads, and these small models' steps
#: (short sequences, small batches, attention and optimizer work that 6·N·D leaves out) reach less of the peak
LANE_SPEED = 0.33
#: Set in a lane process: its number (1, 2, ...).
LANE_ENV = "REUSEBENCH_LANE"


def available_cpus() -> list[int]:
    """The CPUs this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux: no pinning, but lanes still run
        return list(range(os.cpu_count() or 1))


@dataclass
class LaneJob:
    """One lane task: some of a unit's lane nodes (by their index in its stage graph), with their estimated lane
    seconds (training at :data:`LANE_SPEED`, exports as estimated)."""

    unit: TaskUnit
    nodes: tuple[int, ...]
    seconds: float


def _lane_seconds(row: dict[str, Any]) -> float:
    # exports' estimates are lane seconds already (measured in lanes); training's are at two threads
    return row["estimate_s"] / (LANE_SPEED if row["stage"] in TRAINING_STAGES else 1.0)


def lane_jobs(unit: TaskUnit) -> list[LaneJob]:
    """The unit's lane work not in the stage cache, as jobs that need nothing from each other: the teacher's
    chain (its fine-tuning, the distillations from it, their exports) and each adapted model (probe, LoRA)
    with its export, so that lanes can share one unit's work. A job with nothing to train is left out (its
    exports alone are not worth a lane's start-up: the serial pass makes them)."""
    rows = unit.plan()  # one row per node of the unit's graph, in its order
    nodes = unit.build_graph().nodes
    index = {id(node): i for i, node in enumerate(nodes)}
    group_of: dict[int, int] = {}
    groups: dict[int, list[int]] = {}
    for i, node in enumerate(nodes):
        if node.stage.name not in LANE_STAGES:
            continue
        if node.stage.name == "adapt":
            group = i
        elif "model" in node.inputs:  # an export: with the model it exports
            group = group_of.get(index[id(node.inputs["model"])], -1)
        else:  # the teacher's fine-tuning and the students distilled from it
            group = -1
        group_of[i] = group
        groups.setdefault(group, []).append(i)
    jobs = []
    for members in groups.values():
        todo = [rows[i] for i in members if not rows[i]["cached"]]
        if any(row["stage"] in TRAINING_STAGES for row in todo):
            jobs.append(LaneJob(unit, tuple(members), sum(_lane_seconds(row) for row in todo)))
    return jobs


def planned_pass(units: list[TaskUnit]) -> tuple[list[LaneJob], int]:
    """The jobs the training pass takes (:func:`lane_jobs` of every unit), largest first, and its lane count;
    ``([], 1)`` when there is no pass (fewer than two jobs, or one lane)."""
    jobs = sorted((job for unit in units for job in lane_jobs(unit)), key=lambda job: -job.seconds)
    if not jobs:
        return [], 1
    lanes = lane_count(jobs[0].unit.options, len(jobs))
    return (jobs, lanes) if lanes >= 2 else ([], 1)


def pass_estimate_s(jobs: list[LaneJob], lanes: int) -> float:
    """Estimated wall seconds of a training pass over ``jobs`` (largest first) in ``lanes``: each job on the
    lane that frees first (as the pool hands them out)."""
    finish = [0.0] * max(lanes, 1)
    for job in jobs:
        lane = finish.index(min(finish))
        finish[lane] += job.seconds
    return max(finish)


def run_estimate(units: list[TaskUnit], lane_plan: tuple[list[LaneJob], int] = ([], 1)) -> tuple[float, str]:
    """Estimated wall seconds of what a run over ``units`` has not cached, and how they were reckoned. With a
    training pass (``lane_plan``: its jobs and lanes, :func:`planned_pass`) it is the pass plus what the serial
    pass has left; else the sum of the stages' estimates."""
    from harness.progress import clock

    jobs, lanes = lane_plan
    in_pass = {(id(job.unit), i) for job in jobs for i in job.nodes} if lanes >= 2 else set()
    pass_s = pass_estimate_s(jobs, lanes) if in_pass else 0.0
    rest = sum(row["estimate_s"] for unit in units for i, row in enumerate(unit.plan())
               if not row["cached"] and (id(unit), i) not in in_pass)
    how = f", of which a training pass in {lanes} lanes ~{clock(pass_s)}" if in_pass else ""
    return pass_s + rest, how


def lane_count(options: RunOptions, pending: int) -> int:
    """How many lanes the training pass gets: ``--training-lanes`` when given, else one per CPU (at most one
    per unit with something to train) for a local CPU run that left the thread count to reusebench. 1 or
    less: no training pass."""
    if options.executor != "local":  # Ray places units on its own workers
        return 1
    if options.training_lanes is not None:
        return min(options.training_lanes, pending)
    if options.device != "cpu" or options.threads is not None:
        return 1
    return min(len(available_cpus()), pending)


def die_with_parent() -> bool:
    """Have the kernel end this process when the process that started it ends (Linux ``PR_SET_PDEATHSIG``):
    a run killed by a signal that it cannot clean up after (SIGTERM, SIGKILL) must not leave its lanes training
    on the machine, unseen, beside the next run's measurements. Returns whether it could (False elsewhere)."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, signal.SIGTERM, 0, 0, 0) == 0  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def _start_lane(cpus: Any, records: Any) -> None:
    """Initialiser of a lane process: end with the run, take a CPU, one torch thread, and send log records to
    the run."""
    import torch

    die_with_parent()
    lane, cpu = cpus.get()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    torch.set_num_threads(THREADS_PER_LANE)
    logger = logging.getLogger("reusebench")
    logger.handlers[:] = [logging.handlers.QueueHandler(records)]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    os.environ[LANE_ENV] = str(lane)


def _train_job(unit_args: tuple[Any, ...], unit_class: type, lane_peak: Any,
               nodes: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    """Body of one lane task: rebuild the unit, walk the job's ``nodes`` (indices in its stage graph), return
    each computed node's profile row (JSON) by node key."""
    from harness.graph import Graph, run_graph
    from harness.profile import ObserverGroup, StageProfiler
    from harness.progress import StageProgress

    unit = unit_class(*unit_args)
    unit.prepare_data()
    graph = unit.build_graph()
    training = Graph()
    training.nodes = [graph.nodes[i] for i in nodes]
    teacher = unit.teacher_name if len(unit.options.teacher_names()) > 1 else None
    profiler = StageProfiler(unit.spec.name, teacher, lane_peak)
    run_graph(unit, training, unit.cache, unit.options.force, ObserverGroup(StageProgress(unit), profiler))
    lane = int(os.environ.get(LANE_ENV, "0"))
    handed = {}
    for node, row in profiler.node_rows():
        if not row.cached and node.key is not None:
            row.lane, row.threads = lane, THREADS_PER_LANE
            handed[str(node.key)] = row.model_dump(mode="json")
    return handed


class _ToRunLogger(logging.Handler):
    """Hands a lane's log record to the run's logger of the same name (its handlers: stderr, run.log)."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


def run_training_pass(
    units: list[TaskUnit], plan: tuple[list[TaskUnit], int] | None = None,
    on_lane_idle: Callable[[], None] | None = None,
) -> TrainingPassInfo | None:
    """Train the models of ``units`` in lanes (see the module docstring) and fill each unit's ``handed``: the
    profile rows of the nodes the lanes trained, by key. ``plan``: :func:`planned_pass` of ``units`` when the
    caller has it (the run's header does), so that the cache is not walked again. ``on_lane_idle`` is called
    once, when a lane has no job left while another still trains (the serial pass's imports can use that CPU).
    Returns what the pass was, or None when the run has fewer than two jobs with something to train (or one
    lane): then nothing happens."""
    import multiprocessing

    from harness.peak import peak_or_none
    from harness.profile_models import TrainingPassInfo

    jobs, lanes = plan if plan is not None else planned_pass(units)
    if not jobs:
        return None
    # Measured here, alone, before the lanes start: a lane measuring it beside another lane would be wrong.
    lane_peak = peak_or_none(threads=THREADS_PER_LANE)
    context = multiprocessing.get_context("spawn")  # never fork a process whose OpenMP pool is running
    cpus, records = context.Queue(), context.Queue()
    cpu_list = available_cpus()
    for lane in range(lanes):  # more lanes than CPUs (--training-lanes): CPUs are shared in turn
        cpus.put((lane + 1, cpu_list[lane % len(cpu_list)]))
    listener = logging.handlers.QueueListener(records, _ToRunLogger())
    listener.start()
    started = time.perf_counter()
    unit_count = len({id(job.unit) for job in jobs})
    log.info("training pass: %d unit(s) as %d jobs in %d lanes of %d thread(s), largest first", unit_count,
             len(jobs), lanes, THREADS_PER_LANE)
    try:
        with ProcessPoolExecutor(lanes, mp_context=context, initializer=_start_lane,
                                 initargs=(cpus, records)) as pool:
            futures = {pool.submit(_train_job, job.unit.rebuild_args(), type(job.unit), lane_peak, job.nodes): job.unit
                       for job in jobs}
            remaining = len(futures)
            for future in as_completed(futures):
                remaining -= 1
                if on_lane_idle is not None and 0 < remaining < lanes:
                    on_lane_idle()
                    on_lane_idle = None
                unit = futures[future]
                try:
                    unit.handed.update(future.result())
                except Exception as exc:  # the serial pass trains it again and reports as usual
                    log.warning("[%s] training pass: %s; the serial pass trains it instead", unit.spec.name, exc)
    finally:
        listener.stop()
    wall = time.perf_counter() - started
    log.info("training pass: done in %.1f s", wall)
    return TrainingPassInfo(lanes=lanes, threads_per_lane=THREADS_PER_LANE, wall_s=round(wall, 2), units=unit_count,
                            jobs=len(jobs))
