"""Transferability estimators: LogME, H-score and LEEP, plus Kendall's tau to compare rankings.

Each estimator scores how well a frozen pre-trained model's outputs on a target data set predict the
target labels, without fine-tuning. They follow these reference implementations:

* LogME: thuml/LogME, ``LogME.py`` (``LogME._fit_fixed_point``, the default ``LogME.fit``).
* H-score: thuml/Transfer-Learning-Library, ``tllib/ranking/hscore.py`` (``h_score``).
* LEEP: thuml/Transfer-Learning-Library, ``tllib/ranking/leep.py`` (``log_expected_empirical_prediction``).

Classification labels are integer class ids in ``[0, C)``; as in the references, the number of classes is
``labels.max() + 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = ["hscore", "kendall_tau", "leep", "logme", "token_level_inputs"]

_EPSILON = 1e-5  # LogME.py adds this to both denominators of the alpha/beta updates.


def _check_features(features: np.ndarray, name: str = "features") -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N examples, D dims), got shape {f.shape}")
    if f.shape[0] < 2:
        raise ValueError(f"{name} must have at least 2 examples, got {f.shape[0]}")
    if f.shape[1] < 1:
        raise ValueError(f"{name} must have at least 1 column, got shape {f.shape}")
    if not np.all(np.isfinite(f)):
        raise ValueError(f"{name} contains NaN or inf")
    return f


def _check_class_labels(labels: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be a 1-D array of class ids, got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"labels has {y.shape[0]} entries but there are {n} examples")
    if y.dtype.kind not in "iub":
        if y.dtype.kind != "f" or not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError("labels must be integer class ids")
    y = y.astype(np.int64)
    if y.min() < 0:
        raise ValueError(f"labels must be class ids >= 0, got {y.min()}")
    if np.unique(y).size < 2:
        raise ValueError("labels must contain at least 2 classes")
    return y


def _check_regression_labels(labels: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(labels, dtype=np.float64)
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2:
        raise ValueError(f"labels must be 1-D or 2-D (N, targets) for regression, got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"labels has {y.shape[0]} rows but there are {n} examples")
    if not np.all(np.isfinite(y)):
        raise ValueError("labels contains NaN or inf")
    return y


def _target_evidence(u: np.ndarray, sigma: np.ndarray, y: np.ndarray, d: int) -> float:
    """Maximum log evidence / N of one target ``y`` (LogME.py, the loop body of ``_fit_fixed_point``)."""
    n = y.shape[0]
    x2 = (u.T @ y) ** 2
    res_x2 = y @ y - x2.sum()  # energy of y outside the span of the features
    alpha, beta = 1.0, 1.0
    for _ in range(11):
        t = alpha / beta
        gamma = (sigma / (sigma + t)).sum()
        m2 = (sigma * x2 / (t + sigma) ** 2).sum()
        res2 = (x2 / (1 + sigma / t) ** 2).sum() + res_x2
        alpha = gamma / (m2 + _EPSILON)
        beta = (n - gamma) / (res2 + _EPSILON)
        if abs(alpha / beta - t) / t <= 1e-3:
            break
    evidence = (
        d / 2.0 * np.log(alpha)
        + n / 2.0 * np.log(beta)
        - 0.5 * np.sum(np.log(alpha + beta * sigma))
        - beta / 2.0 * res2
        - alpha / 2.0 * m2
        - n / 2.0 * np.log(2 * np.pi)
    )
    return float(evidence / n)


def logme(features: np.ndarray, labels: np.ndarray, regression: bool = False) -> float:
    """LogME: the average maximum log evidence of a Bayesian linear model on ``features``, per example.

    You, Liu, Wang, Long, "LogME: Practical Assessment of Pre-trained Models for Transfer Learning",
    ICML 2021. Follows ``LogME._fit_fixed_point`` in thuml/LogME ``LogME.py`` (what ``LogME.fit`` runs):
    an SVD of the features, then per target up to 11 fixed-point updates of the prior precision alpha
    and noise precision beta, stopping when alpha/beta changes by at most 0.1 %.

    Args:
        features: (N, D) features from the pre-trained model.
        labels: classification: (N,) class ids in ``[0, C)``, one one-hot target per class
            ``0 .. labels.max()``; regression: (N,) or (N, K) values, one target per column.
        regression: treat ``labels`` as real-valued targets.

    Returns:
        The evidence averaged over targets and divided by N; higher means more transferable.
    """
    f = _check_features(features)
    n, d = f.shape
    if regression:
        y = _check_regression_labels(labels, n)
        targets = [y[:, k] for k in range(y.shape[1])]
    else:
        y = _check_class_labels(labels, n)
        targets = [(y == c).astype(np.float64) for c in range(int(y.max()) + 1)]
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    if n > d:  # LogME.py's truncated_svd keeps only the singular values above 1e-10
        keep = s > 1e-10
        u, s = u[:, keep], s[keep]
    sigma = s**2
    return float(np.mean([_target_evidence(u, sigma, t, d) for t in targets]))


def hscore(features: np.ndarray, labels: np.ndarray) -> float:
    """H-score: ``trace(pinv(cov(f)) @ cov(E[f | y]))``.

    Bao, Li, Huang, Zhang, Zheng, "An Information-Theoretic Approach to Transferability in Task Transfer
    Learning", ICIP 2019. Follows ``h_score`` in thuml/Transfer-Learning-Library
    ``tllib/ranking/hscore.py``: sample covariances (``np.cov``, N - 1) and a pseudo-inverse with
    relative cutoff 1e-15.

    Args:
        features: (N, D) features from the pre-trained model.
        labels: (N,) class ids in ``[0, C)``.

    Returns:
        The H-score; higher means more transferable.
    """
    f = _check_features(features)
    y = _check_class_labels(labels, f.shape[0])
    class_means = np.zeros_like(f)  # each row replaced by the mean feature of its class
    for c in np.unique(y):
        class_means[y == c] = f[y == c].mean(axis=0)
    cov_f = np.atleast_2d(np.cov(f, rowvar=False))
    cov_g = np.atleast_2d(np.cov(class_means, rowvar=False))
    return float(np.trace(np.linalg.pinv(cov_f, rtol=1e-15) @ cov_g))


def leep(source_probs: np.ndarray, labels: np.ndarray) -> float:
    """LEEP: the mean log-likelihood of the target labels under the "expected empirical predictor".

    Nguyen, Hassner, Seeger, Archambeau, "LEEP: A New Measure to Evaluate Transferability of Learned
    Representations", ICML 2020. Follows ``log_expected_empirical_prediction`` in
    thuml/Transfer-Learning-Library ``tllib/ranking/leep.py``: the empirical joint P(y, z) from the source
    model's predictions, the conditional P(y | z), and ``mean(log(sum_z P(y_i | z) * theta(x_i)_z))``.
    One difference: a source label z that gets zero probability on every example (the reference divides
    0 by 0 there and returns NaN) is given P(y | z) = 0; it contributes nothing to any prediction.

    Args:
        source_probs: (N, Z) the source model's predicted distribution over its own Z labels, per example.
        labels: (N,) target class ids in ``[0, C)``.

    Returns:
        The LEEP score, at most 0; higher means more transferable.
    """
    theta = _check_features(source_probs, name="source_probs")
    if np.any(theta < 0) or not np.allclose(theta.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("source_probs rows must be probability distributions (non-negative, summing to 1)")
    y = _check_class_labels(labels, theta.shape[0])
    n_classes = int(y.max()) + 1
    joint = np.zeros((n_classes, theta.shape[1]))  # P(y, z)
    np.add.at(joint, y, theta / theta.shape[0])
    marginal_z = joint.sum(axis=0, keepdims=True)
    y_given_z = np.divide(joint, marginal_z, out=np.zeros_like(joint), where=marginal_z > 0)  # P(y | z)
    predicted = theta @ y_given_z.T  # (N, C): the expected empirical predictor
    return float(np.mean(np.log(predicted[np.arange(y.shape[0]), y])))


def kendall_tau(estimates: Sequence[float], scores: Sequence[float]) -> tuple[float, float]:
    """Kendall's tau-b between transferability estimates and measured fine-tuned scores, with its p-value.

    A thin wrapper over ``scipy.stats.kendalltau``; pairs where either side is NaN are dropped first.
    Raises ValueError when the inputs differ in length or fewer than 3 pairs remain.
    """
    x = np.asarray(estimates, dtype=np.float64).reshape(-1)
    y = np.asarray(scores, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"estimates has {x.size} values but scores has {y.size}")
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 3:
        raise ValueError(f"kendall_tau needs at least 3 pairs without NaN, got {int(keep.sum())}")
    result = stats.kendalltau(x[keep], y[keep])
    return float(result.statistic), float(result.pvalue)


def token_level_inputs(
    features: np.ndarray, labels: np.ndarray, ignore_index: int = -100
) -> tuple[np.ndarray, np.ndarray]:
    """Flatten per-token (N, T, D) features and (N, T) labels to (M, D) and (M,), dropping ignored tokens.

    Positions whose label equals ``ignore_index`` (padding, special tokens, non-first sub-words) are
    removed, so that token-level tasks (NER, QA spans) can be scored with the estimators above.
    """
    f = np.asarray(features)
    y = np.asarray(labels)
    if f.ndim != 3:
        raise ValueError(f"features must be a 3-D array (N, T, D), got shape {f.shape}")
    if y.shape != f.shape[:2]:
        raise ValueError(f"labels must have shape (N, T) = {f.shape[:2]}, got {y.shape}")
    keep = y != ignore_index
    return f[keep], y[keep]
