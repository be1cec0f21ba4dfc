"""What a run is asked to do besides the suite definition: the command line's choices, and the names
and checks that follow from them (run ids, model display names, the device)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from harness.cache import StageCache
from harness.models import DEFAULT_TEACHER
from tasks.defaults import DEFAULT_RESAMPLES
from tasks.errors import ReusebenchError
from tasks.spec import SuiteSpec

PACKAGED_TEACHER_NAME = "all-MiniLM-L6-v2"


@dataclass
class RunOptions:
    """Everything a run needs besides the suite definition (command-line overrides)."""

    suite: SuiteSpec
    tasks: list[str] | None = None
    #: teachers overriding the suite's (``--teacher``, repeatable): each runs every task and student.
    teachers: list[str] | None = None
    students: list[str] | None = None
    data_dir: str | None = None
    max_train: int | None = None
    max_eval: int | None = None
    out_dir: Path | None = None
    device: str = "cpu"
    seed: int = 42
    progress: bool = True
    bootstrap_resamples: int = DEFAULT_RESAMPLES
    threads: int | None = None
    energy: bool = False
    trust_remote_code: bool = False
    allow_pickle: bool = False
    cache: StageCache | None = None
    force: frozenset[str] = frozenset()
    #: extra training seeds: every model is trained again with each, and scores get mean ± std.
    extra_seeds: list[int] = field(default_factory=list)
    #: where the (task, teacher) units run: a name in :data:`harness.executors.EXECUTORS`.
    executor: str = "local"
    ray_address: str | None = None
    #: CPUs (and GPUs) Ray reserves for each unit.
    ray_cpus_per_unit: float = 1.0
    ray_gpus_per_unit: float = 0.0

    def teacher_names(self) -> list[str]:
        """The run's teachers: ``--teacher`` values when given, else the suite's ``teacher(s)``."""
        names = list(self.teachers) if self.teachers else self.suite.teacher_names()
        shown = [display_name(name) for name in names]
        clashes = sorted({name for name in shown if shown.count(name) > 1})
        if clashes:
            raise ReusebenchError(
                f"teachers: two teachers would be recorded under the same name {clashes[0]!r}; "
                "rename one of the folders"
            )
        return names

    def student_texts(self) -> list[str]:
        """The run's student specs: ``--student`` values when given, else the suite's."""
        return list(self.students or self.suite.students)


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus a short random suffix."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def display_name(teacher: str) -> str:
    """A readable model name for records: the packaged MiniLM's real name, or the id/folder name."""
    if teacher == DEFAULT_TEACHER:
        return PACKAGED_TEACHER_NAME
    return Path(teacher).name if Path(teacher).exists() else teacher


def check_device(device: str) -> str:
    """Resolve ``auto`` and refuse ``cuda`` without a GPU (never fall back silently)."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ReusebenchError("--device cuda: no CUDA device is available to torch on this machine")
    if device not in ("cpu", "cuda"):
        raise ReusebenchError(f"--device {device!r}: allowed values: auto, cpu, cuda")
    return device
