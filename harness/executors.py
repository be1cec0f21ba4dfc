"""Where the units of a run execute: one after another in this process, or as Ray tasks.

A unit is one (task, teacher) pair with all its stages (fine-tune, distill, export, evaluate,
measure). Units share nothing but the stage cache, so they can run anywhere that sees the same
cache directory and run directory (one machine, or a cluster with a shared file system).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tasks.errors import ReusebenchError

if TYPE_CHECKING:
    from harness.results import Record
    from harness.runner import RunOptions, TaskRun

log = logging.getLogger("reusebench")

EXECUTORS = ("local", "ray")
# Environment a Ray worker needs to behave like the driver (offline Hub, caches, store).
_FORWARDED_ENV_PREFIXES = ("HF_", "TRANSFORMERS_", "REUSEBENCH_", "TOKENIZERS_", "OMP_", "MKL_", "CUDA_")


class Executor(Protocol):
    """Runs prepared units and yields each unit's records, in the order of the units."""

    def run_units(self, task_runs: list[TaskRun], run_dir: Path) -> Iterator[list[Record]]: ...


class LocalExecutor:
    """Runs the units one after another in this process (the default)."""

    def run_units(self, task_runs: list[TaskRun], run_dir: Path) -> Iterator[list[Record]]:
        from harness.runner import run_unit

        for task_run in task_runs:
            yield run_unit(task_run, run_dir)


def _ray_unit(spec: Any, teacher: str, options: RunOptions, run_dir: str, environment: dict[str, Any]) -> list[dict]:
    """Body of one Ray task: rebuild the unit from its inputs, run it, return JSON-able records."""
    import torch

    from harness.runner import TaskRun, run_unit

    threads = options.threads or max(1, int(options.ray_cpus_per_unit))
    torch.set_num_threads(threads)
    task_run = TaskRun(spec, options, Path(run_dir), environment, teacher=teacher)
    task_run.prepare_data()
    worker = {"executor": "ray", "host": socket.gethostname(), "pid": os.getpid()}
    return [{**record.model_dump(mode="json"), "worker": worker} for record in run_unit(task_run, Path(run_dir))]


class RayExecutor:
    """Runs the units as Ray tasks: on a local Ray instance, or on a cluster (``address``).

    Each unit reserves ``cpus_per_unit`` CPUs and ``gpus_per_unit`` GPUs. Units that share a machine
    share its cores, and latency measured then is noisier: the CPU-load monitor flags such blocks.
    """

    def __init__(self, address: str | None, cpus_per_unit: float, gpus_per_unit: float, quiet: bool):
        try:
            import ray
        except ImportError:
            raise ReusebenchError(
                "--executor ray: Ray is not installed; install the extra: pip install 'reusebench[ray]'"
            ) from None
        self.ray = ray
        self.address = address
        self.cpus_per_unit = cpus_per_unit
        self.gpus_per_unit = gpus_per_unit
        self.quiet = quiet

    def _connect(self) -> None:
        if self.ray.is_initialized():
            return
        env = {k: v for k, v in os.environ.items() if k.startswith(_FORWARDED_ENV_PREFIXES)}
        # The working directory travels as PYTHONPATH only when the cluster runs on this machine's files.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH", "")]))
        try:
            self.ray.init(
                address=self.address,
                runtime_env={"env_vars": env},
                include_dashboard=False,
                log_to_driver=not self.quiet,
                logging_level=logging.WARNING,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self.address or "a new local instance"
            raise ReusebenchError(f"--executor ray: cannot start or reach Ray at {where}: {exc}") from None

    def run_units(self, task_runs: list[TaskRun], run_dir: Path) -> Iterator[list[Record]]:
        from harness.results import Record

        self._connect()
        remote = self.ray.remote(num_cpus=self.cpus_per_unit, num_gpus=self.gpus_per_unit, max_retries=0)(_ray_unit)
        refs = []
        for task_run in task_runs:
            options = task_run.options
            refs.append(
                remote.remote(task_run.spec, task_run.teacher_name, options, str(run_dir), task_run.environment)
            )
        log.info("ray: %d units submitted (%s CPU each)", len(refs), self.cpus_per_unit)
        for task_run, ref in zip(task_runs, refs, strict=True):
            try:
                rows = self.ray.get(ref)
            except self.ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(cause, ReusebenchError):
                    raise cause from None
                raise ReusebenchError(f"[{task_run.spec.name}] failed on a Ray worker: {cause or exc}") from None
            yield [Record.model_validate(row) for row in rows]


def get_executor(options: RunOptions) -> Executor:
    """The executor ``options.executor`` names."""
    if options.executor == "local":
        return LocalExecutor()
    if options.executor == "ray":
        if not options.ray_cpus_per_unit > 0:
            raise ReusebenchError(f"--ray-cpus-per-unit: must be > 0, got {options.ray_cpus_per_unit}")
        return RayExecutor(
            options.ray_address, options.ray_cpus_per_unit, options.ray_gpus_per_unit, quiet=not options.progress
        )
    raise ReusebenchError(f"--executor {options.executor!r}: allowed values: {', '.join(EXECUTORS)}")
