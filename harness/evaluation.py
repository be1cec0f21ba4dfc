"""Evaluate one (model, format) on a task's eval split: metrics, bootstrap CI, parity with PyTorch."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tasks.defaults import CONFIDENCE, DEFAULT_RESAMPLES
from tasks.kinds.base import EvalOutput, TaskKind
from tasks.spec import TaskSpec


@dataclass
class Evaluation:
    """The outcome of evaluating one (model, format)."""

    metrics: dict[str, float | None]
    score: float | None
    score_ci: list[float] | None
    output: EvalOutput
    eval_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def evaluate_predictor(
    spec: TaskSpec,
    kind: TaskKind,
    predictor: Any,
    features: Any,
    raw: Any,
    tokenizer: Any,
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
) -> Evaluation:
    """Run the kind's evaluation, compute its metrics with the evaluate module, and a bootstrap CI."""
    from tasks.metrics import bootstrap_ci, get_metric, undefined_metrics

    start = time.perf_counter()
    output = kind.evaluate(spec, predictor, features, raw, tokenizer)
    eval_s = time.perf_counter() - start
    kwargs = kind.metric_kwargs(spec)
    name = kind.metric_name(spec)
    computed = get_metric(name).compute(predictions=output.predictions, references=output.references, **kwargs)
    metrics: dict[str, float | None] = {
        k: float(v) for k, v in computed.items() if isinstance(v, int | float | np.floating)
    }
    # An undefined metric is null with its reason, never the 0.0 a library returns for it.
    notes = undefined_metrics(name, output.predictions, output.references)
    metrics.update(dict.fromkeys(notes))
    score = metrics[spec.primary_metric]
    extra: dict[str, Any] = {"metric_notes": notes} if notes else {}
    if score is None:
        return Evaluation(metrics=metrics, score=None, score_ci=None, output=output, eval_s=eval_s, extra=extra)
    low, high = bootstrap_ci(
        name,
        output.predictions,
        output.references,
        key=spec.primary_metric,
        n_resamples=resamples,
        confidence=CONFIDENCE,
        seed=seed,
        **kwargs,
    )
    # A percentile bootstrap interval can miss its own point estimate (few resamples, a tiny eval split, a
    # skewed statistic such as F1 or BLEU); results files with a score outside its interval are refused as
    # corrupt (harness/result_checks.py), so the interval is widened to hold the score.
    low, high = min(float(low), float(score)), max(float(high), float(score))
    return Evaluation(metrics=metrics, score=score, score_ci=[low, high], output=output, eval_s=eval_s, extra=extra)


def parity(reference: Evaluation, candidate: Evaluation, kind: TaskKind, tolerance: float) -> dict[str, Any]:
    """Compare an export with the PyTorch model it came from: raw outputs and the task metric.

    An export passes when its primary metric is at most ``tolerance`` below the reference's
    (matching logits within a tolerance is not enough: a small logit error can still flip labels).
    """
    diffs = {}
    for name, ref_values in reference.output.raw_outputs.items():
        cand_values = candidate.output.raw_outputs.get(name)
        if cand_values is not None and np.shape(cand_values) == np.shape(ref_values):
            diffs[name] = float(np.max(np.abs(np.asarray(cand_values) - np.asarray(ref_values))))
    both = candidate.score is not None and reference.score is not None
    metric_delta = candidate.score - reference.score if both else None
    return {
        "max_abs_diff": diffs,
        "metric_delta": metric_delta,
        "prediction_agreement": kind.agreement(reference.output.predictions, candidate.output.predictions),
        "tolerance": tolerance,
        # an undefined metric cannot fall: the export is then judged by its predictions alone
        "passed": metric_delta >= -tolerance if metric_delta is not None else True,
    }
