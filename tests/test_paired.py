"""Paired statistics (tasks/metrics/paired.py) against scipy and hand-computed values on fixed arrays."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tasks.metrics import compute, resample_indices
from tasks.metrics.paired import (
    MIN_PAIRED_EXAMPLES,
    mcnemar,
    paired_differences,
    paired_summary,
    per_example_correct,
    point,
    tost,
)


def _labels(n: int, accuracy: float, seed: int) -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(seed)
    refs = rng.integers(0, 2, n)
    wrong = rng.random(n) > accuracy
    preds = np.where(wrong, 1 - refs, refs)
    return preds.tolist(), refs.tolist()


def test_mcnemar_exact_matches_a_hand_computed_binomial_tail():
    # 1 right->wrong and 9 wrong->right: p = 2 * (C(10,0) + C(10,1)) / 2**10 = 22 / 1024.
    a = np.array([True] * 1 + [False] * 9 + [True] * 5)
    b = np.array([False] * 1 + [True] * 9 + [True] * 5)
    result = mcnemar(a, b)
    assert (result.right_to_wrong, result.wrong_to_right) == (1, 9)
    assert result.p_value == pytest.approx(22 / 1024, abs=1e-12)
    assert result.p_value == pytest.approx(stats.binomtest(1, 10, 0.5).pvalue)


def test_mcnemar_without_discordant_pairs_is_p_one():
    same = np.array([True, False, True])
    assert mcnemar(same, same).p_value == 1.0


def test_paired_difference_of_accuracy_matches_resampling_by_hand():
    preds_a, refs = _labels(300, 0.8, seed=1)
    preds_b, _ = _labels(300, 0.8, seed=2)
    metrics_a, metrics_b = compute("classification", preds_a, refs), compute("classification", preds_b, refs)
    diffs = paired_differences(
        "classification", preds_a, preds_b, refs, ["accuracy", "f1"],
        point_a=metrics_a, point_b=metrics_b, n_resamples=200, seed=7,
    )
    # The distribution is the difference of the two metrics recomputed on the same resampled examples.
    rng = np.random.default_rng(7)
    indices = rng.integers(0, 300, size=(200, 300))
    for key in ("accuracy", "f1"):
        by_hand = [
            compute("classification", [preds_b[j] for j in row], [refs[j] for j in row])[key]
            - compute("classification", [preds_a[j] for j in row], [refs[j] for j in row])[key]
            for row in indices[:20]
        ]
        np.testing.assert_allclose(diffs[key].distribution[:20], by_hand, atol=1e-9)
        assert diffs[key].difference == pytest.approx(metrics_b[key] - metrics_a[key])


def test_paired_interval_agrees_with_scipy_paired_bootstrap():
    rng = np.random.default_rng(0)
    refs = rng.normal(size=2000)
    a = (refs + rng.normal(scale=0.5, size=2000)).tolist()
    b = (refs + rng.normal(scale=0.6, size=2000)).tolist()
    ref_list = refs.tolist()
    ma, mb = compute("regression", a, ref_list), compute("regression", b, ref_list)
    ours = paired_differences("regression", a, b, ref_list, ["mse"], point_a=ma, point_b=mb, n_resamples=2000, seed=3)
    theirs = stats.bootstrap(
        (np.asarray(a), np.asarray(b), refs),
        lambda x, y, r: np.mean((y - r) ** 2) - np.mean((x - r) ** 2),
        paired=True, vectorized=False, n_resamples=2000, method="percentile", random_state=3,
    ).confidence_interval
    # Different random draws, same method: the bounds agree to a small fraction of the interval's width.
    width = theirs.high - theirs.low
    assert ours["mse"].low == pytest.approx(theirs.low, abs=0.1 * width)
    assert ours["mse"].high == pytest.approx(theirs.high, abs=0.1 * width)


def test_paired_interval_is_narrower_than_independent_intervals_for_correlated_models():
    preds_a, refs = _labels(1000, 0.85, seed=5)
    preds_b = list(preds_a)
    for i in range(0, 1000, 100):  # ten examples flip
        preds_b[i] = 1 - preds_b[i]
    ma, mb = compute("classification", preds_a, refs), compute("classification", preds_b, refs)
    d = paired_differences("classification", preds_a, preds_b, refs, ["accuracy"], point_a=ma, point_b=mb, seed=1)
    assert d["accuracy"].high - d["accuracy"].low < 0.02  # each model's own 95 % CI is about 0.044 wide


@pytest.mark.parametrize(
    ("shift", "verdict"),
    [(0.0, "equivalent"), (-0.03, "worse"), (-0.01, "not shown")],
)
def test_tost_on_constructed_differences(shift, verdict):
    from tasks.metrics.paired import PairedDifference

    rng = np.random.default_rng(0)
    distribution = shift + rng.normal(scale=0.003, size=2000)
    d = PairedDifference("accuracy", shift, float(distribution.min()), float(distribution.max()), distribution)
    assert tost(d, margin=0.01).verdict == verdict


def test_tost_p_value_is_never_zero_and_needs_a_positive_margin():
    from tasks.metrics.paired import PairedDifference

    d = PairedDifference("accuracy", 0.0, 0.0, 0.0, np.zeros(999))
    assert tost(d, 0.01).p_value == pytest.approx(1 / 1000)
    with pytest.raises(ValueError, match="margin"):
        tost(d, 0.0)


def test_summary_of_a_student_two_points_worse_on_2000_examples():
    preds_a, refs = _labels(2000, 0.88, seed=11)
    preds_b = list(preds_a)
    flipped = [i for i, (p, r) in enumerate(zip(preds_a, refs, strict=True)) if p == r][:40]
    for i in flipped:
        preds_b[i] = 1 - preds_b[i]
    summary = paired_summary(
        "classification", preds_a, preds_b, refs, primary="accuracy",
        reference_metrics=compute("classification", preds_a, refs), metrics=compute("classification", preds_b, refs),
    )
    assert summary["difference"] == pytest.approx(-0.02)
    assert summary["difference_ci"][1] < -0.01
    assert summary["equivalence"] == "worse"
    assert summary["flips"] == {"right_to_wrong": 40, "wrong_to_right": 0}
    assert summary["mcnemar_p"] == pytest.approx(stats.binomtest(40, 40, 0.5).pvalue)


def test_summary_with_too_few_examples_claims_nothing():
    preds, refs = _labels(MIN_PAIRED_EXAMPLES - 1, 0.9, seed=3)
    m = compute("classification", preds, refs)
    summary = paired_summary("classification", preds, preds, refs, primary="accuracy", reference_metrics=m, metrics=m)
    assert summary["equivalence"] == "not shown"
    assert "too few" in summary["note"]


def test_graded_metrics_have_no_mcnemar_and_bleu_margins_are_in_points():
    assert per_example_correct("generation", ["a"], [["a"]]) is None
    assert per_example_correct("regression", [0.1], [0.2]) is None
    assert point("bleu") == 1.0 and point("accuracy") == 0.01
    assert per_example_correct("squad", ["the cat", "dog"], [["cat"], ["bird"]]).tolist() == [True, False]
    assert per_example_correct("seqeval", [["B-X", "O"], ["O"]], [["B-X", "O"], ["B-X"]]).tolist() == [True, False]


def test_resample_indices_are_the_bootstrap_of_the_scores():
    # The paired bootstrap draws indices like resample_indices: the same seed gives the same first chunk.
    assert np.array_equal(resample_indices(5, 3, seed=4), np.random.default_rng(4).integers(0, 5, size=(3, 5)))
