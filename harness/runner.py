"""Run a suite: for each task, fine-tune the teacher, distill students, export, evaluate, measure.

The runner talks to task kinds only through :class:`tasks.kinds.base.TaskKind`; it never branches
on the kind. Each stage writes its artifacts under ``RUN_DIR/artifacts/<task>/<model>/<format>``.
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
from harness.evaluation import Evaluation, evaluate_predictor, parity
from harness.export import copy_side_files, export_onnx, folder_size_mb, quantize_dynamic_int8
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
    teacher: str | None = None
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
    trust_remote_code: bool = False
    allow_pickle: bool = False


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

    def __init__(self, spec: TaskSpec, options: RunOptions, run_dir: Path, environment: dict[str, Any]):
        self.spec = spec
        self.kind: TaskKind = get_kind(spec.kind)
        self.options = options
        self.suite = options.suite
        self.environment = environment
        self.dir = run_dir / "artifacts" / spec.name
        self.teacher_name = options.teacher or self.suite.teacher
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

    def train_teacher(self) -> Variant:
        """Fine-tune the teacher on the task."""
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
        )
        folder = self.dir / "teacher" / "pytorch"
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

    def train_student(self, student: StudentSpec, teacher: Variant) -> Variant:
        """Build a student and distill the fine-tuned teacher into it."""
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
        )
        folder = self.dir / student.label / "pytorch"
        self._save(model, folder)
        return Variant(
            name=f"{teacher.name}-{student.label}",
            role="student",
            pytorch_dir=folder,
            params=sum(p.numel() for p in model.parameters()),
            train_cost=cost,
            lineage=Lineage(distilled_from=f"{teacher.name} (fine-tuned on {self.spec.name})", base_model=student.text),
        )

    # -- export -----------------------------------------------------------------------------
    def export(self, variant: Variant) -> None:
        """Export to the suite's formats; an export error fails that format only."""
        variant.format_dirs["pytorch"] = variant.pytorch_dir
        formats = self.suite.formats
        root = variant.pytorch_dir.parent
        if "onnx" in formats or "onnx-int8" in formats:
            try:
                export_onnx(variant.pytorch_dir, root / "onnx", self.kind.onnx_export_task(self.spec, variant.pytorch_dir))
                copy_side_files(variant.pytorch_dir, root / "onnx")
                variant.format_dirs["onnx"] = root / "onnx"
            except ReusebenchError as exc:
                variant.format_errors["onnx"] = str(exc)
                log.warning("[%s] %s", self.spec.name, exc)
            except OSError as exc:  # disk full, read-only disk: stop the run, keep what is trained
                raise _write_error(exc, root / "onnx", variant.pytorch_dir) from None
        wants_int8 = "onnx-int8" in formats and variant.role in self.suite.int8_roles
        if wants_int8 and "onnx" in variant.format_dirs:
            try:
                quantize_dynamic_int8(root / "onnx", root / "onnx-int8", self.environment.get("cpu_flags", []))
                variant.format_dirs["onnx-int8"] = root / "onnx-int8"
            except ReusebenchError as exc:
                variant.format_errors["onnx-int8"] = str(exc)
            except OSError as exc:
                raise _write_error(exc, root / "onnx-int8", variant.pytorch_dir) from None
        if "onnx" not in formats:
            variant.format_dirs.pop("onnx", None)

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

    def measure(self, variant: Variant, fmt: str, inputs: Path) -> dict[str, Any]:
        """Latency and memory of one (model, format), in its own process."""
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
        return measure_in_subprocess(job, variant.format_dirs[fmt].parent / f"measure-{fmt}")

    def run(self) -> list[Record]:
        """All stages of this task; returns one record per (model, format)."""
        if not self.prepared:
            self.prepare_data()
        teacher = self.train_teacher()
        variants = [teacher]
        for student in self.students:
            variants.append(self.train_student(student, teacher))
        for variant in variants:
            log.info("[%s] exporting %s", self.spec.name, variant.name)
            self.export(variant)
        inputs = self.measurement_inputs(self.dir)
        records: list[Record] = []
        teacher_eval: Evaluation | None = None
        for variant in variants:
            reference: Evaluation | None = None
            for fmt, folder in variant.format_dirs.items():
                log.info("[%s] evaluating %s (%s)", self.spec.name, variant.name, fmt)
                evaluation = self.evaluate(variant, fmt)
                if fmt == "pytorch":
                    reference = evaluation
                    if variant.role == "teacher":
                        teacher_eval = evaluation
                log.info("[%s] measuring %s (%s)", self.spec.name, variant.name, fmt)
                measured = self.measure(variant, fmt, inputs)
                records.append(self._record(variant, fmt, folder, evaluation, reference, teacher_eval, measured))
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
        teacher_eval: Evaluation | None,
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
        if variant.role == "student" and teacher_eval is not None:
            extra["teacher_agreement"] = self.kind.agreement(
                teacher_eval.output.predictions, evaluation.output.predictions
            )
        weights = "*.onnx" if fmt.startswith("onnx") else "*.safetensors"
        return Record(
            task=self.spec.name,
            kind=self.spec.kind,
            model=variant.name,
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


def run(options: RunOptions, run_dir: Path) -> RunResults:
    """Run every task of the suite and return the results (the caller writes them)."""
    import torch

    from harness.environment import capture_environment

    start = time.perf_counter()
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
            "teacher": options.teacher or options.suite.teacher,
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
    # Every task is checked (kind, metric, loss terms, students, teacher path and config) before any training.
    task_runs = [TaskRun(spec, options, run_dir, environment) for spec in specs]
    for task_run in task_runs:  # every task's data too: a bad file in the last task fails before the first trains
        task_run.prepare_data()
    for task_run in task_runs:
        results.records.extend(task_run.run())
    results.wall_s = round(time.perf_counter() - start, 2)
    return results
