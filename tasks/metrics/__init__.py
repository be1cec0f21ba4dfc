"""Offline metrics as `evaluate` modules, plus pure functions and fast bootstrap intervals.

Nothing here touches the Hugging Face Hub: each metric is a local `evaluate.Metric` subclass over
an established library (scikit-learn, SciPy, seqeval, rouge_score, sacrebleu; SQuAD's official
v1.1 script). `compute` skips `evaluate` entirely and is cheap to call many times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import evaluate

from tasks.errors import unknown_name_error

from .bootstrap import Resampler, bootstrap_ci, bootstrap_distribution, register_resampler, resample_indices
from .bootstrap import unregister_resampler as _unregister_resampler
from .classification import Classification, classification_scores
from .generation import Generation, generation_scores
from .regression import Regression, regression_scores
from .seqeval_metric import Seqeval, seqeval_scores
from .squad import Squad, squad_scores

__all__ = [
    "METRIC_NAMES",
    "bootstrap_ci",
    "bootstrap_distribution",
    "compute",
    "get_metric",
    "metric_names",
    "register_metric",
    "resample_indices",
    "undefined_metrics",
    "unregister_metric",
]

_METRICS: dict[str, tuple[type[evaluate.Metric], Callable[..., dict[str, float]]]] = {
    "classification": (Classification, classification_scores),
    "regression": (Regression, regression_scores),
    "seqeval": (Seqeval, seqeval_scores),
    "squad": (Squad, squad_scores),
    "generation": (Generation, generation_scores),
}

#: The built-in metrics (:func:`metric_names` also lists those added by :func:`register_metric`).
METRIC_NAMES: tuple[str, ...] = tuple(_METRICS)


def register_metric(
    name: str,
    metric_class: type[evaluate.Metric],
    scores: Callable[..., dict[str, float]],
    keys: tuple[str, ...],
    resampler: Callable[..., Resampler] | None = None,
) -> None:
    """Add metric ``name``, so that a task kind's ``metric_name`` can name it (one call, in the kind's module).

    ``metric_class`` is its ``evaluate.Metric``, ``scores(predictions, references, **kwargs)`` the same values
    computed directly, ``keys`` the values a task may name as ``primary_metric``. ``resampler`` builds its fast
    bootstrap (see :mod:`tasks.metrics.bootstrap`); without one each resample recomputes ``scores``.
    """
    if name in _METRICS and _METRICS[name] != (metric_class, scores):
        raise ValueError(f"metric {name!r} is registered twice")
    _METRICS[name] = (metric_class, scores)
    register_resampler(name, keys, resampler, scores=scores)


def unregister_metric(name: str) -> None:
    """Forget a metric added by :func:`register_metric` (built-in metrics stay)."""
    if name not in METRIC_NAMES:
        _METRICS.pop(name, None)
        _unregister_resampler(name)


def metric_names() -> tuple[str, ...]:
    """Every metric a kind may name: the built-ins, then those added by :func:`register_metric`."""
    return tuple(_METRICS)


def _lookup(name: str) -> tuple[type[evaluate.Metric], Callable[..., dict[str, float]]]:
    if name not in _METRICS:
        raise unknown_name_error("metric", name, metric_names(), error=ValueError)
    return _METRICS[name]


def get_metric(name: str) -> evaluate.Metric:
    """A fresh in-memory `evaluate.Metric` for `name` (one of `metric_names()`); nothing is downloaded."""
    # keep_in_memory: no Arrow cache files under HF_HOME for the predictions we add.
    return _lookup(name)[0](keep_in_memory=True)


def compute(
    name: str, predictions: Sequence[Any], references: Sequence[Any], **kwargs: Any
) -> dict[str, float]:
    """Scores of metric `name`, computed directly (same values as `get_metric(name).compute(...)`)."""
    return _lookup(name)[1](predictions, references, **kwargs)


def undefined_metrics(name: str, predictions: Sequence[Any], references: Sequence[Any]) -> dict[str, str]:
    """The keys of metric ``name`` that are undefined on this sample, with why (the libraries would return
    NaN, or a 0.0 that reads as a real score): correlations over fewer than two examples or constant values."""
    if name != "regression" or not len(predictions):
        return {}
    import numpy as np

    preds, refs = np.asarray(predictions, dtype=float), np.asarray(references, dtype=float)
    if len(preds) < 2:
        reason = f"a correlation needs at least 2 examples; the eval split has {len(preds)}"
    elif np.ptp(preds) == 0:
        reason = "the predictions are all the same value, so a correlation is undefined"
    elif np.ptp(refs) == 0:
        reason = "the references are all the same value, so a correlation is undefined"
    else:
        return {}
    return {"pearson": reason, "spearman": reason}
