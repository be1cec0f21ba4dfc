"""One unit of a run: a (task, teacher) pair, its data, and the stage graph of its models.

The unit owns what its stages share (the task kind, the tokenizer, the tokenized splits, the fine-tuned
teacher in memory, the PyTorch evaluations that exports are checked against) and builds the graph that
:mod:`harness.graph` walks. It talks to task kinds only through :class:`tasks.kinds.base.TaskKind` and
never branches on the kind.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from harness.cache import StageCache, fingerprint_rows
from harness.graph import Graph, GraphObserver, Node, plan_graph, run_graph
from harness.models import load_saved_model, load_tokenizer, resolve_model_source
from harness.options import RunOptions, display_name
from harness.per_example import REFERENCES_KEY, attach_paired_stats, eval_set, reference_record
from harness.preflight import ONNX_FORMATS, check_unit_models
from harness.results import Record
from harness.stages import ADAPT, DISTILL, ESTIMATE, EXPORT, FINETUNE, RECORD
from harness.students import parse_student
from tasks.data import load_splits
from tasks.errors import ReusebenchError
from tasks.kinds import TaskKind, get_kind
from tasks.spec import TaskSpec

log = logging.getLogger("reusebench")


class TaskUnit:
    """The stages of one task for one teacher, sharing the tokenizer, the data and the teacher."""

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
        self.run_dir = run_dir
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
        self.students = [parse_student(text) for text in options.student_texts()]
        self.methods = self.adaptation_methods()  # fail before any training
        check_unit_models(self)
        self.prepared = False
        self.cache = options.cache or StageCache(run_dir / "cache", enabled=False)
        self.teacher_dir: Path | None = None
        self._teacher_model: Any = None
        #: PyTorch evaluations by model build: what each export's parity is checked against.
        self.references: dict[str, Any] = {}
        self._measure_inputs: Path | None = None
        #: profile rows (JSON) of the nodes this run's training pass trained, by key (:mod:`harness.training_pass`)
        self.handed: dict[str, dict[str, Any]] = {}

    def rebuild_args(self) -> tuple[Any, ...]:
        """The arguments that build this unit again elsewhere (a Ray worker): ``TaskUnit(*args)``."""
        return (self.spec, self.options, self.run_dir, self.environment, self.teacher_name)

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

    # -- shared state of the stages ---------------------------------------------------------------
    @property
    def teacher_model(self) -> Any:
        """The fine-tuned teacher in memory (loaded from its folder when it came from the cache)."""
        if self._teacher_model is None:
            assert self.teacher_dir is not None, "the teacher's stage has not run"
            self._teacher_model = load_saved_model(self.teacher_dir)
        return self._teacher_model

    @teacher_model.setter
    def teacher_model(self, model: Any) -> None:
        self._teacher_model = model

    def save_model(self, model: Any, folder: Path) -> None:
        """Save a trained model with the unit's tokenizer (safetensors only)."""
        model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)

    def measurement_inputs(self) -> Path:
        """The measurement inputs of this unit's eval split, written once (see :mod:`harness.measure.inputs`)."""
        from harness.measure.inputs import write_measurement_inputs

        if self._measure_inputs is None:
            self._measure_inputs = write_measurement_inputs(self, self.dir)
        return self._measure_inputs

    # -- the graph --------------------------------------------------------------------------
    def formats_of(self, role: str) -> list[str]:
        """The formats a model of ``role`` is evaluated in: PyTorch always, then the suite's ONNX formats
        (for the suite's ``onnx_roles``)."""
        formats = self.suite.formats
        wanted = ["pytorch"]
        if role not in self.suite.onnx_roles:
            return wanted
        if "onnx" in formats:
            wanted.append("onnx")
        if role in self.suite.int8_roles:
            wanted += [fmt for fmt in ("onnx-int8", "onnx-int8-static") if fmt in formats]
        return wanted

    def build_graph(self) -> Graph:
        """Teacher, students, their exports, and one record per (model, format), in run order."""
        graph = Graph()
        if "estimate" in self.methods:
            graph.add(ESTIMATE, display_name(self.teacher_name))
        teacher = graph.add(FINETUNE, display_name(self.teacher_name))
        models = [teacher]
        for student in self.students:
            subject = student.text if len(self.options.teacher_names()) == 1 else (
                f"{student.text} from {display_name(self.teacher_name)}"
            )
            models.append(graph.add(DISTILL, subject, inputs={"teacher": teacher}, student=student))
        for method in (m for m in self.methods if m in ("probe", "lora")):
            models.append(graph.add(ADAPT, f"{display_name(self.teacher_name)} ({method})", method=method))
        exports: dict[int, Node] = {}
        if set(ONNX_FORMATS) & set(self.suite.formats):
            for index, model in enumerate(models):
                if self._role(model) in self.suite.onnx_roles:  # export only what a record will read
                    exports[index] = graph.add(EXPORT, model.subject, inputs={"model": model}, role=self._role(model))
        teacher_record: Node | None = None
        for index, model in enumerate(models):
            for fmt in self.formats_of(self._role(model)):
                inputs = {"model": model, "teacher": teacher}
                if fmt != "pytorch":
                    inputs["export"] = exports[index]
                needs = {"teacher_record": teacher_record} if teacher_record is not None else {}
                node = graph.add(RECORD, f"{model.subject} ({fmt})", inputs=inputs, needs=needs, fmt=fmt)
                if model is teacher and fmt == "pytorch":
                    teacher_record = node
        return graph

    @staticmethod
    def _role(node: Node) -> str:
        return {FINETUNE.name: "teacher", ADAPT.name: "adapted"}.get(node.stage.name, "student")

    def adaptation_methods(self) -> list[str]:
        """The adaptation methods of this task: the task's own ``adaptation`` (a method its kind lacks is an
        error), else the suite's, less those the kind lacks (skipped with a line in the log: generation has no
        head for a linear probe and no labels to estimate against)."""
        supported = self.kind.adaptation_methods
        if self.spec.adaptation is not None:
            unsupported = [m for m in self.spec.adaptation if m not in supported]
            if unsupported:
                raise ReusebenchError(
                    f"task {self.spec.name!r}: field 'adaptation': {', '.join(unsupported)} not supported by kind "
                    f"{self.kind.name!r}; allowed values: {', '.join(supported)}"
                )
            return list(self.spec.adaptation)
        for method in self.suite.adaptation:
            if method not in supported:
                log.info("[%s] adaptation %r: not applicable to kind %s", self.spec.name, method, self.kind.name)
        return [m for m in self.suite.adaptation if m in supported]

    def run(self, observer: GraphObserver | None = None) -> list[Record]:
        """All stages of this task (each shown to ``observer``, e.g. the progress lines); returns one record
        per (model, format)."""
        if not self.prepared:
            self.prepare_data()
        graph = self.build_graph()
        run_graph(self, graph, self.cache, self.options.force, observer)
        shutil.rmtree(self.dir / "work", ignore_errors=True)
        return self._finish_records(graph, [node for node in graph.of_stage(RECORD.name) if node.result is not None])

    def _finish_records(self, graph: Graph, nodes: list[Node]) -> list[Record]:
        """Each record with its predictions, eval fingerprint and model folder, and paired statistics
        against the teacher; the teacher's record carries the eval references out of the unit."""
        records, references = [], None
        for node in nodes:
            outcome, record = node.result, node.result.record
            if outcome.predictions is not None and record.status == "ok":
                record.predictions = outcome.predictions
                record.eval_fingerprint = self.data_fingerprint["eval"]
                references = references if references is not None else outcome.references
            folder = RECORD.format_dir(self, node)
            if folder.exists():
                record.artifact = str(folder)
            records.append(record)
        attach_paired_stats(self, records, references)
        teacher = reference_record(records)
        estimates = [node.result for node in graph.of_stage(ESTIMATE.name) if node.result is not None]
        if teacher is not None and estimates:
            teacher.transferability = estimates[0]
        if teacher is not None and references is not None:
            setattr(teacher, REFERENCES_KEY, eval_set(self, references).model_dump(mode="json"))
        return records

    def plan(self) -> list[dict[str, Any]]:
        """What :meth:`run` would do, node by node (``--dry-run``)."""
        if not self.prepared:
            self.prepare_data()
        return plan_graph(self, self.build_graph(), self.cache, self.options.force)
