"""Turn one evaluation and one measurement of a (model, format) into a typed :class:`Record`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.evaluation import Evaluation, parity
from harness.export import folder_size_mb
from harness.options import display_name
from harness.quantize import INT8_FORMATS, read_quantization
from harness.results import Format, Record, Role
from harness.variants import Variant


def build_record(
    unit: Any,
    variant: Variant,
    fmt: str,
    folder: Path,
    evaluation: Evaluation,
    reference: Evaluation | None,
    teacher_predictions: list[Any] | None,
    measured: dict[str, Any],
) -> Record:
    """The record of ``variant`` in ``fmt``: metrics and CI, parity with its PyTorch evaluation
    (``reference``; an export that loses more than the suite's tolerance is a failed record), agreement
    with the teacher, latency, memory, size and (for PyTorch) the training cost."""
    spec, suite = unit.spec, unit.suite
    lineage = variant.lineage.model_copy()
    status, reason, parity_info = "ok", None, None
    if fmt != "pytorch" and reference is not None:
        parity_info = parity(reference, evaluation, unit.kind, suite.export_tolerance)
        lineage.exported_from = f"{variant.name} (pytorch)"
        if fmt in INT8_FORMATS:
            lineage.quantized_from = f"{variant.name} (onnx)"
        if not parity_info["passed"]:
            status = "failed"
            reason = (
                f"{spec.primary_metric} fell by {-parity_info['metric_delta']:.4f} after export to {fmt}, "
                f"more than the tolerance {suite.export_tolerance}"
            )
    extra: dict[str, Any] = {"eval_s": round(evaluation.eval_s, 3), "load_s": measured.get("load_s")}
    if evaluation.extra.get("metric_notes"):
        extra["metric_notes"] = evaluation.extra["metric_notes"]
    if variant.role == "student" and teacher_predictions is not None:
        extra["teacher_agreement"] = unit.kind.agreement(teacher_predictions, evaluation.output.predictions)
    weights = "*.onnx" if fmt.startswith("onnx") else "*.safetensors"
    return Record(
        task=spec.name,
        kind=spec.kind,
        model=variant.name,
        teacher=display_name(unit.teacher_name),
        role=Role(variant.role),
        format=Format(fmt),
        lineage=lineage,
        params=variant.params,
        size_mb=round(folder_size_mb(folder, weights), 3),
        metrics=evaluation.metrics,
        primary_metric=spec.primary_metric,
        score=evaluation.score,
        score_ci=evaluation.score_ci,
        eval_examples=len(unit.eval_raw),
        latency_ms=measured["latency_ms"],
        throughput_per_s=measured.get("throughput_per_s"),
        peak_rss_mb=measured.get("peak_rss_mb"),
        train=variant.train_cost.to_dict() if (variant.train_cost and fmt == "pytorch") else None,
        status=status,
        status_reason=reason,
        parity=parity_info,
        data=unit.origins,
        quantization=read_quantization(folder) if fmt in INT8_FORMATS else None,
        **adaptation_fields(variant),
        **extra,
    )


def failed_record(unit: Any, variant: Variant, fmt: str, error: str) -> Record:
    """The record of a format that could not be made (its export failed)."""
    return Record(
        task=unit.spec.name,
        kind=unit.spec.kind,
        model=variant.name,
        teacher=display_name(unit.teacher_name),
        role=Role(variant.role),
        format=Format(fmt),
        lineage=variant.lineage,
        params=variant.params,
        primary_metric=unit.spec.primary_metric,
        status="failed",
        status_reason=error,
        **adaptation_fields(variant),
    )


def adaptation_fields(variant: Variant) -> dict[str, Any]:
    """The record fields of an adapted model (method, trainable parameters); none for the others, so that
    their records are written as before."""
    if variant.method is None:
        return {}
    return {"adaptation": variant.method, "trainable_params": variant.trainable_params}
