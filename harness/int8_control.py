"""Making the int8 formats of one model, with an optional accuracy check (the suite's ``int8:`` block).

Both int8 methods (``onnx-int8`` dynamic, ``onnx-int8-static`` static) are made from the fp32 ONNX export.
Their inputs are a seeded sample of the unit's **training** split, cut in two disjoint slices:

* the *check* slice (``int8.check_examples``, at most half the split), scored only when ``int8.max_drop`` is
  set. The eval split is never used: choosing which nodes stay fp32 by the eval score, then reporting that
  score, would fit the int8 model to its own test. The slice is held out from calibration, not from training
  (the model was trained on it), so its drop reads low on a confident model; the record's parity check on the
  eval split still judges the result.
* the *calibration* slice (``int8.calibration_examples``): static int8's activation ranges, and the inputs
  the per-node sensitivity is estimated on.

The accuracy loop (after NNCF's ``quantize_with_accuracy_control``): quantize; if the primary metric falls
more than ``max_drop`` below the fp32 ONNX model's on the check slice, rank the quantized MatMul/Gemm nodes by
:func:`harness.quantize.node_sensitivity` and quantize again keeping the 1, 2, 4, ... worst in fp32, until the
drop is within ``max_drop`` or ``max_attempts`` quantizations were made. The first attempt within the limit is
kept, else the one with the smallest drop. Generation models (several graphs) are quantized once, unchecked.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.backends import ONNX_FILE
from harness.measure.inputs import INPUT_COLUMNS
from harness.quantize import (
    CALIBRATION_BATCH,
    INT8_METHODS,
    SENSITIVITY_EXAMPLES,
    int8_isa,
    node_sensitivity,
    quantize_static_int8,
    single_graph,
    static_settings,
    write_quantization,
)

log = logging.getLogger("reusebench")
#: The nodes the record lists with their estimated error (the worst first).
SHOWN_SENSITIVITY = 10


@dataclass
class Attempt:
    """One quantization of the accuracy loop: the nodes it kept fp32, its check score and drop."""

    kept: list[str]
    folder: Path
    score: float | None = None
    drop: float = math.inf

    def as_dict(self) -> dict[str, Any]:
        """The record's view: how many nodes were kept, the score and the drop (None where undefined)."""
        return {"kept_fp32": len(self.kept), "score": self.score, "drop": self.drop}


def keep_schedule(candidates: int, max_attempts: int) -> list[int]:
    """How many nodes each attempt keeps fp32: 0, 1, 2, 4, ... (then all), ``max_attempts`` values at most."""
    counts, count = [0], 1
    while len(counts) < max_attempts and counts[-1] < candidates:
        counts.append(min(count, candidates))
        count *= 2
    return counts


def control_loop(
    quantize: Callable[[list[str], Path], None],
    score: Callable[[Path], float | None],
    rank: Callable[[], list[str]],
    reference: float,
    max_drop: float,
    max_attempts: int,
    workdir: Path,
) -> tuple[Attempt, list[Attempt]]:
    """Quantize until the drop against ``reference`` is at most ``max_drop`` (see the module docstring).

    ``quantize(kept, folder)`` writes a model keeping ``kept`` fp32, ``score(folder)`` scores it, ``rank()``
    (called once, after the first attempt misses) orders the candidate nodes, the costliest first.
    Returns the chosen attempt and all attempts.
    """
    attempts: list[Attempt] = []
    ranked: list[str] | None = None
    counts = [0]
    while len(attempts) < len(counts):
        attempt = Attempt(kept=(ranked or [])[: counts[len(attempts)]], folder=workdir / f"attempt-{len(attempts)}")
        quantize(attempt.kept, attempt.folder)
        attempt.score = score(attempt.folder)
        if attempt.score is not None and math.isfinite(attempt.score):
            attempt.drop = reference - attempt.score
        attempts.append(attempt)
        if attempt.drop <= max_drop:
            return attempt, attempts
        if ranked is None:
            ranked = rank()
            counts = keep_schedule(len(ranked), max_attempts)
    return min(attempts, key=lambda a: (a.drop, len(a.kept))), attempts


@dataclass
class Int8Inputs:
    """The training-split slices an int8 format is made and checked with."""

    calibration: list[dict[str, np.ndarray]]
    calibration_examples: int
    check_features: Any = None
    check_raw: Any = None
    check_examples: int = 0
    notes: list[str] = field(default_factory=list)


def sample_inputs(unit: Any, need_check: bool) -> Int8Inputs:
    """The seeded check and calibration slices of ``unit``'s training split (disjoint when it is big enough)."""
    config = unit.suite.int8
    order = np.random.default_rng(unit.options.seed).permutation(len(unit.train_raw)).tolist()
    check_count = min(config.check_examples, len(order) // 2) if need_check else 0
    check_rows, rest = order[:check_count], order[check_count:]
    inputs = Int8Inputs(calibration=[], calibration_examples=0, check_examples=check_count)
    if check_count:
        inputs.check_raw = unit.train_raw.select(check_rows)
        inputs.check_features = unit.kind.tokenize(unit.spec, unit.tokenizer, inputs.check_raw)
    calibration_rows = rest[: config.calibration_examples]
    features = unit.kind.tokenize(unit.spec, unit.tokenizer, unit.train_raw.select(calibration_rows))
    count = min(len(features), config.calibration_examples)  # a QA example may give several windows
    inputs.calibration = calibration_batches(unit, features.select(range(count)), config.calibration == "percentile")
    inputs.calibration_examples = count
    if count < config.calibration_examples:
        inputs.notes.append(f"the training split gave {count} calibration inputs, fewer than the "
                            f"{config.calibration_examples} asked for")
    return inputs


def calibration_batches(unit: Any, features: Any, same_shape: bool) -> list[dict[str, np.ndarray]]:
    """``features`` in batches of :data:`CALIBRATION_BATCH`, each padded to its longest, as evaluation pads.

    ``same_shape``: every batch of one shape (the longest of all, and a batch size dividing the count), as
    onnxruntime's histogram (percentile) calibrator stacks the batches of a tensor.
    """
    count = len(features)
    columns = [c for c in INPUT_COLUMNS if c in features.column_names]
    examples = [{c: row[c] for c in columns} for row in features]
    size = CALIBRATION_BATCH
    if same_shape:
        size = max(n for n in range(1, CALIBRATION_BATCH + 1) if count % n == 0) if count else 1
        from transformers import DataCollatorWithPadding

        longest = max((len(e["input_ids"]) for e in examples), default=1)
        pad = DataCollatorWithPadding(unit.tokenizer, padding="max_length", max_length=longest, return_tensors="np")
    else:
        pad = unit.kind.collator(unit.tokenizer, return_tensors="np")
    batches = []
    for start in range(0, count, size):
        padded = pad(examples[start : start + size])
        batches.append({c: np.asarray(padded[c], dtype=np.int64) for c in columns})
    return batches


class Int8Maker:
    """Makes the int8 formats of one fp32 ONNX export, sharing the sampled inputs and the fp32 check score."""

    def __init__(self, unit: Any, onnx_dir: Path) -> None:
        self.unit, self.onnx_dir = unit, Path(onnx_dir)
        self.config = unit.suite.int8
        self.cpu_flags = unit.environment.get("cpu_flags")
        self.single_graph = (self.onnx_dir / ONNX_FILE).is_file()
        self.checked = self.config.max_drop is not None and self.single_graph
        self._inputs: Int8Inputs | None = None
        self._reference: tuple[float | None] | None = None  # (score,) once computed: the score may be None
        self._sensitivity: dict[str, dict[str, float]] = {}

    @property
    def inputs(self) -> Int8Inputs:
        """The sampled training slices (sampled and tokenized on first use)."""
        if self._inputs is None:
            self._inputs = sample_inputs(self.unit, self.checked)
        return self._inputs

    def check_score(self, folder: Path) -> float | None:
        """The primary metric of the ONNX model in ``folder`` on the check slice (CPU; None if undefined)."""
        from harness.backends import load_predictor
        from harness.evaluation import evaluate_predictor

        unit, inputs = self.unit, self.inputs
        predictor = load_predictor(folder, "onnx", device="cpu", threads=unit.options.threads)
        # The records' own evaluation (an undefined metric is None there too); one resample: the CI is unused.
        evaluation = evaluate_predictor(unit.spec, unit.kind, predictor, inputs.check_features, inputs.check_raw,
                                        unit.tokenizer, seed=unit.options.seed, resamples=1)
        value = evaluation.score
        return float(value) if isinstance(value, int | float) and math.isfinite(value) else None

    def reference(self) -> float | None:
        """The fp32 ONNX model's check score (computed once for both methods)."""
        if self._reference is None:
            self._reference = (self.check_score(self.onnx_dir) if self.inputs.check_examples else None,)
        return self._reference[0]

    def sensitivity(self, method: str) -> dict[str, float]:
        """Per-node error estimate of ``method`` (see :func:`harness.quantize.node_sensitivity`)."""
        if method not in self._sensitivity:
            from harness.export import head_nodes

            source = self.onnx_dir / ONNX_FILE
            batches, taken = [], 0
            for batch in self.inputs.calibration:
                if taken >= SENSITIVITY_EXAMPLES:
                    break
                batches.append(batch)
                taken += len(batch["input_ids"])
            self._sensitivity[method] = node_sensitivity(
                source, batches, method, self.cpu_flags, self.config.calibration, exclude=head_nodes(source)
            )
        return self._sensitivity[method]

    def _quantizer(self, method: str, cache: Path) -> Callable[[list[str], Path], None]:
        """``quantize(kept, folder)`` for ``method``; static attempts after the first reuse the ranges in ``cache``."""
        from harness.export import quantize_dynamic_int8

        def quantize(kept: list[str], folder: Path) -> None:
            if method == "dynamic":
                quantize_dynamic_int8(self.onnx_dir, folder, self.cpu_flags, kept)
            else:
                calibration = self.inputs.calibration
                quantize_static_int8(self.onnx_dir, folder, calibration, self.cpu_flags, self.config.calibration,
                                     kept, cache)

        return quantize

    def ranking(self, method: str) -> list[str]:
        """The candidate nodes of ``method``, the costliest first."""
        errors = self.sensitivity(method)
        return sorted(errors, key=lambda name: errors[name], reverse=True)

    def make(self, fmt: str, out_dir: Path) -> dict[str, Any]:
        """Write format ``fmt`` (an int8 format) into ``out_dir`` with its ``quantization.json``; returns it."""
        from harness.export import copy_side_files

        method = INT8_METHODS[fmt]
        if method == "static":
            single_graph(self.onnx_dir)  # a generation model: a one-line reason, before any sampling
        start = time.perf_counter()
        info = self._describe(method)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".{fmt}-", dir=out_dir.parent) as tmp:
            quantize = self._quantizer(method, Path(tmp) / "calibration.json")
            reference = self.reference() if self.checked else None
            if reference is None:
                quantize([], out_dir)
                if self.checked:
                    info["accuracy_control"] = (f"skipped: {self.unit.spec.primary_metric} is undefined on the "
                                                f"check slice of {self.inputs.check_examples} training examples")
            else:
                chosen, attempts = control_loop(quantize, self.check_score, lambda: self.ranking(method), reference,
                                                self.config.max_drop, self.config.max_attempts, Path(tmp))
                shutil.move(str(chosen.folder), str(out_dir))
                info.update(self._outcome(method, reference, chosen, attempts))
        copy_side_files(self.onnx_dir, out_dir)
        info["seconds"] = time.perf_counter() - start
        log.info("[%s] %s made in %.1f s", self.unit.spec.name, fmt, info["seconds"])
        return write_quantization(out_dir, info)

    def _describe(self, method: str) -> dict[str, Any]:
        from harness.export import INT8_FP32_HEADS, INT8_PER_CHANNEL

        config = self.config
        info: dict[str, Any] = {"method": method, "cpu_isa": int8_isa(self.cpu_flags),
                                "fp32_heads": list(INT8_FP32_HEADS)}
        if method == "static":
            info.update(static_settings(self.cpu_flags))
            info.update(calibration=config.calibration, calibration_examples=self.inputs.calibration_examples,
                        calibration_split="train", seed=self.unit.options.seed)
            info["notes"] = list(self.inputs.notes)
        else:
            vnni = int8_isa(self.cpu_flags).get("vnni", False)
            info.update(format="QOperator (MatMulInteger)", activations="uint8 asymmetric, ranges per batch",
                        weights=f"{'int8' if vnni else 'uint8'} symmetric, "
                                f"{'per channel' if INT8_PER_CHANNEL else 'per tensor'}")
        info["max_drop"] = config.max_drop
        if config.max_drop is not None and not self.single_graph:
            info["accuracy_control"] = "not applied: a generation model has several graphs"
        return info

    def _outcome(self, method: str, reference: float, chosen: Attempt, attempts: list[Attempt]) -> dict[str, Any]:
        errors = self._sensitivity.get(method, {})
        worst = self.ranking(method)[:SHOWN_SENSITIVITY] if errors else []
        return {
            "check_split": "train",
            "check_examples": self.inputs.check_examples,
            "seed": self.unit.options.seed,
            "fp32_score": reference,
            "score": chosen.score,
            "drop": chosen.drop,
            "within_max_drop": chosen.drop <= self.config.max_drop,
            "max_attempts": self.config.max_attempts,
            "attempts": [a.as_dict() for a in attempts],
            "nodes_kept_fp32": list(chosen.kept),
            "candidate_nodes": len(errors) if errors else None,
            "sensitivity": [{"node": name, "error": errors[name]} for name in worst],
        }
