"""Paired statistics of two models scored on the same eval examples.

Two models evaluated on one eval split are not independent samples: the examples are shared, so the
question "is B worse than A" is about the *difference* on those examples. Everything here resamples
examples jointly (the same bootstrap indices for both models), which is what makes the interval of the
difference narrow when the two models make the same mistakes:

* :func:`paired_differences` — the point difference ``B - A`` of every metric key and its paired percentile
  bootstrap interval (corpus-level metrics such as F1, Pearson and BLEU included: each resample recomputes
  the corpus statistic on both models' resampled predictions, see :mod:`tasks.metrics.bootstrap`);
* :func:`mcnemar` — McNemar's exact test (a two-sided binomial test on the discordant pairs) and the flip
  counts, for metrics judged right or wrong per example (:func:`per_example_correct`);
* :func:`tost` — two one-sided tests of equivalence within ``±margin``, from the same bootstrap
  distribution of the difference: ``p_lower = P*(d ≤ -margin)``, ``p_upper = P*(d ≥ margin)`` (with the
  +1 correction of Davison & Hinkley, 1997, eq. 4.11, so a p-value is never 0), ``p = max`` of the two;
  equivalence is shown at level α when ``p < α``, which is the same as the ``1 - 2α`` percentile interval
  lying inside ``(-margin, margin)`` (Schuirmann, 1987). ``worse`` means the one-sided test that the
  difference is above ``-margin`` rejects: B is worse than A by more than the margin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import binomtest

from tasks.defaults import CONFIDENCE, DEFAULT_RESAMPLES

from . import classification, seqeval_metric, squad
from .bootstrap import KEYS, bootstrap_distribution

#: TOST's one-sided level.
EQUIVALENCE_ALPHA = 0.05
#: Metrics on a 0-100 scale (sacrebleu's BLEU and chrF): one "point" is 1.0 there, 0.01 elsewhere.
PERCENT_SCALE_KEYS = frozenset({"bleu", "chrf"})
_CHUNK_ELEMENTS = 4_000_000


def point(key: str) -> float:
    """One percentage point of metric ``key`` in its own units (0.01 for [0, 1] metrics, 1.0 for BLEU/chrF)."""
    return 1.0 if key in PERCENT_SCALE_KEYS else 0.01


@dataclass(frozen=True)
class PairedDifference:
    """``B - A`` for one metric key: the point difference and its paired bootstrap interval."""

    key: str
    difference: float
    low: float
    high: float
    #: the bootstrap distribution of the difference (one value per resample)
    distribution: np.ndarray

    def as_dict(self) -> dict[str, Any]:
        """``{"difference": d, "ci": [low, high]}`` for a results file."""
        return {"difference": self.difference, "ci": [self.low, self.high]}


def _joint_indices(n: int, n_resamples: int, seed: int) -> list[np.ndarray]:
    """Bootstrap indices (resamples, n), drawn in chunks to bound memory; the same for both models."""
    rng = np.random.default_rng(seed)
    step = max(1, _CHUNK_ELEMENTS // max(n, 1))
    return [rng.integers(0, n, size=(min(step, n_resamples - i), n)) for i in range(0, n_resamples, step)]


def paired_differences(
    name: str,
    predictions_a: Sequence[Any],
    predictions_b: Sequence[Any],
    references: Sequence[Any],
    keys: Sequence[str] | None = None,
    *,
    point_a: dict[str, float | None],
    point_b: dict[str, float | None],
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    **kwargs: Any,
) -> dict[str, PairedDifference]:
    """``B - A`` for each key of metric ``name`` (default: all its keys) with a paired percentile interval.

    ``point_a``/``point_b`` are the two models' metric values on the whole split (as their records hold
    them); keys undefined for either model (``None``) are left out.
    """
    n = len(references)
    if len(predictions_a) != n or len(predictions_b) != n:
        raise ValueError(
            f"paired statistics need predictions for the same examples: got {len(predictions_a)} and "
            f"{len(predictions_b)} predictions for {n} references"
        )
    if n == 0:
        raise ValueError("paired statistics need at least one example; got 0")
    alpha = (1.0 - confidence) / 2.0
    chunks = _joint_indices(n, n_resamples, seed)
    out: dict[str, PairedDifference] = {}
    for key in keys or KEYS[name]:
        a, b = point_a.get(key), point_b.get(key)
        if a is None or b is None:
            continue
        diffs = np.concatenate(
            [
                bootstrap_distribution(name, predictions_b, references, key, idx, **kwargs)
                - bootstrap_distribution(name, predictions_a, references, key, idx, **kwargs)
                for idx in chunks
            ]
        )
        low, high = np.percentile(diffs, [100.0 * alpha, 100.0 * (1.0 - alpha)])
        d = float(b) - float(a)
        # As for a score's own interval: a percentile interval can miss its point estimate on a tiny split.
        out[key] = PairedDifference(key, d, min(float(low), d), max(float(high), d), diffs)
    return out


def per_example_correct(name: str, predictions: Sequence[Any], references: Sequence[Any], **kwargs: Any) -> np.ndarray | None:
    """Whether each example is right, for metrics that judge examples right or wrong: the label
    (classification), exact match of the answer (SQuAD), every tag of the sentence (seqeval). None for
    graded metrics (correlations, ROUGE, BLEU), where McNemar's test does not apply."""
    if name == "classification":
        p, r = classification.label_arrays(predictions, references, kwargs.get("num_labels"))
        return p == r
    if name == "squad":
        em, _ = squad.per_example_scores(predictions, references)
        return em == 1.0
    if name == "seqeval":
        preds, refs = seqeval_metric.tag_lists(predictions, references, kwargs.get("mode"))
        return np.array([p == r for p, r in zip(preds, refs, strict=True)])
    return None


#: What "right" means for each metric with per-example correctness (said beside McNemar's p).
CORRECTNESS = {
    "classification": "the predicted label",
    "squad": "an exact-match answer",
    "seqeval": "every tag of the sentence",
}


@dataclass(frozen=True)
class McNemar:
    """McNemar's exact test of A against B on the same examples."""

    right_to_wrong: int  # right under A, wrong under B
    wrong_to_right: int
    p_value: float


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemar:
    """McNemar's exact (binomial) test: under H0 each discordant example is as likely to flip either way."""
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"McNemar's test needs the same examples: shapes {a.shape} and {b.shape}")
    right_to_wrong = int(np.sum(a & ~b))
    wrong_to_right = int(np.sum(~a & b))
    discordant = right_to_wrong + wrong_to_right
    p = 1.0 if discordant == 0 else float(binomtest(right_to_wrong, discordant, 0.5).pvalue)
    return McNemar(right_to_wrong, wrong_to_right, min(1.0, p))


@dataclass(frozen=True)
class Tost:
    """Two one-sided tests of ``-margin < B - A < margin``."""

    margin: float
    p_lower: float  # H0: d <= -margin
    p_upper: float  # H0: d >= +margin
    p_worse: float  # H0: d >= -margin (small when B is worse than A by more than the margin)
    alpha: float

    @property
    def p_value(self) -> float:
        """TOST's p-value: the larger of the two one-sided p-values."""
        return max(self.p_lower, self.p_upper)

    @property
    def verdict(self) -> str:
        """``equivalent`` (TOST rejects), ``worse`` (significantly below ``-margin``) or ``not shown``."""
        if self.p_value < self.alpha:
            return "equivalent"
        if self.p_worse < self.alpha:
            return "worse"
        return "not shown"


def _tail(distribution: np.ndarray, mask: np.ndarray) -> float:
    return (int(np.sum(mask)) + 1) / (len(distribution) + 1)


def tost(difference: PairedDifference, margin: float, alpha: float = EQUIVALENCE_ALPHA) -> Tost:
    """TOST at ``margin`` (in the metric's units) from the paired bootstrap distribution of the difference."""
    if not margin > 0:
        raise ValueError(f"the equivalence margin must be > 0; got {margin!r}")
    d = difference.distribution
    return Tost(
        margin=margin,
        p_lower=_tail(d, d <= -margin),
        p_upper=_tail(d, d >= margin),
        p_worse=_tail(d, d >= -margin),
        alpha=alpha,
    )


#: Below this many examples no equivalence or regression is claimed: a bootstrap of a handful of examples
#: underestimates its own spread (one example gives a zero-width interval).
MIN_PAIRED_EXAMPLES = 30


def paired_summary(
    name: str,
    reference_predictions: Sequence[Any],
    predictions: Sequence[Any],
    references: Sequence[Any],
    *,
    primary: str,
    reference_metrics: dict[str, float | None],
    metrics: dict[str, float | None],
    margin_points: float = 1.0,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    metric_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A model against a reference on the same examples, as a results file holds it (the keys of
    ``harness.result_models.PairedStats``): the paired difference of every metric, McNemar's test and flips
    where examples are right or wrong, and TOST at ``margin_points`` points of the primary metric."""
    kwargs = metric_kwargs or {}
    n = len(references)
    diffs = paired_differences(
        name, reference_predictions, predictions, references,
        point_a=reference_metrics, point_b=metrics, n_resamples=n_resamples, confidence=confidence, seed=seed, **kwargs,
    )
    margin = margin_points * point(primary)
    out: dict[str, Any] = {
        "metric": primary,
        "examples": n,
        "metrics": {key: d.as_dict() for key, d in diffs.items()},
        "margin": margin,
    }
    main = diffs.get(primary)
    notes = []
    if main is not None:
        out["difference"] = main.difference
        out["difference_ci"] = [main.low, main.high]
        if n >= MIN_PAIRED_EXAMPLES:
            test = tost(main, margin)
            out["tost_p"] = test.p_value
            out["equivalence"] = test.verdict
        else:
            out["equivalence"] = "not shown"
            notes.append(f"{n} examples: too few to test equivalence (at least {MIN_PAIRED_EXAMPLES})")
    else:
        notes.append(f"{primary} is undefined on this sample for one of the two models")
    correct_ref = per_example_correct(name, reference_predictions, references, **kwargs)
    if correct_ref is not None:
        result = mcnemar(correct_ref, per_example_correct(name, predictions, references, **kwargs))
        out["mcnemar_p"] = result.p_value
        out["flips"] = {"right_to_wrong": result.right_to_wrong, "wrong_to_right": result.wrong_to_right}
    if notes:
        out["note"] = "; ".join(notes)
    return out
