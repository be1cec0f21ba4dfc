"""Tests for tasks.metrics.transferability: LogME, H-score, LEEP, kendall_tau, token_level_inputs.

The ``_ref_*`` functions below are straightforward transcriptions of the reference implementations
(thuml/LogME ``LogME.py``: ``truncated_svd`` + ``LogME._fit_fixed_point``; thuml/Transfer-Learning-Library
``tllib/ranking/hscore.py`` and ``tllib/ranking/leep.py``), kept inside the test so that the production
code is checked against the reference algorithm, not against itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from tasks.metrics.transferability import hscore, kendall_tau, leep, logme, token_level_inputs


def _ref_truncated_svd(x):
    u, s, vh = np.linalg.svd(x.transpose() @ x)
    s = np.sqrt(s)
    u_times_sigma = x @ vh.transpose()
    k = np.sum((s > 1e-10) * 1)
    s = s.reshape(-1, 1)
    s = s[:k]
    vh = vh[:k]
    u = u_times_sigma[:, :k] / s.reshape(1, -1)
    return u, s, vh


def _ref_logme(f, y, regression=False):
    f = f.astype(np.float64)
    if regression:
        y = y.astype(np.float64)
        if len(y.shape) == 1:
            y = y.reshape(-1, 1)
    N, D = f.shape
    if N > D:
        u, s, vh = _ref_truncated_svd(f)
    else:
        u, s, vh = np.linalg.svd(f, full_matrices=False)
    s = s.reshape(-1, 1)
    sigma = s**2
    evidences = []
    num_dim = y.shape[1] if regression else int(y.max() + 1)
    for i in range(num_dim):
        y_ = y[:, i] if regression else (y == i).astype(np.float64)
        y_ = y_.reshape(-1, 1)
        x = u.T @ y_
        x2 = x**2
        res_x2 = (y_**2).sum() - x2.sum()
        alpha, beta = 1.0, 1.0
        for _ in range(11):
            t = alpha / beta
            gamma = (sigma / (sigma + t)).sum()
            m2 = (sigma * x2 / ((t + sigma) ** 2)).sum()
            res2 = (x2 / ((1 + sigma / t) ** 2)).sum() + res_x2
            alpha = gamma / (m2 + 1e-5)
            beta = (N - gamma) / (res2 + 1e-5)
            t_ = alpha / beta
            if abs(t_ - t) / t <= 1e-3:
                break
        evidence = (
            D / 2.0 * np.log(alpha)
            + N / 2.0 * np.log(beta)
            - 0.5 * np.sum(np.log(alpha + beta * sigma))
            - beta / 2.0 * res2
            - alpha / 2.0 * m2
            - N / 2.0 * np.log(2 * np.pi)
        )
        evidences.append(evidence / N)
    return np.mean(evidences)


def _ref_hscore(f, y):
    covf = np.cov(f, rowvar=False)
    C = int(y.max() + 1)
    g = np.zeros_like(f)
    for i in range(C):
        Ef_i = np.mean(f[y == i, :], axis=0)
        g[y == i] = Ef_i
    covg = np.cov(g, rowvar=False)
    return np.trace(np.dot(np.linalg.pinv(covf, rcond=1e-15), covg))


def _ref_leep(source_pred, target_label):
    N, C_s = source_pred.shape
    target_label = target_label.reshape(-1)
    C_t = int(np.max(target_label) + 1)
    normalized_prob = source_pred / float(N)
    joint = np.zeros((C_t, C_s), dtype=float)
    for i in range(C_t):
        joint[i] = np.sum(normalized_prob[target_label == i], axis=0)
    p_target_given_source = (joint / joint.sum(axis=0, keepdims=True)).T
    empirical_prediction = source_pred @ p_target_given_source
    empirical_prob = np.array(
        [predict[label] for predict, label in zip(empirical_prediction, target_label, strict=True)]
    )
    return np.mean(np.log(empirical_prob))


def _data():
    """60 x 8 features with some class signal, 3 balanced classes, a 5-way source softmax, 2 regression targets."""
    rng = np.random.default_rng(0)
    f = rng.normal(size=(60, 8))
    y = np.arange(60) % 3
    f[:, :2] += y[:, None]
    logits = rng.normal(size=(60, 5))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y_reg = rng.normal(size=(60, 2))
    return f, y, probs, y_reg


# Expected values: computed once by running the _ref_* transcriptions above on _data() (numpy 2.4.6).
EXPECTED_LOGME = -0.6827352383383288
EXPECTED_LOGME_REGRESSION_2D = -1.1460033969125707
EXPECTED_LOGME_REGRESSION_1D = -1.2011529163800734
EXPECTED_LOGME_WIDE = 0.11611786929791616  # first 6 rows: N <= D, the reference's plain-SVD branch
EXPECTED_HSCORE = 0.8174580525113215
EXPECTED_LEEP = -1.0696088102911359


def test_logme_matches_reference():
    f, y, _, y_reg = _data()
    assert logme(f, y) == pytest.approx(_ref_logme(f, y), rel=1e-9)
    assert logme(f, y) == pytest.approx(EXPECTED_LOGME, rel=1e-9)
    assert logme(f[:6], y[:6]) == pytest.approx(_ref_logme(f[:6], y[:6]), rel=1e-9)
    assert logme(f[:6], y[:6]) == pytest.approx(EXPECTED_LOGME_WIDE, rel=1e-9)


def test_logme_regression_matches_reference():
    f, _, _, y_reg = _data()
    assert logme(f, y_reg, regression=True) == pytest.approx(_ref_logme(f, y_reg, True), rel=1e-9)
    assert logme(f, y_reg, regression=True) == pytest.approx(EXPECTED_LOGME_REGRESSION_2D, rel=1e-9)
    y1 = y_reg[:, 0]
    assert logme(f, y1, regression=True) == pytest.approx(_ref_logme(f, y1, True), rel=1e-9)
    assert logme(f, y1, regression=True) == pytest.approx(EXPECTED_LOGME_REGRESSION_1D, rel=1e-9)


def test_hscore_matches_reference():
    f, y, _, _ = _data()
    assert hscore(f, y) == pytest.approx(_ref_hscore(f, y), rel=1e-9)
    assert hscore(f, y) == pytest.approx(EXPECTED_HSCORE, rel=1e-9)


def test_leep_matches_reference():
    _, y, probs, _ = _data()
    assert leep(probs, y) == pytest.approx(_ref_leep(probs, y), rel=1e-9)
    assert leep(probs, y) == pytest.approx(EXPECTED_LEEP, rel=1e-9)


def _separable_and_random():
    rng = np.random.default_rng(1)
    y = np.arange(90) % 3
    separable = rng.normal(scale=0.1, size=(90, 8))
    separable[np.arange(90), y] += 3.0  # class c lights up dimension c
    return separable, rng.normal(size=(90, 8)), y


def test_logme_prefers_separable_features():
    separable, random, y = _separable_and_random()
    assert logme(separable, y) > logme(random, y)


def test_hscore_prefers_separable_features():
    separable, random, y = _separable_and_random()
    assert hscore(separable, y) > hscore(random, y)


def test_leep_perfect_vs_uniform_source():
    y = np.arange(30) % 3
    perfect = np.eye(3)[y]
    uniform = np.full((30, 3), 1 / 3)
    assert leep(perfect, y) == pytest.approx(0.0, abs=1e-12)
    assert leep(uniform, y) == pytest.approx(np.log(1 / 3))  # balanced labels: log of the class prior
    assert leep(perfect, y) > leep(uniform, y)


def test_leep_source_label_with_no_mass_is_ignored():
    y = np.arange(30) % 3
    probs = np.hstack([np.eye(3)[y], np.zeros((30, 1))])  # a 4th source label never predicted
    assert leep(probs, y) == pytest.approx(0.0, abs=1e-12)


def test_kendall_tau():
    tau, p = kendall_tau([1.0, 2.0, 3.0, 4.0, 5.0], [0.1, 0.2, 0.3, 0.4, 0.5])
    assert tau == pytest.approx(1.0)
    assert 0.0 < p < 0.05
    tau, _ = kendall_tau([1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0])
    assert tau == pytest.approx(-1.0)
    tau, _ = kendall_tau([1.0, float("nan"), 2.0, 3.0], [1.0, 5.0, 2.0, 3.0])  # the NaN pair is dropped
    assert tau == pytest.approx(1.0)


def test_kendall_tau_errors():
    with pytest.raises(ValueError, match="length|values"):
        kendall_tau([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 3 pairs"):
        kendall_tau([1.0, 2.0, float("nan")], [1.0, 2.0, 3.0])


def test_token_level_inputs():
    f = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    y = np.array([[0, -100, 1], [-100, 2, -100]])
    flat_f, flat_y = token_level_inputs(f, y)
    assert flat_f.shape == (3, 4)
    np.testing.assert_array_equal(flat_y, [0, 1, 2])
    np.testing.assert_array_equal(flat_f, f[[0, 0, 1], [0, 2, 1]])
    with pytest.raises(ValueError, match="features"):
        token_level_inputs(f[0], y)
    with pytest.raises(ValueError, match="labels"):
        token_level_inputs(f, y[:, :2])


@pytest.mark.parametrize("estimator", [logme, hscore])
def test_feature_estimators_validate_inputs(estimator):
    f, y, _, _ = _data()
    with pytest.raises(ValueError, match="features must be a 2-D"):
        estimator(f[0], y)
    bad = f.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="features contains NaN or inf"):
        estimator(bad, y)
    bad[3, 2] = np.inf
    with pytest.raises(ValueError, match="features contains NaN or inf"):
        estimator(bad, y)
    with pytest.raises(ValueError, match="at least 2 examples"):
        estimator(f[:1], y[:1])
    with pytest.raises(ValueError, match="labels has 59 entries"):
        estimator(f, y[:59])
    with pytest.raises(ValueError, match="at least 2 classes"):
        estimator(f, np.zeros(60, dtype=int))
    with pytest.raises(ValueError, match="labels must be a 1-D"):
        estimator(f, y.reshape(-1, 1))
    with pytest.raises(ValueError, match="integer class ids"):
        estimator(f, y + 0.5)
    with pytest.raises(ValueError, match=">= 0"):
        estimator(f, y - 1)


def test_logme_regression_validates_labels():
    f, _, _, y_reg = _data()
    with pytest.raises(ValueError, match="labels has 59 rows"):
        logme(f, y_reg[:59], regression=True)
    bad = y_reg.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="labels contains NaN"):
        logme(f, bad, regression=True)


def test_leep_validates_inputs():
    _, y, probs, _ = _data()
    with pytest.raises(ValueError, match="source_probs must be a 2-D"):
        leep(probs[0], y)
    with pytest.raises(ValueError, match="probability distributions"):
        leep(probs * 2, y)
    with pytest.raises(ValueError, match="labels has 59 entries"):
        leep(probs, y[:59])
    with pytest.raises(ValueError, match="at least 2 classes"):
        leep(probs, np.ones(60, dtype=int))
