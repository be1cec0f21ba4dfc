"""Offline metrics as `evaluate` modules, plus pure functions and fast bootstrap intervals.

Nothing here touches the Hugging Face Hub: each metric is a local `evaluate.Metric` subclass over
an established library (scikit-learn, SciPy, seqeval, rouge_score, sacrebleu; SQuAD's official
v1.1 script). `compute` skips `evaluate` entirely and is cheap to call many times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import evaluate

from .bootstrap import bootstrap_ci, bootstrap_distribution, resample_indices
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
    "resample_indices",
]

_METRICS: dict[str, tuple[type[evaluate.Metric], Callable[..., dict[str, float]]]] = {
    "classification": (Classification, classification_scores),
    "regression": (Regression, regression_scores),
    "seqeval": (Seqeval, seqeval_scores),
    "squad": (Squad, squad_scores),
    "generation": (Generation, generation_scores),
}

METRIC_NAMES: tuple[str, ...] = tuple(_METRICS)


def _lookup(name: str) -> tuple[type[evaluate.Metric], Callable[..., dict[str, float]]]:
    if name not in _METRICS:
        raise ValueError(f"unknown metric {name!r}; allowed: {', '.join(METRIC_NAMES)}")
    return _METRICS[name]


def get_metric(name: str) -> evaluate.Metric:
    """A fresh in-memory `evaluate.Metric` for `name` (one of METRIC_NAMES); nothing is downloaded."""
    # keep_in_memory: no Arrow cache files under HF_HOME for the predictions we add.
    return _lookup(name)[0](keep_in_memory=True)


def compute(
    name: str, predictions: Sequence[Any], references: Sequence[Any], **kwargs: Any
) -> dict[str, float]:
    """Scores of metric `name`, computed directly (same values as `get_metric(name).compute(...)`)."""
    return _lookup(name)[1](predictions, references, **kwargs)
