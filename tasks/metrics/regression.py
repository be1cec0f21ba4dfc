"""Regression metric: Pearson and Spearman correlation (SciPy) and mean squared error."""

from __future__ import annotations

from collections.abc import Sequence

import datasets
import evaluate
import numpy as np
from scipy import stats

KEYS = ("pearson", "spearman", "mse")

_CITATION = """\
@article{2020SciPy-NMeth,
  author={Virtanen, Pauli and others},
  title={{SciPy} 1.0: Fundamental Algorithms for Scientific Computing in Python},
  journal={Nature Methods},
  year={2020},
  volume={17},
  pages={261--272}
}
"""

_INPUTS = """\
Args:
    predictions: list of floats.
    references: list of floats.
Returns:
    pearson, spearman (0.0 when either side is constant), mse (floats).
"""


def float_arrays(predictions: Sequence[float], references: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Validate inputs and return them as float64 arrays."""
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} predictions but {len(references)} references")
    if len(predictions) == 0:
        raise ValueError("regression metric needs at least one example")
    return np.asarray(predictions, dtype=np.float64), np.asarray(references, dtype=np.float64)


def _is_constant(x: np.ndarray) -> bool:
    # Correlation is undefined for constant input; SciPy would warn and return NaN.
    return bool(np.ptp(x) == 0)


def regression_scores(predictions: Sequence[float], references: Sequence[float]) -> dict[str, float]:
    """Pearson r and Spearman rho (scipy.stats) and MSE; correlations are 0.0 for constant input."""
    preds, refs = float_arrays(predictions, references)
    if _is_constant(preds) or _is_constant(refs):
        pearson = spearman = 0.0
    else:
        pearson = float(stats.pearsonr(preds, refs).statistic)
        spearman = float(stats.spearmanr(preds, refs).statistic)
    return {"pearson": pearson, "spearman": spearman, "mse": float(np.mean((preds - refs) ** 2))}


class Regression(evaluate.Metric):
    """`evaluate` module wrapping :func:`regression_scores`."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Pearson and Spearman correlation (SciPy) and mean squared error.",
            citation=_CITATION,
            inputs_description=_INPUTS,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}
            ),
        )

    def _compute(self, predictions, references) -> dict[str, float]:
        return regression_scores(predictions, references)
