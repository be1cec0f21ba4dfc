"""The record stage: evaluate one (model, format) on the eval split and measure its latency and memory.

Evaluation runs here, through the same predictor interface as measurement; latency and memory are
measured in a separate process per (model, format), forked by a server that imported its runtime once
(:mod:`harness.measure.forkserver`; started while the training pass's last job runs, see
:func:`prepare_measurement`, or else at the first record that needs it, its import overlapping this process's
evaluation). An ONNX format
is checked against the PyTorch evaluation of the same model (parity of the task metric).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from harness.backends import load_predictor
from harness.cache import CacheEntry
from harness.estimate import ESTIMATE_SECONDS_PER_RECORD
from harness.evaluation import Evaluation, evaluate_predictor
from harness.graph import PROCEED, Node, StageBase
from harness.records import build_record, failed_record
from harness.results import Record
from harness.variants import Variant

log = logging.getLogger("reusebench")


@dataclass
class Outcome:
    """A record and the predictions behind it (students' agreement is computed against the teacher's)."""

    record: Record
    predictions: list[Any] | None = None
    #: what the predictions are scored against (the same for every record of a unit)
    references: list[Any] | None = None


def evaluate(unit: Any, folder: Path, fmt: str) -> Evaluation:
    """Evaluate the model in ``folder`` (format ``fmt``) on the unit's eval split."""
    options = unit.options
    predictor = load_predictor(folder, fmt, device=options.device, threads=options.threads)
    return evaluate_predictor(
        unit.spec,
        unit.kind,
        predictor,
        unit.eval_features,
        unit.eval_raw,
        unit.tokenizer,
        seed=options.seed,
        resamples=options.bootstrap_resamples,
    )


def measurement_server(unit: Any, fmt: str, folder: Path) -> Any:
    """The fork server that measures ``fmt`` models of this unit (started now when none runs: it imports its
    runtime while the caller evaluates)."""
    from harness.measure.forkserver import SERVERS, runtime_of

    return SERVERS.get(runtime_of(fmt, folder), unit.suite.measure.threads, unit.dir.parent)


def measurement_runtimes(units: list[Any]) -> set[tuple[str, int]]:
    """The (runtime, threads) of the measurement servers that the record nodes of ``units`` will use."""
    from harness.measure.forkserver import runtime_for

    keys = set()
    for unit in units:
        threads = unit.suite.measure.threads
        # by the kind: the model folders are not made yet (runtime_of reads them)
        generation = unit.kind.name == "generation"
        for node in unit.build_graph().nodes:
            if node.stage.name == RecordStage.name:
                keys.add((runtime_for(node.params["fmt"], generation), threads))
    return keys


#: imports that :func:`prepare_measurement` runs in this process in the background (joined before measuring)
_background_imports: list[Any] = []


def prepare_measurement(units: list[Any]) -> None:
    """Start the measurement servers ``units`` need, and import optimum's generation classes in this process
    (evaluation loads models here) in a background thread: the training pass calls this when a lane has no
    more work, so that the imports use the idle core instead of delaying the first records. No latency is
    measured before every server has imported (:meth:`ForkServerPool.wait_all_ready`)."""
    import threading

    from harness.backends import import_onnx_generation_classes
    from harness.measure.forkserver import SERVERS

    if not units:
        return
    runtimes = measurement_runtimes(units)
    log.info("a lane is free: starting the measurement servers (%s)",
             ", ".join(f"{runtime} at {threads} thread(s)" for runtime, threads in sorted(runtimes)))
    SERVERS.prestart(runtimes, units[0].dir.parent)
    if any(runtime == "onnx-generation" for runtime, _ in runtimes):
        thread = threading.Thread(target=import_onnx_generation_classes, name="import-ort-generation", daemon=True)
        thread.start()
        _background_imports.append(thread)


def wait_for_imports() -> None:
    """Wait until no measurement server and no background import of this process is still importing: an
    import beside a latency measurement would slow it down."""
    from harness.measure.forkserver import SERVERS

    while _background_imports:
        _background_imports.pop().join()
    SERVERS.wait_all_ready()


def measure(unit: Any, variant: Variant, fmt: str, folder: Path, inputs: Path) -> dict[str, Any]:
    """Latency and memory of one (model, format), in a process of its own forked by the runtime's server."""
    from harness.measure.isolated import MeasureJob, measure_in_subprocess

    config = unit.suite.measure
    job = MeasureJob(
        model_dir=str(folder),
        fmt=fmt,
        inputs=str(inputs),
        batch_sizes=list(config.batch_sizes),
        device=unit.options.device,
        threads=config.threads,
        warmup=config.warmup,
        min_iterations=config.min_iterations,
        min_seconds=config.min_seconds,
    )
    server = measurement_server(unit, fmt, folder)
    wait_for_imports()
    return measure_in_subprocess(job, unit.dir / variant.label / f"measure-{fmt}", server=server)


class RecordStage(StageBase):
    """Evaluation and measurement of one trained model in one format."""

    name: ClassVar[str] = "record"
    after: ClassVar[tuple[str, ...]] = ("finetune", "distill", "adapt", "export")

    @staticmethod
    def format_dir(unit: Any, node: Node) -> Path:
        """The folder of the node's (model, format): the model's own entry, or its export's."""
        fmt = node.params["fmt"]
        if fmt == "pytorch":
            model = node.inputs["model"]
            return unit.cache.path_for(model.stage.name, str(model.key))
        return unit.cache.path_for("export", str(node.inputs["export"].key)) / fmt

    def shortcut(self, unit: Any, node: Node) -> Any:
        """A failed record when the export of this format failed; nothing when it was not made."""
        fmt = node.params["fmt"]
        if fmt == "pytorch":
            return PROCEED
        exports = node.inputs["export"].result
        if fmt in exports.errors:
            return Outcome(failed_record(unit, node.inputs["model"].result, fmt, exports.errors[fmt]))
        return PROCEED if exports.folder(fmt) is not None else None

    def payload(self, unit: Any, node: Node) -> dict[str, Any]:
        return {
            "model": node.input_build("model"),
            "format": node.params["fmt"],
            "folder": str(self.format_dir(unit, node)),  # the export entry, keyed on the model's build
            "teacher": node.input_build("teacher"),
            "eval": unit.data_fingerprint["eval"],
            "measure": unit.suite.measure.model_dump(mode="json"),
            "tolerance": unit.suite.export_tolerance,
            "bootstrap": unit.options.bootstrap_resamples,
            "seed": unit.options.seed,
            "device": unit.options.device,
            "primary_metric": unit.spec.primary_metric,
            "outputs": "per-example",  # entries written before records kept their predictions lack references
        }

    def load(self, unit: Any, node: Node, entry: CacheEntry) -> Outcome:
        record = Record.model_validate({**entry.metadata["record"], "cached": True})
        return Outcome(record, entry.metadata["predictions"], entry.metadata.get("references"))

    def _reference(self, unit: Any, node: Node, variant: Variant) -> Evaluation:
        """The PyTorch evaluation of ``variant`` (evaluated now when its own record came from the cache)."""
        if variant.build not in unit.references:
            pytorch_dir = unit.cache.path_for(node.inputs["model"].stage.name, str(node.inputs["model"].key))
            unit.references[variant.build] = evaluate(unit, pytorch_dir, "pytorch")
        return unit.references[variant.build]

    def compute(self, unit: Any, node: Node, folder: Path, meta: dict[str, Any]) -> Outcome:
        variant: Variant = node.inputs["model"].result
        fmt = node.params["fmt"]
        model_dir = self.format_dir(unit, node)
        reference = self._reference(unit, node, variant) if fmt != "pytorch" else None
        # The runtime's measurement server (started at the first record that needs it) imports while this
        # process evaluates.
        measurement_server(unit, fmt, model_dir)
        log.info("[%s] evaluating %s (%s)", unit.spec.name, variant.name, fmt)
        evaluation = evaluate(unit, model_dir, fmt)
        if fmt == "pytorch":
            unit.references[variant.build] = evaluation
        inputs = unit.measurement_inputs()
        log.info("[%s] measuring %s (%s)", unit.spec.name, variant.name, fmt)
        measured = measure(unit, variant, fmt, model_dir, inputs)
        teacher_record = node.needs.get("teacher_record")
        teacher_predictions = teacher_record.result.predictions if teacher_record is not None else None
        record = build_record(unit, variant, fmt, model_dir, evaluation, reference, teacher_predictions, measured)
        meta["record"] = record.model_dump(mode="json")
        meta["predictions"] = evaluation.output.predictions
        meta["references"] = evaluation.output.references
        return Outcome(record, evaluation.output.predictions, evaluation.output.references)

    def estimate_s(self, unit: Any, node: Node) -> float:
        return ESTIMATE_SECONDS_PER_RECORD * unit.kind.params_per_encoder_param
