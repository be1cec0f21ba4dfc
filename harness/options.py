"""What a run is asked to do besides the suite definition: the command line's choices, and the names
and checks that follow from them (run ids, model display names, the device)."""

from __future__ import annotations

import math
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from harness.cache import StageCache
from harness.models import DEFAULT_TEACHER
from harness.named_models import NAMED_MODELS
from tasks.defaults import DEFAULT_RESAMPLES
from tasks.errors import ReusebenchError
from tasks.spec import SuiteSpec

PACKAGED_TEACHER_NAME = "all-MiniLM-L6-v2"
SEED_LIMIT = 2**32  # numpy's and torch's seeds: 0 ≤ seed < 2**32
DEVICES = ("auto", "cpu", "cuda")
#: The longest run label (:meth:`RunOptions.label`): a name in results.json is at most 200 characters.
MAX_LABEL = 200


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
    #: worker processes of the training pass (:mod:`harness.training_pass`); None: one per CPU when it applies.
    training_lanes: int | None = None

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

    def label(self) -> str:
        """What the run runs, as its header and ``results.json``'s ``suite`` name it: the suite's name, or
        ``tasks: a.yaml, b`` when ``--tasks`` overrides the suite's tasks (files by their file name; at most
        :data:`MAX_LABEL` characters)."""
        if self.tasks is None:
            return self.suite.name
        names = [Path(t).name if t.endswith((".yaml", ".yml")) or "/" in t else t for t in self.tasks]
        text = "".join("?" if unicodedata.category(c) in ("Cc", "Cf") else c for c in "tasks: " + ", ".join(names))
        return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"

    def student_texts(self) -> list[str]:
        """The run's student specs: ``--student`` values when given, else the suite's."""
        return list(self.students or self.suite.students)

    def check(self) -> None:
        """Refuse values no run can use, before anything is loaded (the command line checks them as it parses;
        this guards the Python API and the combinations, such as ``--seed`` with ``--repeat-seeds``)."""
        for seed in (self.seed, *self.extra_seeds):
            if not _is_int(seed) or not 0 <= seed < SEED_LIMIT:
                raise ReusebenchError(f"--seed {seed!r}: every training seed must be an integer from 0 to "
                                      f"{SEED_LIMIT - 1} (with --repeat-seeds N: seed + N - 1 too)")
        for flag, value in (("--max-train", self.max_train), ("--max-eval", self.max_eval),
                            ("--threads", self.threads), ("--bootstrap", self.bootstrap_resamples),
                            ("--training-lanes", self.training_lanes)):
            if value is not None and (not _is_int(value) or value < 1):
                raise ReusebenchError(f"{flag} {value!r}: must be a positive integer")
        for flag, number, positive in (("--ray-cpus-per-unit", self.ray_cpus_per_unit, True),
                                       ("--ray-gpus-per-unit", self.ray_gpus_per_unit, False)):
            finite = isinstance(number, (int, float)) and math.isfinite(number)
            if not finite or number < 0 or (positive and number == 0):
                raise ReusebenchError(f"{flag} {number!r}: must be a finite number {'> 0' if positive else '≥ 0'}")
        if self.device not in DEVICES:
            raise ReusebenchError(f"--device {self.device!r}: allowed values: {', '.join(DEVICES)}")
        for flag, items in (("--tasks", self.tasks), ("--teacher", self.teachers), ("--student", self.students)):
            if items is not None and (not items or any(not isinstance(i, str) or not i.strip() for i in items)):
                raise ReusebenchError(f"{flag} {items!r}: every value must be a non-empty name")
        if self.tasks is not None and len(set(self.tasks)) != len(self.tasks):
            raise ReusebenchError(f"--tasks {','.join(self.tasks)!r}: a task is listed twice")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus a short random suffix."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def display_name(teacher: str) -> str:
    """A readable model name for records: the packaged MiniLM's or a named model's real name, or the id/folder name."""
    if teacher == DEFAULT_TEACHER:
        return PACKAGED_TEACHER_NAME
    if teacher in NAMED_MODELS:
        return NAMED_MODELS[teacher].display_name
    return Path(teacher).name if Path(teacher).exists() else teacher


def check_device(device: str) -> str:
    """Resolve ``auto`` and refuse ``cuda`` without a GPU (never fall back silently)."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ReusebenchError("--device cuda: no CUDA device is available to torch on this machine")
    if device not in DEVICES:
        raise ReusebenchError(f"--device {device!r}: allowed values: {', '.join(DEVICES)}")
    return device
