"""The score verdict of one metric of one matched pair of records (rules in :mod:`reports.compare`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.results import Record, RunResults
from reports.escape import md
from reports.text import ci_text
from tasks.defaults import DEFAULT_RESAMPLES
from tasks.metrics.paired import (
    CORRECTNESS,
    MIN_PAIRED_EXAMPLES,
    mcnemar,
    paired_differences,
    per_example_correct,
    point,
    tost,
)


@dataclass(frozen=True)
class Tolerance:
    """How far a metric may fall: ``max(absolute, relative × |baseline|)``; either may be absent."""

    absolute: float | None = None
    relative: float | None = None

    @classmethod
    def points(cls, points: float, key: str) -> Tolerance:
        """``points`` percentage points of metric ``key`` (0.01 per point of a [0, 1] metric, 1.0 of BLEU)."""
        return cls(absolute=points * point(key))

    def value(self, baseline: float) -> float:
        """The tolerance at a baseline value of ``baseline``."""
        return max(self.absolute or 0.0, (self.relative or 0.0) * abs(baseline))

    def text(self) -> str:
        """``0.01``, ``2%`` or ``max(0.01, 2%)``."""
        parts = [f"{self.absolute:g}"] if self.absolute is not None else []
        parts += [f"{self.relative * 100:g}%"] if self.relative is not None else []
        return parts[0] if len(parts) == 1 else f"max({', '.join(parts)})"


@dataclass
class MetricVerdict:
    """One metric of one matched pair."""

    key: str
    baseline: float | None
    candidate: float | None
    difference: float | None
    tolerance: float
    #: "equivalent" | "inconclusive" | "regression" | "improved"
    verdict: str
    paired: bool
    ci: tuple[float, float] | None = None
    significant: bool | None = None
    tost_p: float | None = None
    mcnemar_p: float | None = None
    flips: tuple[int, int] | None = None  # (right → wrong, wrong → right)
    examples: int | None = None
    reasons: list[str] = field(default_factory=list)


def _value(record: Record, key: str) -> float | None:
    if key == record.primary_metric and record.score is not None:
        return float(record.score)
    value = record.metrics.get(key)
    return float(value) if value is not None else None


def _references(record: Record, run: RunResults) -> tuple[list, str, dict] | None:
    """The eval references a record's predictions are scored against, with the metric and its arguments."""
    eval_set = run.eval_sets.get(record.task)
    if eval_set is None or eval_set.metric is None or not eval_set.references:
        return None
    if record.eval_fingerprint and eval_set.fingerprint != record.eval_fingerprint:
        return None
    return eval_set.references, eval_set.metric, eval_set.metric_kwargs


def _paired_inputs(base: Record, cand: Record, runs: tuple[RunResults, RunResults]) -> tuple[list, str, dict] | None:
    found = _references(base, runs[0]) or _references(cand, runs[1])
    if found is None or base.predictions is None or cand.predictions is None:
        return None
    references = found[0]
    if not len(base.predictions) == len(cand.predictions) == len(references):
        return None
    return found


def _paired(key: str, base: Record, cand: Record, inputs: tuple[list, str, dict], tol: float, primary: bool,
            verdict: MetricVerdict) -> None:
    references, name, kwargs = inputs
    diffs = paired_differences(
        name, base.predictions, cand.predictions, references, [key],
        point_a={key: verdict.baseline}, point_b={key: verdict.candidate}, n_resamples=DEFAULT_RESAMPLES, **kwargs,
    )
    d = diffs[key]
    verdict.ci, verdict.examples = (d.low, d.high), len(references)
    n = len(references)
    if primary:
        correct_b = per_example_correct(name, base.predictions, references, **kwargs)
        if correct_b is not None:
            test = mcnemar(correct_b, per_example_correct(name, cand.predictions, references, **kwargs))
            verdict.mcnemar_p, verdict.flips = test.p_value, (test.right_to_wrong, test.wrong_to_right)
    identical = bool(np.all(d.distribution == 0)) and d.difference == 0
    if tol > 0:
        verdict.tost_p = tost(d, tol).p_value
    if identical:
        verdict.verdict = "equivalent"
    elif n < MIN_PAIRED_EXAMPLES:
        verdict.verdict = "inconclusive"
        verdict.reasons.append(f"{md(key)}: {n} examples are too few to tell (at least {MIN_PAIRED_EXAMPLES})")
    elif d.high < -tol:
        verdict.verdict, verdict.significant = "regression", True
    elif d.low > tol:
        verdict.verdict, verdict.significant = "improved", True
    elif verdict.tost_p is not None and verdict.tost_p < 0.05:
        verdict.verdict = "equivalent"
    else:
        verdict.verdict = "inconclusive"
    flips = ""
    if verdict.flips:
        flips = (f"; {verdict.flips[0]} right→wrong, {verdict.flips[1]} wrong→right "
                 f"({CORRECTNESS.get(name, 'per example')}), McNemar p = {verdict.mcnemar_p:.3g}")
    if verdict.verdict != "equivalent":
        change = "fell" if verdict.difference < 0 else "rose"
        verdict.reasons.append(
            f"{md(key)} {change} {verdict.baseline:.4f} → {verdict.candidate:.4f} ({verdict.difference:+.4f}, "
            f"paired 95 % CI [{d.low:+.4f}, {d.high:+.4f}] on {n} examples, tolerance {tol:g}"
            + (f", TOST p = {verdict.tost_p:.3g}" if verdict.tost_p is not None else "") + flips + ")"
        )


def _unpaired(key: str, base: Record, cand: Record, tol: float, primary: bool, verdict: MetricVerdict) -> None:
    b, c, delta = verdict.baseline, verdict.candidate, verdict.difference
    b_ci, c_ci = (base.score_ci, cand.score_ci) if primary else (None, None)
    if b_ci and c_ci:
        worse = c_ci.below(b) or c < b_ci.low
        better = c_ci.above(b) or c > b_ci.high
        verdict.significant = worse if delta < 0 else better
        basis = f"no per-example predictions: unpaired 95 % CIs, baseline CI{ci_text(b_ci, 4)}, candidate CI{ci_text(c_ci, 4)}"
    else:
        worse = better = True
        basis = "no per-example predictions and no CI: tolerance only"
    if delta < -tol and worse:
        verdict.verdict = "regression"
        verdict.reasons.append(
            f"{md(key)} fell {b:.4f} → {c:.4f} ({delta:+.4f}, more than the allowed {tol:g}; {basis})"
        )
    elif delta > tol and better:
        verdict.verdict = "improved"
        verdict.reasons.append(f"{md(key)} rose {b:.4f} → {c:.4f} ({delta:+.4f}; {basis})")
    else:
        verdict.verdict = "inconclusive" if delta != 0 else "equivalent"


def judge_metric(key: str, base: Record, cand: Record, runs: tuple[RunResults, RunResults], tolerance,
                 *, primary: bool) -> MetricVerdict | None:
    """The verdict of metric ``key`` of a matched pair; None when neither record has it."""
    b, c = _value(base, key), _value(cand, key)
    if b is None and c is None:
        return None
    if b is None or c is None:
        side = "baseline" if b is None else "candidate"
        return MetricVerdict(key, b, c, None, 0.0, "inconclusive", False,
                             reasons=[f"{md(key)} is undefined in the {side}: nothing to compare"])
    tol = tolerance.value(b)
    verdict = MetricVerdict(key, b, c, c - b, tol, "inconclusive", paired=False)
    inputs = _paired_inputs(base, cand, runs) if base.status == cand.status == "ok" else None
    if inputs is not None:
        verdict.paired = True
        _paired(key, base, cand, inputs, tol, primary, verdict)
    else:
        _unpaired(key, base, cand, tol, primary, verdict)
    return verdict
