"""Where the units of a run execute: one after another in this process, or as Ray tasks.

A unit is one (task, teacher) pair with all its stages (fine-tune, distill, export, evaluate,
measure). Units share nothing but the stage cache, so they can run anywhere that sees the same
cache directory and run directory (one machine, or a cluster with a shared file system). Executors
are given the function that runs a unit; they know nothing of the runner.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from harness.registry import Registry
from tasks.errors import ReusebenchError

if TYPE_CHECKING:
    from harness.options import RunOptions
    from harness.results import Record
    from harness.unit import TaskUnit

log = logging.getLogger("reusebench")

#: Runs one prepared unit and returns its records (:func:`harness.runner.run_unit`).
UnitFunction = Callable[["TaskUnit"], "list[Record]"]
# Environment a Ray worker needs to behave like the driver (offline Hub, caches, store).
_FORWARDED_ENV_PREFIXES = ("HF_", "TRANSFORMERS_", "REUSEBENCH_", "TOKENIZERS_", "OMP_", "MKL_", "CUDA_")


class Executor(Protocol):
    """Runs prepared units and yields each unit's records, in the order of the units."""

    def run_units(self, units: list[TaskUnit], run_unit: UnitFunction) -> Iterator[list[Record]]: ...


EXECUTORS: Registry[Callable[[RunOptions], Executor]] = Registry("executor")


class LocalExecutor:
    """Runs the units one after another in this process (the default)."""

    def run_units(self, units: list[TaskUnit], run_unit: UnitFunction) -> Iterator[list[Record]]:
        for unit in units:
            yield run_unit(unit)


def _ray_unit(unit_args: tuple[Any, ...], unit_class: type, run_unit: UnitFunction, threads: int) -> list[dict]:
    """Body of one Ray task: rebuild the unit from its inputs, run it, return JSON-able records."""
    import torch

    from harness.measure.forkserver import SERVERS

    torch.set_num_threads(threads)
    unit = unit_class(*unit_args)
    unit.prepare_data()
    worker = {"executor": "ray", "host": socket.gethostname(), "pid": os.getpid()}
    try:
        return [{**record.model_dump(mode="json"), "worker": worker} for record in run_unit(unit)]
    finally:
        SERVERS.close_all()  # a Ray worker outlives its task: its measurement servers must not


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

    def run_units(self, units: list[TaskUnit], run_unit: UnitFunction) -> Iterator[list[Record]]:
        from harness.results import Record

        self._connect()
        remote = self.ray.remote(num_cpus=self.cpus_per_unit, num_gpus=self.gpus_per_unit, max_retries=0)(_ray_unit)
        refs = []
        for unit in units:
            threads = unit.options.threads or max(1, int(self.cpus_per_unit))
            refs.append(remote.remote(unit.rebuild_args(), type(unit), run_unit, threads))
        log.info("ray: %d units submitted (%s CPU each)", len(refs), self.cpus_per_unit)
        for unit, ref in zip(units, refs, strict=True):
            try:
                rows = self.ray.get(ref)
            except self.ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(cause, ReusebenchError):
                    raise cause from None
                raise ReusebenchError(f"[{unit.spec.name}] failed on a Ray worker: {cause or exc}") from None
            yield [Record.model_validate(row) for row in rows]


EXECUTORS.add("local", lambda options: LocalExecutor())


@EXECUTORS.register("ray")
def _ray_executor(options: RunOptions) -> Executor:
    if not options.ray_cpus_per_unit > 0:
        raise ReusebenchError(f"--ray-cpus-per-unit: must be > 0, got {options.ray_cpus_per_unit}")
    return RayExecutor(options.ray_address, options.ray_cpus_per_unit, options.ray_gpus_per_unit, quiet=not options.progress)


def get_executor(options: RunOptions) -> Executor:
    """The executor ``options.executor`` names (see :data:`EXECUTORS`)."""
    return EXECUTORS.get(options.executor)(options)
