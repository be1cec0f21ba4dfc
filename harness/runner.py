"""Run a suite: build one unit per (task, teacher), check them all, and hand them to an executor.

Each unit walks its stage graph (:mod:`harness.unit`, :mod:`harness.graph`, :mod:`harness.stages`):
fine-tune the teacher, distill the students, export, evaluate and measure. Trained models, exports and
finished records are kept in a content-addressed stage cache (:mod:`harness.cache`), so an identical run
reuses them and an interrupted run resumes where it stopped; scratch files (training checkpoints,
measurement inputs) live under ``RUN_DIR/artifacts``.
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.executors import get_executor
from harness.measure.forkserver import SERVERS
from harness.options import RunOptions, check_device
from harness.peak import peak_or_none
from harness.per_example import collect_eval_sets
from harness.profile import ObserverGroup, StageProfiler, collect_profile, log_profile
from harness.progress import RunProgress, StageProgress
from harness.results import Record, RunResults
from harness.seeds import add_seed_statistics
from harness.stages import LANE_STAGES
from harness.stages.record import prepare_measurement
from harness.train import training_threads
from harness.training_pass import planned_pass, run_estimate, run_training_pass
from harness.unit import TaskUnit
from tasks.registry import get_tasks
from tasks.spec import TaskSpec

log = logging.getLogger("reusebench")


def resolve_tasks(options: RunOptions) -> list[TaskSpec]:
    """The task specs of the run: ``--tasks`` when given, else the suite's; a task named twice (by name and
    by file, say) is refused: it would train twice and write duplicate records."""
    if options.tasks is not None:
        return get_tasks(options.tasks, "--tasks")
    return get_tasks(options.suite.tasks, f"suite {options.suite.name!r}")


def run_unit(unit: TaskUnit) -> list[Record]:
    """One (task, teacher) unit: every stage of the task for that teacher and its students
    (and the extra seeds' repeats), each stage logged as it starts (:mod:`harness.progress`) and profiled
    (:mod:`harness.profile`: its rows leave on the first record). Units are independent of each other; executors
    run them."""
    teacher = unit.teacher_name if len(unit.options.teacher_names()) > 1 else None
    profiler = StageProfiler(unit.spec.name, teacher, peak_or_none(), handed=unit.handed)
    records = unit.run(ObserverGroup(StageProgress(unit), profiler))
    profiler.attach(records)
    if unit.options.extra_seeds:
        add_seed_statistics(records, unit)
    return records


def _units(options: RunOptions, run_dir: Path, environment: dict[str, Any]) -> list[TaskUnit]:
    """Every (task, teacher) unit, checked (kind, metric, loss terms, students, teacher path and config)."""
    specs = resolve_tasks(options)  # fail on a bad task name before any training starts
    return [
        TaskUnit(spec, options, run_dir, environment, teacher=teacher)
        for spec in specs
        for teacher in options.teacher_names()
    ]


def _config(options: RunOptions, units: list[TaskUnit]) -> dict[str, Any]:
    """The run's configuration as results.json echoes it."""
    specs = list({id(u.spec): u.spec for u in units}.values())
    return {
        "suite": options.suite.model_dump(mode="json"),
        "tasks": [s.model_dump(mode="json") for s in specs],
        "teacher": options.teacher_names()[0],  # kept for readers of older results
        "teachers": options.teacher_names(),
        "executor": options.executor,
        "students": options.student_texts(),
        "max_train": options.max_train,
        "max_eval": options.max_eval,
        "data_dir": options.data_dir,
        "device": options.device,
        "seed": options.seed,
        "bootstrap_resamples": options.bootstrap_resamples,
        "python_platform": platform.platform(),
    }


def check_inputs(options: RunOptions, run_dir: Path | None = None,
                 environment: dict[str, Any] | None = None) -> list[TaskUnit]:
    """Every check a run makes before it reads any data, in the order it makes them: the options, the tasks
    (packaged names or files; kind, metric, loss terms), the teachers, the students and their models'
    configurations. Returns the (task, teacher) units. ``reusebench validate`` makes exactly these checks."""
    options.check()
    return _units(options, run_dir if run_dir is not None else Path("."), environment or {})


@dataclass
class PreparedRun:
    """A run whose inputs are all checked and whose data is loaded: nothing is written yet (its run folder
    need not exist); :func:`execute` runs it."""

    options: RunOptions
    run_dir: Path
    units: list[TaskUnit]
    executor: Any
    results: RunResults
    start: float = field(default_factory=time.perf_counter)


def prepare(options: RunOptions, run_dir: Path) -> PreparedRun:
    """Check every input of the run and load every task's data, writing nothing (``run_dir`` is only named:
    the caller creates it once this returns, so a refused run leaves no folder behind)."""
    import torch

    from harness.environment import capture_environment

    start = time.perf_counter()
    options.check()
    if not options.progress:  # --quiet: no tokenization progress bars on stderr either
        import datasets

        datasets.disable_progress_bars()
    options.device = check_device(options.device)
    resolve_tasks(options)
    threads = options.threads or training_threads()
    torch.set_num_threads(threads)
    environment = capture_environment(seed=options.seed, threads=threads)
    environment["measure_threads"] = options.suite.measure.threads
    executor = get_executor(options)
    units = check_inputs(options, run_dir, environment)
    results = RunResults(
        run_id=run_dir.name,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        suite=options.label(),
        environment=environment,
        config=_config(options, units),
    )
    for unit in units:  # every task's data too: a bad file in the last task fails before the first trains
        unit.prepare_data()
    for unit in units:
        baseline = unit.kind.baseline(unit.spec, unit.train_raw, unit.eval_raw)
        if baseline is not None:
            results.baselines[unit.spec.name] = baseline
    return PreparedRun(options, run_dir, units, executor, results, start)


def execute(prepared: PreparedRun) -> RunResults:
    """Run a prepared run's units and return the results (the caller writes them into ``prepared.run_dir``)."""
    results, units, run_dir = prepared.results, prepared.units, prepared.run_dir
    progress = RunProgress(results.suite, units)
    # The command line writes run.log from this line on (with the lines before it): a refused run writes none.
    log.info("run directory: %s (inputs checked; training starts)", run_dir, extra={"inputs_checked": True})
    lane_plan = planned_pass(units)  # the training pass's jobs (teacher chains, adapted models) and its lanes
    progress.header(units, *run_estimate(units, lane_plan))
    peak = peak_or_none()
    # None: no lanes (one CPU, one unit to train, Ray, --threads)
    training_pass = run_training_pass(units, lane_plan, on_lane_idle=lambda: prepare_measurement(units))
    if training_pass is not None:
        progress.training_pass_done(units, LANE_STAGES)
    try:
        for records in prepared.executor.run_units(units, run_unit):
            collect_eval_sets(results, records)
            collect_profile(results, records, peak)
            results.records.extend(records)
            progress.unit_done(records[0].task if records else "unit")
    finally:
        SERVERS.close_all()  # the measurement servers live for the run (harness.measure.forkserver)
    if training_pass is not None and results.profile is not None:
        results.profile = results.profile.model_copy(update={"training_pass": training_pass})
    results.wall_s = round(time.perf_counter() - prepared.start, 2)
    log_profile(results.profile)
    return results


def run(options: RunOptions, run_dir: Path) -> RunResults:
    """Run every task of the suite and return the results (the caller writes them): :func:`prepare`, then
    :func:`execute`."""
    return execute(prepare(options, run_dir))


def plan(options: RunOptions, run_dir: Path) -> list[dict[str, Any]]:
    """What a run would do: each node of each unit's stage graph, whether it is cached, and an estimated
    cost (``--dry-run``). The same graph, keys and ``--force`` rule as :func:`run`."""
    return plan_with_estimate(options, run_dir)[0]


def plan_with_estimate(options: RunOptions, run_dir: Path) -> tuple[list[dict[str, Any]], float, str]:
    """:func:`plan`'s rows, the run's estimated wall seconds for what is not cached, and how that was reckoned
    (with the training pass the run would make, as the run's header line reckons it)."""
    from harness.environment import capture_environment

    options.check()
    options.device = check_device(options.device)
    environment = capture_environment(seed=options.seed)
    units = list(_units(options, run_dir, environment))
    wall_s, how = run_estimate(units, planned_pass(units))
    return [row for unit in units for row in unit.plan()], wall_s, how
