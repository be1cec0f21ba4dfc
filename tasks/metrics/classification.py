"""Classification metric: accuracy, F1 and MCC from scikit-learn."""

from __future__ import annotations

from collections.abc import Sequence

import datasets
import evaluate
import numpy as np
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

KEYS = ("accuracy", "f1", "f1_macro", "mcc")

_CITATION = """\
@article{scikit-learn,
  title={Scikit-learn: Machine Learning in {P}ython},
  author={Pedregosa, F. and others},
  journal={Journal of Machine Learning Research},
  volume={12},
  pages={2825--2830},
  year={2011}
}
"""

_INPUTS = """\
Args:
    predictions: list of int label ids.
    references: list of int label ids.
    num_labels: optional size of the label set. When it is 2, `f1` is the binary F1 of label 1;
        otherwise `f1` is the macro F1. Label ids must lie in [0, num_labels) when it is given.
Returns:
    accuracy, f1, f1_macro, mcc (floats).
"""


def uses_binary_f1(num_labels: int | None) -> bool:
    """Whether `f1` is the binary F1 of label 1 (else it is macro F1)."""
    return num_labels == 2


def label_arrays(
    predictions: Sequence[int], references: Sequence[int], num_labels: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate inputs and return them as int64 arrays."""
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} predictions but {len(references)} references")
    if len(predictions) == 0:
        raise ValueError("classification metric needs at least one example")
    preds = np.asarray(predictions, dtype=np.int64)
    refs = np.asarray(references, dtype=np.int64)
    if num_labels is not None:
        bad = np.concatenate([preds, refs])
        bad = bad[(bad < 0) | (bad >= num_labels)]
        if bad.size:
            raise ValueError(f"label ids must be in [0, {num_labels}); got {sorted(set(bad.tolist()))}")
    return preds, refs


def classification_scores(
    predictions: Sequence[int], references: Sequence[int], num_labels: int | None = None
) -> dict[str, float]:
    """Accuracy, F1 (binary of label 1 when `num_labels == 2`, else macro), macro F1 and MCC.

    Macro F1 averages over the labels present in `references` or `predictions` (scikit-learn's
    default), so a label absent from both does not count as a zero.
    """
    preds, refs = label_arrays(predictions, references, num_labels)
    f1_macro = f1_score(refs, preds, average="macro", zero_division=0.0)
    if uses_binary_f1(num_labels):
        f1 = f1_score(refs, preds, average="binary", pos_label=1, zero_division=0.0)
    else:
        f1 = f1_macro
    return {
        "accuracy": float(accuracy_score(refs, preds)),
        "f1": float(f1),
        "f1_macro": float(f1_macro),
        "mcc": float(matthews_corrcoef(refs, preds)),
    }


class Classification(evaluate.Metric):
    """`evaluate` module wrapping :func:`classification_scores`."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Accuracy, F1 and Matthews correlation (scikit-learn).",
            citation=_CITATION,
            inputs_description=_INPUTS,
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, num_labels: int | None = None) -> dict[str, float]:
        return classification_scores(predictions, references, num_labels=num_labels)
