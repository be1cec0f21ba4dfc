"""Seeded percentile bootstrap confidence intervals, fast because each metric is decomposed.

Every metric here is a function of per-example sufficient statistics (per-example scores, per-
sentence entity counts, per-label indicators, sacrebleu's per-sentence n-gram counts). A
resample with replacement is a vector of counts `w` (how often each example was drawn), so a
resample's statistics are `w @ stats`: one matrix product for all resamples instead of re-running
the library per resample. `bootstrap_distribution` gives the same values as recomputing with the
library on the resampled examples (tests check this to 1e-9).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata

from tasks.defaults import CONFIDENCE, DEFAULT_RESAMPLES
from tasks.errors import unknown_name_error

from . import classification, generation, regression, seqeval_metric, squad

# A resampler maps a (resamples, n) matrix of example counts to one score per resample.
Resampler = Callable[[np.ndarray], np.ndarray]

_CHUNK_ELEMENTS = 2_000_000

KEYS: dict[str, tuple[str, ...]] = {
    "classification": classification.KEYS,
    "regression": regression.KEYS,
    "seqeval": seqeval_metric.KEYS,
    "squad": squad.KEYS,
    "generation": generation.KEYS,
}


def resample_indices(n: int, n_resamples: int, seed: int = 0) -> np.ndarray:
    """Indices of `n_resamples` bootstrap resamples of `n` examples, shape (n_resamples, n)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def _counts(indices: np.ndarray, n: int) -> np.ndarray:
    """How often each example occurs in each resample, as float64 (n_resamples, n) for BLAS."""
    b = indices.shape[0]
    flat = (indices + (np.arange(b) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0.0 where den == 0 (the zero_division=0 convention of the libraries)."""
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den != 0)


def _mean_resampler(values: np.ndarray) -> Resampler:
    return lambda w: (w @ values) / values.shape[0]


def _classification(preds, refs, key: str, num_labels: int | None = None) -> Resampler:
    p, r = classification.label_arrays(preds, refs, num_labels)
    labels = np.unique(np.concatenate([p, r]))
    # Per-label indicators: with counts w, w @ T / w @ P / w @ C are the confusion matrix's row
    # sums, column sums and diagonal -- all that accuracy, F1 and MCC need, without the full matrix.
    true_1h = (r[:, None] == labels[None, :]).astype(np.float64)
    pred_1h = (p[:, None] == labels[None, :]).astype(np.float64)
    correct_1h = true_1h * pred_1h

    def score(w: np.ndarray) -> np.ndarray:
        t_sum, p_sum, tp = w @ true_1h, w @ pred_1h, w @ correct_1h
        n = w.sum(axis=1)
        if key == "accuracy":
            return tp.sum(axis=1) / n
        if key == "mcc":
            # sklearn.metrics.matthews_corrcoef's multiclass formula, row-wise.
            cov_ytyp = tp.sum(axis=1) * n - (t_sum * p_sum).sum(axis=1)
            cov_ypyp = n**2 - (p_sum * p_sum).sum(axis=1)
            cov_ytyt = n**2 - (t_sum * t_sum).sum(axis=1)
            # Both covariances are >= 0; sklearn returns 0.0 when their product is 0.
            return _safe_div(cov_ytyp, np.sqrt(np.maximum(cov_ypyp * cov_ytyt, 0.0)))
        f1 = _safe_div(2 * tp, t_sum + p_sum)  # per label: 2tp / (2tp + fp + fn)
        if key == "f1" and classification.uses_binary_f1(num_labels):
            pos = np.flatnonzero(labels == 1)
            return f1[:, pos[0]] if pos.size else np.zeros(len(w))
        # Macro F1 over the labels present in the resample, as sklearn does with labels=None.
        present = (t_sum + p_sum) > 0
        return (f1 * present).sum(axis=1) / present.sum(axis=1)

    return score


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise Pearson r; 0.0 where a row is constant (scipy would return NaN)."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((xc * xc).sum(axis=1) * (yc * yc).sum(axis=1))
    constant = (np.ptp(x, axis=1) == 0) | (np.ptp(y, axis=1) == 0)
    r = _safe_div((xc * yc).sum(axis=1), np.where(constant, 0.0, den))
    return np.clip(r, -1.0, 1.0)


def _regression(preds, refs, key: str) -> Resampler:
    p, r = regression.float_arrays(preds, refs)
    if key == "mse":
        return _mean_resampler((p - r) ** 2)
    return _CorrelationResampler(p, r, spearman=key == "spearman")


class _CorrelationResampler:
    """Correlations are not sums of per-example terms: they need the resampled values themselves,
    so this resampler takes the index matrix rather than counts (marked by `needs_indices`)."""

    needs_indices = True

    def __init__(self, p: np.ndarray, r: np.ndarray, spearman: bool) -> None:
        self.p, self.r, self.spearman = p, r, spearman

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        x, y = self.p[indices], self.r[indices]
        if self.spearman:
            # Average ranks for ties, like scipy.stats.spearmanr.
            x, y = rankdata(x, axis=1), rankdata(y, axis=1)
        return _pearson_rows(x, y)


def _seqeval(preds, refs, key: str, mode: str | None = None) -> Resampler:
    counts = seqeval_metric.sentence_counts(preds, refs, mode)

    def score(w: np.ndarray) -> np.ndarray:
        tp, n_pred, n_true, correct, tokens = (w @ counts).T
        if key == "accuracy":
            return _safe_div(correct, tokens)
        precision, recall = _safe_div(tp, n_pred), _safe_div(tp, n_true)
        if key == "precision":
            return precision
        if key == "recall":
            return recall
        return _safe_div(2 * precision * recall, precision + recall)

    return score


def _squad(preds, refs, key: str) -> Resampler:
    em, f1 = squad.per_example_scores(preds, refs)
    return _mean_resampler(em if key == "exact_match" else f1)


def _generation(preds, refs, key: str) -> Resampler:
    if key in generation.ROUGE_KEYS:
        return _mean_resampler(generation.rouge_per_example(preds, refs)[key])
    metric, stats = generation.sacrebleu_stats(key, preds, refs)

    def score(w: np.ndarray) -> np.ndarray:
        # Counts are integers, so rounding the float64 product recovers them exactly.
        totals = np.rint(w @ stats).astype(np.int64)
        return np.array([metric._compute_score_from_stats(row.tolist()).score for row in totals])

    return score


_BUILDERS: dict[str, Callable[..., Resampler]] = {
    "classification": _classification,
    "regression": _regression,
    "seqeval": _seqeval,
    "squad": _squad,
    "generation": _generation,
}


class _RecomputingResampler:
    """For a metric without decomposed statistics: recompute its scores on every resample (slow, exact)."""

    needs_indices = True

    def __init__(self, scores: Callable[..., dict[str, float]], preds, refs, key: str, **kwargs: Any) -> None:
        self.scores, self.preds, self.refs, self.key, self.kwargs = scores, list(preds), list(refs), key, kwargs

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        return np.array(
            [
                self.scores([self.preds[j] for j in row], [self.refs[j] for j in row], **self.kwargs)[self.key]
                for row in indices
            ],
            dtype=np.float64,
        )


def register_resampler(
    name: str, keys: tuple[str, ...], builder: Callable[..., Resampler] | None = None,
    scores: Callable[..., dict[str, float]] | None = None,
) -> None:
    """Let metric ``name`` (values ``keys``) be bootstrapped: by ``builder(preds, refs, key, **kwargs)``, or,
    without one, by recomputing ``scores(preds, refs, **kwargs)`` on every resample."""
    if builder is None:
        if scores is None:
            raise ValueError(f"metric {name!r}: register_resampler needs a builder or a scores function")
        metric_scores = scores

        def builder(preds, refs, key: str, **kwargs: Any) -> Resampler:
            return _RecomputingResampler(metric_scores, preds, refs, key, **kwargs)

    KEYS[name] = tuple(keys)
    _BUILDERS[name] = builder


def unregister_resampler(name: str) -> None:
    """Forget a metric added by :func:`register_resampler`."""
    KEYS.pop(name, None)
    _BUILDERS.pop(name, None)


def _check_name_and_key(name: str, key: str) -> None:
    if name not in _BUILDERS:
        raise unknown_name_error("metric", name, _BUILDERS, error=ValueError)
    if key not in KEYS[name]:
        raise ValueError(f"metric {name!r} has no key {key!r}; allowed: {', '.join(KEYS[name])}")


def _resampler(name: str, predictions, references, key: str, **kwargs: Any) -> Resampler:
    _check_name_and_key(name, key)
    return _BUILDERS[name](predictions, references, key, **kwargs)


def _apply(score: Resampler, indices: np.ndarray, n: int) -> np.ndarray:
    if getattr(score, "needs_indices", False):
        return score(indices)
    return score(_counts(indices, n))


def _chunk_rows(n: int) -> int:
    # Resamples per chunk, so that each (resamples, n) work matrix stays around 16 MB.
    return max(1, _CHUNK_ELEMENTS // n)


def bootstrap_distribution(
    name: str,
    predictions: Sequence[Any],
    references: Sequence[Any],
    key: str,
    indices: np.ndarray,
    **kwargs: Any,
) -> np.ndarray:
    """Score `key` of metric `name` on each resample given by the rows of `indices`.

    Row i equals `compute(name, [predictions[j] for j in indices[i]], [references[j] ...])[key]`.
    """
    indices = np.asarray(indices, dtype=np.int64)
    if indices.ndim != 2:
        raise ValueError(f"indices must be a 2-D (resamples, n) array; got shape {indices.shape}")
    n = len(predictions)
    score = _resampler(name, predictions, references, key, **kwargs)
    step = _chunk_rows(n)
    return np.concatenate([_apply(score, indices[i : i + step], n) for i in range(0, len(indices), step)])


def bootstrap_ci(
    name: str,
    predictions: Sequence[Any],
    references: Sequence[Any],
    key: str,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    **kwargs: Any,
) -> tuple[float, float]:
    """Seeded percentile bootstrap confidence interval for `compute(name, ...)[key]`.

    Examples (sentences for seqeval) are resampled with replacement, using the same indices as
    `resample_indices(n, n_resamples, seed)` (drawn in chunks to bound memory); extra `kwargs` go
    to the metric (e.g. `num_labels`, `mode`). With one example the interval is (score, score).
    """
    _check_name_and_key(name, key)
    n = len(predictions)
    if n == 0:
        raise ValueError("bootstrap_ci needs at least one example; got 0 predictions")
    if n != len(references):
        raise ValueError(f"got {n} predictions but {len(references)} references")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1; got {n_resamples}")
    score = _resampler(name, predictions, references, key, **kwargs)
    if n == 1:
        # Every resample of one example is that example.
        point = float(_apply(score, np.zeros((1, 1), dtype=np.int64), 1)[0])
        return point, point
    rng = np.random.default_rng(seed)
    step = _chunk_rows(n)
    scores = np.concatenate(
        [
            _apply(score, rng.integers(0, n, size=(min(step, n_resamples - i), n)), n)
            for i in range(0, n_resamples, step)
        ]
    )
    alpha = (1.0 - confidence) / 2.0
    low, high = np.percentile(scores, [100.0 * alpha, 100.0 * (1.0 - alpha)])
    return float(low), float(high)
