"""Run a suite: for each task, fine-tune the teacher, distill students, export, evaluate, measure.

The runner talks to task kinds only through :class:`tasks.kinds.base.TaskKind`; it never branches
on the kind. Trained models, exports and finished records are kept in a content-addressed stage cache
(:mod:`harness.cache`), so an identical run reuses them and an interrupted run resumes where it
stopped; scratch files (training checkpoints, measurement inputs) live under ``RUN_DIR/artifacts``.
"""

from __future__ import annotations

import errno
import logging
import platform
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from harness.backends import load_predictor
from harness.cache import StageCache, fingerprint_rows, stage_key
from harness.evaluation import Evaluation, evaluate_predictor, parity
from harness.export import (
    INT8_FP32_HEADS,
    INT8_PER_CHANNEL,
    copy_side_files,
    export_onnx,
    folder_size_mb,
    quantize_dynamic_int8,
)
from harness.models import (
    DEFAULT_TEACHER,
    StudentSpec,
    build_layer_student,
    check_model,
    load_model_for_kind,
    load_tokenizer,
    parse_student,
    resolve_model_source,
    spread_layers,
)
from harness.results import Lineage, Record, RunResults
from harness.train import TrainCost, distill, fine_tune, training_threads
from tasks.data import load_splits
from tasks.errors import ModelError, ReusebenchError
from tasks.kinds import TaskKind, get_kind
from tasks.registry import get_task
from tasks.spec import SuiteSpec, TaskSpec

log = logging.getLogger("reusebench")

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
    bootstrap_resamples: int = 1000
    threads: int | None = None
    energy: bool = False
    trust_remote_code: bool = False
    allow_pickle: bool = False
    cache: StageCache | None = None
    force: frozenset[str] = frozenset()
    #: extra training seeds: every model is trained again with each, and scores get mean ± std.
    extra_seeds: list[int] = field(default_factory=list)
    #: where the (task, teacher) units run: "local" (this process, one after another) or "ray".
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


# Stages in order; forcing one forces every later one (their inputs change).
STAGES = ("finetune", "distill", "export", "record")


def forced_stages(requested: list[str] | None) -> frozenset[str]:
    """The stages ``--force`` recomputes: the named ones and every stage after them."""
    if not requested:
        return frozenset()
    unknown = sorted(set(requested) - set(STAGES))
    if unknown:
        raise ReusebenchError(f"--force {', '.join(unknown)}: allowed values: {', '.join(STAGES)}")
    first = min(STAGES.index(name) for name in requested)
    return frozenset(STAGES[first:])


def model_identity(source: str) -> dict[str, Any]:
    """What identifies a starting model in a cache key: a Hub id, or a folder's config and weights."""
    path = Path(source)
    if not path.is_dir():
        return {"hub_id": source}
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".json", ".safetensors", ".bin", ".txt"))
    return {"folder_files": {p.name: p.stat().st_size for p in files}, "config": (path / "config.json").read_text()}


def load_trained_model(folder: Path) -> Any:
    """Load a model folder that reusebench saved, with the class its config names."""
    import transformers

    config = transformers.AutoConfig.from_pretrained(folder)
    model_class = getattr(transformers, (config.architectures or [""])[0], None)
    if model_class is None:
        raise ModelError(f"{folder}: config.json names no transformers architecture")
    return model_class.from_pretrained(folder)


@dataclass
class Variant:
    """One trained model (teacher or student) and the folders of its formats."""

    name: str
    role: str
    pytorch_dir: Path
    params: int
    train_cost: TrainCost | None
    lineage: Lineage
    format_dirs: dict[str, Path] = field(default_factory=dict)
    format_errors: dict[str, str] = field(default_factory=dict)
    key: str = ""
    # Which training produced these weights. Later stages key on it rather than on ``key``: a model retrained
    # under the same key (its entry evicted or lost) must not inherit the exports and records of the old one.
    build: str = ""
    label: str = "teacher"
    cached: bool = False


def build_of(metadata: dict[str, Any], key: str) -> str:
    """The build (training) identity stored in a cache entry's metadata; entries written before builds
    were recorded are identified by their key."""
    return str(metadata.get("build") or key)


def _write_error(exc: OSError, target: Path, kept: Path) -> ReusebenchError:
    """A one-line error for an export that could not be written (disk full, read-only disk...)."""
    hint = "; free some space and run again" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    return ReusebenchError(
        f"{exc.filename or target}: cannot write the export: {exc.strerror or exc}{hint} "
        f"(the trained model in {kept} is kept)"
    )


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


class TaskRun:
    """The stages of one task, sharing the tokenizer, the data and the teacher."""

    def __init__(
        self,
        spec: TaskSpec,
        options: RunOptions,
        run_dir: Path,
        environment: dict[str, Any],
        teacher: str | None = None,
    ):
        self.spec = spec
        self.kind: TaskKind = get_kind(spec.kind)
        self.options = options
        self.suite = options.suite
        self.environment = environment
        teachers = options.teacher_names()
        self.teacher_name = teacher or teachers[0]
        self.dir = run_dir / "artifacts" / spec.name
        if len(teachers) > 1:  # a matrix: one artifacts folder per teacher
            self.dir = self.dir / display_name(self.teacher_name).replace("/", "--")
        self.teacher_source = resolve_model_source(self.teacher_name, allow_pickle=options.allow_pickle)
        if spec.primary_metric not in self.kind.metric_keys(spec):
            raise ReusebenchError(
                f"task {spec.name!r}: field 'primary_metric': got {spec.primary_metric!r}; "
                f"allowed values: {', '.join(self.kind.metric_keys(spec))}"
            )
        self.distillation_weights = self.kind.distillation_weights(spec)  # fail before any training
        self.students = [parse_student(text) for text in options.students or self.suite.students]
        self._check_models()
        self.prepared = False
        self.cache = options.cache or StageCache(run_dir / "cache", enabled=False)
        self._teacher_model: Any = None

    def _check_models(self) -> None:
        """Check the teacher and every ``model=`` student against the task from their configs alone
        (head, labels, max_length, student depth, ONNX support), before any training."""
        kind_type = type(self.kind)
        custom_model = kind_type.build_model is not TaskKind.build_model
        wants_onnx = bool({"onnx", "onnx-int8"} & set(self.suite.formats))
        onnx_task = self.kind.onnx_task if kind_type.onnx_export_task is TaskKind.onnx_export_task else None
        model_kwargs = self.kind.model_kwargs(self.spec)
        check_model(
            self.teacher_source,
            None if custom_model else self.kind.auto_class,
            model_kwargs,
            max_length=self.spec.max_length,
            students=[s for s in self.students if not s.model],
            onnx_task=onnx_task if wants_onnx and not custom_model else None,
            trust_remote_code=self.options.trust_remote_code,
        )
        for student in self.students:
            if student.model:
                source = resolve_model_source(student.model, allow_pickle=self.options.allow_pickle)
                check_model(
                    source,
                    self.kind.auto_class,
                    model_kwargs,
                    max_length=self.spec.max_length,
                    onnx_task=onnx_task if wants_onnx else None,
                    trust_remote_code=self.options.trust_remote_code,
                    what="student",
                )

    # -- data -------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Load, validate and tokenize both splits."""
        raw = load_splits(self.spec, self.options.data_dir, self.options.max_train, self.options.max_eval)
        self.train_raw = self.kind.prepare_split(self.spec, raw.train, raw.train_origin, is_train=True)
        self.eval_raw = self.kind.prepare_split(self.spec, raw.eval, raw.eval_origin, is_train=False)
        self.origins = {"train": raw.train_origin, "eval": raw.eval_origin}
        self.tokenizer = load_tokenizer(self.teacher_source, trust_remote_code=self.options.trust_remote_code)
        self.train_features = self.kind.tokenize(self.spec, self.tokenizer, self.train_raw)
        self.eval_features = self.kind.tokenize(self.spec, self.tokenizer, self.eval_raw)
        self.data_fingerprint = {
            "train": fingerprint_rows(self.train_raw),
            "eval": fingerprint_rows(self.eval_raw),
        }
        self.prepared = True
        log.info(
            "[%s] data: %d train / %d eval examples (%s)",
            self.spec.name,
            len(self.train_raw),
            len(self.eval_raw),
            raw.train_origin,
        )

    # -- training ---------------------------------------------------------------------------
    def _save(self, model: Any, folder: Path) -> None:
        model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)

    def _lookup(self, stage: str, key: str) -> Any:
        if stage in self.options.force:
            return None
        return self.cache.lookup(stage, key)

    def teacher_key(self) -> str:
        """The cache key of the fine-tuned teacher."""
        return stage_key(
            "finetune",
            {
                "task": self.spec.model_dump(mode="json", exclude={"description", "distillation"}),
                "data": self.data_fingerprint["train"],
                "teacher": model_identity(self.teacher_source),
                "seed": self.options.seed,
                "device": self.options.device,
            },
        )

    def student_key(self, student: StudentSpec, teacher_build: str) -> str:
        """The cache key of a distilled student of the teacher whose weights are ``teacher_build``."""
        return stage_key(
            "distill",
            {
                "teacher": teacher_build,
                "student": student.text,
                "student_model": (
                    model_identity(resolve_model_source(student.model, allow_pickle=self.options.allow_pickle))
                    if student.model
                    else None
                ),
                "distillation": self.spec.distillation.model_dump(mode="json"),
                "weights": self.distillation_weights,
                "seed": self.options.seed,
                "device": self.options.device,
            },
        )

    @property
    def teacher_model(self) -> Any:
        """The fine-tuned teacher in memory (loaded from its folder when it came from the cache)."""
        if self._teacher_model is None:
            self._teacher_model = load_trained_model(self.teacher_dir)
        return self._teacher_model

    @teacher_model.setter
    def teacher_model(self, model: Any) -> None:
        self._teacher_model = model

    def _variant_from_cache(self, entry: Any, name: str, role: str, label: str, key: str, lineage: Lineage) -> Variant:
        meta = entry.metadata
        return Variant(
            name=name,
            role=role,
            pytorch_dir=entry.path,
            params=int(meta["params"]),
            train_cost=TrainCost(**meta["train_cost"]),
            lineage=lineage,
            key=key,
            build=build_of(meta, key),
            label=label,
            cached=True,
        )

    def teacher_variant(self) -> Variant:
        """The fine-tuned teacher: from the cache, or trained now and stored."""
        key = self.teacher_key()
        entry = self._lookup("finetune", key)
        if entry is not None:
            log.info("[%s] teacher: cached (%s)", self.spec.name, key)
            self.teacher_dir = entry.path
            return self._variant_from_cache(
                entry, display_name(self.teacher_name), "teacher", "teacher", key, Lineage(base_model=self.teacher_name)
            )
        with self.cache.write("finetune", key) as (folder, meta):
            variant = self.train_teacher(folder)
            meta["params"] = variant.params
            meta["train_cost"] = variant.train_cost.to_dict() if variant.train_cost else None
            meta["build"] = variant.build = uuid.uuid4().hex
        variant.pytorch_dir = self.teacher_dir = self.cache.path_for("finetune", key)
        variant.key = key
        return variant

    def student_variant(self, student: StudentSpec, teacher: Variant) -> Variant:
        """A distilled student: from the cache, or distilled now and stored."""
        key = self.student_key(student, teacher.build)
        entry = self._lookup("distill", key)
        if entry is not None:
            log.info("[%s] student %s: cached (%s)", self.spec.name, student.text, key)
            return self._variant_from_cache(
                entry, f"{teacher.name}-{student.label}", "student", student.label, key, self._student_lineage(teacher, student)
            )
        with self.cache.write("distill", key) as (folder, meta):
            variant = self.train_student(student, teacher, folder)
            meta["params"] = variant.params
            meta["train_cost"] = variant.train_cost.to_dict() if variant.train_cost else None
            meta["build"] = variant.build = uuid.uuid4().hex
        variant.pytorch_dir = self.cache.path_for("distill", key)
        variant.key = key
        return variant

    def _student_lineage(self, teacher: Variant, student: StudentSpec) -> Lineage:
        return Lineage(distilled_from=f"{teacher.name} (fine-tuned on {self.spec.name})", base_model=student.text)

    def train_teacher(self, folder: Path) -> Variant:
        """Fine-tune the teacher on the task and save it to ``folder``."""
        log.info("[%s] fine-tuning teacher %s", self.spec.name, self.teacher_name)
        seed_everything(self.options.seed)  # the new task head's initial weights come from this seed
        model = self.kind.build_model(self.teacher_source, self.spec) or load_model_for_kind(
            self.teacher_source,
            self.kind.auto_class,
            self.kind.model_kwargs(self.spec),
            trust_remote_code=self.options.trust_remote_code,
            allow_pickle=self.options.allow_pickle,
        )
        cost = fine_tune(
            model,
            self.kind,
            self.tokenizer,
            self.train_features,
            self.spec.training,
            self.dir / "work" / "teacher",
            self.options.seed,
            self.options.device,
            self.options.progress,
            self.options.energy,
        )
        self._save(model, folder)
        self.teacher_model = model
        name = display_name(self.teacher_name)
        return Variant(
            name=name,
            role="teacher",
            pytorch_dir=folder,
            params=sum(p.numel() for p in model.parameters()),
            train_cost=cost,
            lineage=Lineage(base_model=self.teacher_name),
        )

    def _student_model(self, student: StudentSpec) -> Any:
        if student.model:
            source = resolve_model_source(student.model, allow_pickle=self.options.allow_pickle)
            return load_model_for_kind(
                source,
                self.kind.auto_class,
                self.kind.model_kwargs(self.spec),
                trust_remote_code=self.options.trust_remote_code,
                allow_pickle=self.options.allow_pickle,
            )
        config = self.teacher_model.config
        # Encoder-decoders keep their depth in the encoder's sub-configuration.
        teacher_layers = getattr(config, "num_hidden_layers", None) or getattr(
            getattr(config, "encoder", None), "num_hidden_layers", None
        )
        if teacher_layers is None:
            raise ModelError(f"{self.teacher_name}: config has no num_hidden_layers; use a 'model=' student")
        layers = list(student.layers) if student.layers else spread_layers(teacher_layers, student.layer_count or 1)
        # Initialised from the *fine-tuned* teacher: its layers and task head are the best start.
        return self.kind.build_student(self.teacher_model, layers) or build_layer_student(self.teacher_model, layers)

    def train_student(self, student: StudentSpec, teacher: Variant, folder: Path) -> Variant:
        """Build a student, distill the fine-tuned teacher into it, and save it to ``folder``."""
        log.info("[%s] distilling student %s", self.spec.name, student.text)
        seed_everything(self.options.seed)
        model = self._student_model(student)
        features = self.kind.distillation_features(
            self.spec, self.teacher_model, self.tokenizer, self.train_raw, self.train_features
        )
        cost = distill(
            model,
            self.teacher_model,
            self.kind,
            self.tokenizer,
            features,
            self.spec.training,
            self.spec.distillation,
            self.distillation_weights,
            self.dir / "work" / student.label,
            self.options.seed,
            self.options.device,
            self.options.progress,
            self.options.energy,
        )
        self._save(model, folder)
        return Variant(
            name=f"{teacher.name}-{student.label}",
            role="student",
            pytorch_dir=folder,
            params=sum(p.numel() for p in model.parameters()),
            train_cost=cost,
            lineage=self._student_lineage(teacher, student),
            label=student.label,
        )

    # -- export -----------------------------------------------------------------------------
    def export(self, variant: Variant) -> None:
        """ONNX (and int8) exports of a variant: from the cache, or exported now and stored.

        An export error fails that format only; it is remembered with the entry."""
        variant.format_dirs["pytorch"] = variant.pytorch_dir
        formats = self.suite.formats
        if "onnx" not in formats and "onnx-int8" not in formats:
            return
        wants_int8 = "onnx-int8" in formats and variant.role in self.suite.int8_roles
        onnx_task = self.kind.onnx_export_task(self.spec, variant.pytorch_dir)
        cpu_flags = self.environment.get("cpu_flags", [])
        key = stage_key(
            "export",
            {
                "model": variant.build,
                "task": onnx_task,
                "int8": wants_int8,
                "cpu_flags": cpu_flags,
                "per_channel": INT8_PER_CHANNEL,
                "fp32_heads": INT8_FP32_HEADS,
            },
        )
        entry = self._lookup("export", key)
        if entry is not None:
            root, errors = entry.path, entry.metadata.get("errors", {})
        else:
            log.info("[%s] exporting %s", self.spec.name, variant.name)
            with self.cache.write("export", key) as (folder, meta):
                meta["errors"] = errors = self._export_into(variant.pytorch_dir, folder, onnx_task, wants_int8)
            root = self.cache.path_for("export", key)
        for fmt in ("onnx", "onnx-int8"):
            if fmt in errors:
                variant.format_errors[fmt] = errors[fmt]
            elif (root / fmt).is_dir():
                variant.format_dirs[fmt] = root / fmt
        if "onnx" not in formats:
            variant.format_dirs.pop("onnx", None)

    def _export_into(self, source: Path, folder: Path, onnx_task: str, wants_int8: bool) -> dict[str, str]:
        errors: dict[str, str] = {}
        try:
            export_onnx(source, folder / "onnx", onnx_task)
            copy_side_files(source, folder / "onnx")
        except ReusebenchError as exc:
            errors["onnx"] = str(exc)
            log.warning("[%s] %s", self.spec.name, exc)
        except OSError as exc:  # disk full, read-only disk: stop the run, keep what is trained
            raise _write_error(exc, folder / "onnx", source) from None
        if wants_int8 and "onnx" not in errors:
            try:
                quantize_dynamic_int8(folder / "onnx", folder / "onnx-int8", self.environment.get("cpu_flags", []))
            except ReusebenchError as exc:
                errors["onnx-int8"] = str(exc)
            except OSError as exc:
                raise _write_error(exc, folder / "onnx-int8", source) from None
        return errors

    # -- evaluation and measurement -------------------------------------------------------------
    def evaluate(self, variant: Variant, fmt: str) -> Evaluation:
        predictor = load_predictor(
            variant.format_dirs[fmt], fmt, device=self.options.device, threads=self.options.threads
        )
        return evaluate_predictor(
            self.spec,
            self.kind,
            predictor,
            self.eval_features,
            self.eval_raw,
            self.tokenizer,
            seed=self.options.seed,
            resamples=self.options.bootstrap_resamples,
        )

    def measurement_inputs(self, folder: Path) -> Path:
        """Real eval inputs for each batch size: the first B eval examples, padded to their longest
        (or to ``measure.seq_len``), cycling when the split is smaller than B."""
        from harness.measure.isolated import save_inputs

        collator = self.kind.collator(self.tokenizer, return_tensors="np")
        seq_len = self.suite.measure.seq_len
        columns = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in self.eval_features.column_names]
        batches = {}
        for batch_size in self.suite.measure.batch_sizes:
            indices = [i % len(self.eval_features) for i in range(batch_size)]
            rows = self.eval_features.select(indices)
            examples = [{c: rows[i][c] for c in columns} for i in range(batch_size)]
            if seq_len:
                padded = self.tokenizer.pad(examples, padding="max_length", max_length=seq_len, return_tensors="np")
            else:
                padded = collator(examples)
            batches[batch_size] = {c: np.asarray(padded[c], dtype=np.int64) for c in columns}
        path = folder / "measure_inputs.npz"
        folder.mkdir(parents=True, exist_ok=True)
        return save_inputs(path, batches)

    def prestart_measurement(self, variant: Variant, fmt: str) -> Any:
        """Start the measurement process of (variant, fmt) ahead of its job (see ``PrestartedWorker``)."""
        from harness.measure.isolated import PrestartedWorker

        folder = self.dir / variant.label / f"measure-{fmt}"
        return PrestartedWorker(fmt, variant.format_dirs[fmt], self.suite.measure.threads, folder)

    def measure(self, variant: Variant, fmt: str, inputs: Path, worker: Any = None) -> dict[str, Any]:
        """Latency and memory of one (model, format), in its own process (``worker``, when pre-started)."""
        from harness.measure.isolated import MeasureJob, measure_in_subprocess

        config = self.suite.measure
        job = MeasureJob(
            model_dir=str(variant.format_dirs[fmt]),
            fmt=fmt,
            inputs=str(inputs),
            batch_sizes=list(config.batch_sizes),
            device=self.options.device,
            threads=config.threads,
            warmup=config.warmup,
            min_iterations=config.min_iterations,
            min_seconds=config.min_seconds,
        )
        return measure_in_subprocess(job, self.dir / variant.label / f"measure-{fmt}", worker=worker)

    def record_key(self, variant: Variant, fmt: str, teacher_build: str) -> str:
        """The cache key of one finished record (evaluation and measurement of a model in a format)."""
        return stage_key(
            "record",
            {
                "model": variant.build,
                "format": fmt,
                "folder": str(variant.format_dirs[fmt]),  # the export entry, keyed on the model's build
                "teacher": teacher_build,
                "eval": self.data_fingerprint["eval"],
                "measure": self.suite.measure.model_dump(mode="json"),
                "tolerance": self.suite.export_tolerance,
                "bootstrap": self.options.bootstrap_resamples,
                "seed": self.options.seed,
                "device": self.options.device,
                "primary_metric": self.spec.primary_metric,
            },
        )

    def run(self) -> list[Record]:
        """All stages of this task; returns one record per (model, format)."""
        if not self.prepared:
            self.prepare_data()
        teacher = self.teacher_variant()
        variants = [teacher] + [self.student_variant(student, teacher) for student in self.students]
        for variant in variants:
            self.export(variant)
        records: list[Record] = []
        inputs: Path | None = None
        teacher_predictions: list[Any] | None = None
        for variant in variants:
            reference: Evaluation | None = None
            for fmt, folder in variant.format_dirs.items():
                key = self.record_key(variant, fmt, teacher.build)
                entry = self._lookup("record", key)
                if entry is not None:
                    record = Record.model_validate({**entry.metadata["record"], "cached": True})
                    predictions = entry.metadata["predictions"]
                else:
                    if reference is None and fmt != "pytorch":  # parity needs the PyTorch outputs
                        reference = self.evaluate(variant, "pytorch")
                    # The measurement process starts now and imports its runtime while this one evaluates.
                    worker = self.prestart_measurement(variant, fmt)
                    try:
                        log.info("[%s] evaluating %s (%s)", self.spec.name, variant.name, fmt)
                        evaluation = self.evaluate(variant, fmt)
                        if fmt == "pytorch":
                            reference = evaluation
                        inputs = inputs or self.measurement_inputs(self.dir)
                    except BaseException:
                        worker.close()
                        raise
                    log.info("[%s] measuring %s (%s)", self.spec.name, variant.name, fmt)
                    measured = self.measure(variant, fmt, inputs, worker)
                    record = self._record(variant, fmt, folder, evaluation, reference, teacher_predictions, measured)
                    predictions = evaluation.output.predictions
                    with self.cache.write("record", key) as (_, meta):
                        meta["record"] = record.model_dump(mode="json")
                        meta["predictions"] = predictions
                if variant.role == "teacher" and fmt == "pytorch":
                    teacher_predictions = predictions
                records.append(record)
            for fmt, error in variant.format_errors.items():
                records.append(self._failed_record(variant, fmt, error))
        shutil.rmtree(self.dir / "work", ignore_errors=True)
        return records

    def _record(
        self,
        variant: Variant,
        fmt: str,
        folder: Path,
        evaluation: Evaluation,
        reference: Evaluation | None,
        teacher_predictions: list[Any] | None,
        measured: dict[str, Any],
    ) -> Record:
        lineage = variant.lineage.model_copy()
        status, reason, parity_info = "ok", None, None
        if fmt != "pytorch" and reference is not None:
            parity_info = parity(reference, evaluation, self.kind, self.suite.export_tolerance)
            lineage.exported_from = f"{variant.name} (pytorch)"
            if fmt == "onnx-int8":
                lineage.quantized_from = f"{variant.name} (onnx)"
            if not parity_info["passed"]:
                status = "failed"
                reason = (
                    f"{self.spec.primary_metric} fell by {-parity_info['metric_delta']:.4f} after export to {fmt}, "
                    f"more than the tolerance {self.suite.export_tolerance}"
                )
        extra: dict[str, Any] = {"eval_s": round(evaluation.eval_s, 3), "load_s": measured.get("load_s")}
        if variant.role == "student" and teacher_predictions is not None:
            extra["teacher_agreement"] = self.kind.agreement(teacher_predictions, evaluation.output.predictions)
        weights = "*.onnx" if fmt.startswith("onnx") else "*.safetensors"
        return Record(
            task=self.spec.name,
            kind=self.spec.kind,
            model=variant.name,
            teacher=display_name(self.teacher_name),
            role=variant.role,  # type: ignore[arg-type]
            format=fmt,  # type: ignore[arg-type]
            lineage=lineage,
            params=variant.params,
            size_mb=round(folder_size_mb(folder, weights), 3),
            metrics=evaluation.metrics,
            primary_metric=self.spec.primary_metric,
            score=evaluation.score,
            score_ci=evaluation.score_ci,
            eval_examples=len(self.eval_raw),
            latency_ms=measured["latency_ms"],
            throughput_per_s=measured.get("throughput_per_s"),
            peak_rss_mb=measured.get("peak_rss_mb"),
            train=variant.train_cost.to_dict() if (variant.train_cost and fmt == "pytorch") else None,
            status=status,  # type: ignore[arg-type]
            status_reason=reason,
            parity=parity_info,
            data=self.origins,
            **extra,
        )

    def _failed_record(self, variant: Variant, fmt: str, error: str) -> Record:
        return Record(
            task=self.spec.name,
            kind=self.spec.kind,
            model=variant.name,
            teacher=display_name(self.teacher_name),
            role=variant.role,  # type: ignore[arg-type]
            format=fmt,  # type: ignore[arg-type]
            lineage=variant.lineage,
            params=variant.params,
            primary_metric=self.spec.primary_metric,
            status="failed",
            status_reason=error,
        )


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch so that a model built next is the same in every run."""
    from transformers import set_seed

    set_seed(seed)


def resolve_tasks(options: RunOptions) -> list[TaskSpec]:
    """The task specs of the run: ``--tasks`` when given, else the suite's."""
    return [get_task(name) for name in (options.tasks or options.suite.tasks)]


def run_unit(task_run: TaskRun, run_dir: Path) -> list[Record]:
    """One (task, teacher) unit: every stage of the task for that teacher and its students
    (and the extra seeds' repeats). Units are independent of each other; executors run them."""
    records = task_run.run()
    if task_run.options.extra_seeds:
        add_seed_statistics(records, task_run, task_run.options, run_dir, task_run.environment)
    return records


def run(options: RunOptions, run_dir: Path) -> RunResults:
    """Run every task of the suite and return the results (the caller writes them)."""
    import torch

    from harness.environment import capture_environment
    from harness.executors import get_executor

    start = time.perf_counter()
    if not options.progress:  # --quiet: no tokenization progress bars on stderr either
        import datasets

        datasets.disable_progress_bars()
    options.device = check_device(options.device)
    specs = resolve_tasks(options)  # fail on a bad task name before any training starts
    threads = options.threads or training_threads()
    torch.set_num_threads(threads)
    environment = capture_environment(seed=options.seed, threads=threads)
    environment["measure_threads"] = options.suite.measure.threads
    results = RunResults(
        run_id=run_dir.name,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        suite=options.suite.name,
        environment=environment,
        config={
            "suite": options.suite.model_dump(mode="json"),
            "tasks": [s.model_dump(mode="json") for s in specs],
            "teacher": options.teacher_names()[0],  # kept for readers of older results
            "teachers": options.teacher_names(),
            "executor": options.executor,
            "students": options.students or options.suite.students,
            "max_train": options.max_train,
            "max_eval": options.max_eval,
            "data_dir": options.data_dir,
            "device": options.device,
            "seed": options.seed,
            "bootstrap_resamples": options.bootstrap_resamples,
            "python_platform": platform.platform(),
        },
    )
    executor = get_executor(options)
    # Every unit is checked (kind, metric, loss terms, students, teacher path and config) before any training.
    task_runs = [
        TaskRun(spec, options, run_dir, environment, teacher=teacher)
        for spec in specs
        for teacher in options.teacher_names()
    ]
    for task_run in task_runs:  # every task's data too: a bad file in the last task fails before the first trains
        task_run.prepare_data()
    for task_run in task_runs:
        baseline = task_run.kind.baseline(task_run.spec, task_run.train_raw, task_run.eval_raw)
        if baseline is not None:
            results.baselines[task_run.spec.name] = baseline
    log.info("run directory: %s (inputs checked; training starts)", run_dir)
    for records in executor.run_units(task_runs, run_dir):
        results.records.extend(records)
    results.wall_s = round(time.perf_counter() - start, 2)
    return results


def add_seed_statistics(
    records: list[Record], task_run: TaskRun, options: RunOptions, run_dir: Path, environment: dict[str, Any]
) -> None:
    """Train and evaluate the task again with each extra seed; attach every record's scores across seeds
    (``seed_scores``: seeds, scores, mean, std). Records and CIs stay those of the main seed."""
    import dataclasses
    import statistics

    scores: dict[tuple[str, str], list[float | None]] = {(r.model, r.format): [r.score] for r in records}
    for seed in options.extra_seeds:
        log.info("[%s] repeating with seed %d", task_run.spec.name, seed)
        again = TaskRun(
            task_run.spec, dataclasses.replace(options, seed=seed), run_dir, environment, teacher=task_run.teacher_name
        )
        for record in again.run():
            scores.setdefault((record.model, record.format), []).append(record.score)
    seeds = [options.seed, *options.extra_seeds]
    for record in records:
        values = [v for v in scores[(record.model, record.format)] if v is not None]
        if len(values) == len(seeds):
            record.seed_scores = {  # type: ignore[attr-defined]
                "seeds": seeds,
                "scores": values,
                "mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            }


# Sustained training throughput assumed by --dry-run's estimates: about 70 % of the fp32 matmul peak
# measured on the reference 2-core CPU (85 GFLOP/s in training; see README, "Runner").
ESTIMATE_FLOPS_PER_S = 60e9
ESTIMATE_SECONDS_PER_RECORD = 8.0


def _encoder_params(source: str) -> tuple[int, int]:
    """(layers, 12·L·H²): the usual non-embedding parameter estimate of a transformer."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(source)
    config = getattr(config, "encoder", None) or config
    layers = int(getattr(config, "num_hidden_layers", 0) or getattr(config, "n_layer", 0) or 0)
    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "n_embd", 0) or 0)
    return layers, 12 * layers * hidden * hidden


def plan(options: RunOptions, run_dir: Path) -> list[dict[str, Any]]:
    """What a run would do: each stage, whether it is cached, and an estimated cost (``--dry-run``)."""
    from harness.environment import capture_environment
    from harness.train import count_tokens

    options.device = check_device(options.device)
    environment = capture_environment(seed=options.seed)
    rows: list[dict[str, Any]] = []
    teachers = options.teacher_names()
    for spec, teacher in [(spec, teacher) for spec in resolve_tasks(options) for teacher in teachers]:
        task_run = TaskRun(spec, options, run_dir, environment, teacher=teacher)
        task_run.prepare_data()
        tokens = count_tokens(task_run.train_features)
        layers, teacher_n = _encoder_params(task_run.teacher_source)
        teacher_key = task_run.teacher_key()
        teacher_meta = None if "finetune" in options.force else task_run.cache.peek_metadata("finetune", teacher_key)
        cached = teacher_meta is not None
        # A teacher trained anew is a new build: none of its students can be cached yet.
        teacher_build = build_of(teacher_meta, teacher_key) if teacher_meta is not None else None
        teacher_flops = 6.0 * teacher_n * tokens * spec.training.epochs
        rows.append(
            {"task": spec.name, "stage": "finetune", "model": task_run.teacher_name, "key": teacher_key,
             "cached": cached, "estimate_s": 0.0 if cached else teacher_flops / ESTIMATE_FLOPS_PER_S}
        )
        for student in task_run.students:
            key = task_run.student_key(student, teacher_build) if teacher_build else "-"
            cached = teacher_build is not None and task_run.cache.has("distill", key) and "distill" not in options.force
            keep = len(student.layers) if student.layers else (student.layer_count or layers)
            student_n = teacher_n * keep / max(layers, 1)
            epochs = spec.distillation.epochs or spec.training.epochs
            flops = (6.0 * student_n + 2.0 * teacher_n) * tokens * epochs
            rows.append(
                {"task": spec.name, "stage": "distill", "key": key, "cached": cached,
                 "model": student.text if len(teachers) == 1 else f"{student.text} from {display_name(teacher)}",
                 "estimate_s": 0.0 if cached else flops / ESTIMATE_FLOPS_PER_S}
            )
        formats = len(options.suite.formats)
        rows.append(
            {"task": spec.name, "stage": "export+evaluate+measure", "model": f"{1 + len(task_run.students)} models",
             "key": "-", "cached": False,
             "estimate_s": ESTIMATE_SECONDS_PER_RECORD * formats * (1 + len(task_run.students))}
        )
    return rows
