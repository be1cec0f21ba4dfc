"""Run one (model, format) measurement in a Python process of its own.

A process per measurement keeps one model's memory, thread pools and allocator state from disturbing
the next, and makes the peak RSS that model's alone. The process is started fresh, or forked by a
server that has imported the runtime already (:mod:`harness.measure.forkserver`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from harness.measure.child_env import child_env
from harness.measure.forkserver import ForkServer, runtime_of

JOB_FILE = "measure_job.json"
RESULT_FILE = "measure_result.json"
STDERR_FILE = "measure_stderr.log"


@dataclass
class MeasureJob:
    """Everything the worker needs; written as JSON for ``python -m harness.measure.worker``."""

    model_dir: str
    fmt: str
    inputs: str
    batch_sizes: list[int] = field(default_factory=lambda: [1])
    device: str = "cpu"
    threads: int = 1
    warmup: int = 5
    min_iterations: int = 20
    min_seconds: float = 1.0
    max_cv: float | None = 0.15
    max_other_load: float | None = 0.25
    retries: int = 2


def save_inputs(path: str | Path, batches: dict[int, dict[str, np.ndarray]]) -> Path:
    """Write ``{batch_size: {input_name: array}}`` as an .npz with arrays named ``b{b}__{name}`` (int64)."""
    arrays = {}
    for batch_size, inputs in batches.items():
        for name, array in inputs.items():
            array = np.asarray(array)
            if array.ndim != 2 or array.shape[0] != batch_size:
                raise ValueError(f"input {name!r} for batch {batch_size}: expected shape ({batch_size}, seq), got {array.shape}")
            arrays[f"b{batch_size}__{name}"] = np.ascontiguousarray(array, dtype=np.int64)
    path = Path(path)
    with path.open("wb") as handle:  # a file object keeps np.savez from appending ".npz"
        np.savez(handle, **arrays)
    return path


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.splitlines()[-lines:])


def measure_in_subprocess(job: MeasureJob, workdir: Path, timeout_s: float = 900, server: ForkServer | None = None) -> dict:
    """Run ``job`` in a process of its own and return its result dict.

    ``server``: a :class:`~harness.measure.forkserver.ForkServer` for the job's runtime and threads, which
    forks that process with the runtime already imported; without one, a fresh
    ``python -m harness.measure.worker`` is started. The job, the result and the process's stderr are kept
    in ``workdir``. Raises RuntimeError with the last 20 lines of stderr when the measurement fails or runs
    past ``timeout_s``.
    """
    if job.threads < 1:
        raise ValueError(f"threads must be >= 1, got {job.threads}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    job_path, result_path = workdir / JOB_FILE, workdir / RESULT_FILE
    job_path.write_text(json.dumps(asdict(job), indent=2))
    result_path.unlink(missing_ok=True)
    if server is not None:
        if (server.threads, server.runtime) != (job.threads, runtime_of(job.fmt, job.model_dir)):
            raise ValueError(
                f"measurement server for {server.runtime} at {server.threads} thread(s) cannot measure "
                f"{job.fmt} at {job.threads}"
            )
        stderr_path = workdir / STDERR_FILE
        try:
            code = server.run(job_path, result_path, stderr_path, timeout_s)
        except TimeoutError as err:
            raise RuntimeError(
                f"measurement of {job.model_dir} ({job.fmt}) timed out after {timeout_s} s:\n"
                f"{_tail(stderr_path.read_text(errors='replace') if stderr_path.exists() else '')}"
            ) from err
        if code != 0:
            raise RuntimeError(
                f"measurement of {job.model_dir} ({job.fmt}) failed with exit code {code}:\n"
                f"{_tail(stderr_path.read_text(errors='replace'))}"
            )
        return json.loads(result_path.read_text())
    command = [sys.executable, "-m", "harness.measure.worker", str(job_path), str(result_path)]
    try:
        proc = subprocess.run(
            command, env=child_env(job.threads), capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as err:
        stderr = err.stderr.decode(errors="replace") if isinstance(err.stderr, bytes) else (err.stderr or "")
        (workdir / STDERR_FILE).write_text(stderr)
        raise RuntimeError(
            f"measurement of {job.model_dir} ({job.fmt}) timed out after {timeout_s} s:\n{_tail(stderr)}"
        ) from err
    (workdir / STDERR_FILE).write_text(proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(
            f"measurement of {job.model_dir} ({job.fmt}) failed with exit code {proc.returncode}:\n{_tail(proc.stderr)}"
        )
    return json.loads(result_path.read_text())
