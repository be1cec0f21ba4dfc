"""Regression verdicts: compare a candidate run with a baseline, record by record.

Records are matched by (task, role, format); where a run holds several models in one such slot
(several students), by model name too, and a single unmatched model on each side is paired with the
other (a renamed student). Two runs that cannot be compared are refused (:class:`ReusebenchError`, exit 2):
a matched pair whose primary metric differs, or whose eval split differs (by fingerprint, or by size where
older files have no fingerprint), or two runs that share no record at all.

For every matched pair, each metric judged (the primary metric, and every metric given a tolerance) gets a
verdict from the **paired** difference ``candidate - baseline`` on the same eval examples, when both records
kept their per-example predictions and the baseline run its references (:mod:`tasks.metrics.paired`):

* **regression** — the whole paired 95 % interval lies below ``-tolerance``;
* **improved** — the whole interval lies above ``+tolerance``;
* **equivalent** — TOST shows the difference within ``±tolerance`` (p < 0.05);
* **inconclusive** — none of these: the examples are too few (or the change too close to the tolerance)
  to tell. Not a failure unless ``fail_inconclusive``.

The tolerance of a metric is ``max(absolute, relative × |baseline value|)``; by default ``max_score_drop``
points (0.01 of a [0, 1] metric, 1.0 of BLEU or chrF), per metric on the command line or in a YAML file.
Records without per-example predictions (older results) fall back to unpaired 95 % CIs: a regression when
the drop exceeds the tolerance and one run's score lies outside the other's CI, and the verdict says so.
McNemar's exact test and the right→wrong / wrong→right flips are reported where examples are right or wrong.

* **Latency** — for every batch size measured in both: a *regression* when the candidate's p50 exceeds
  the baseline's p50 by more than ``max_latency_increase`` (relative, default 0.10) **and** exceeds the
  baseline's p90, i.e. it lies beyond the spread the baseline itself recorded.
* **Status** — a record that was ``ok`` and is now ``failed`` is a regression.
* **Missing** — a baseline record with no candidate counterpart is a regression (something stopped
  being produced) unless ``allow_missing``; candidate-only records are listed as new.

Machine differences (CPU, threads) are reported as notes, since latencies from different machines are not
comparable. The Markdown and JUnit renderings live in :mod:`reports.compare_render`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.results import Record, RunResults
from reports.compare_match import match_records
from reports.compare_scores import MetricVerdict, Tolerance, judge_metric
from reports.escape import md
from reports.text import batch_label, batch_order
from tasks.errors import ReusebenchError

DEFAULT_MAX_SCORE_DROP = 0.01
DEFAULT_MAX_LATENCY_INCREASE = 0.10

__all__ = [
    "DEFAULT_MAX_LATENCY_INCREASE",
    "DEFAULT_MAX_SCORE_DROP",
    "MARKDOWN_SIGNATURE",
    "Comparison",
    "LatencyDelta",
    "RowComparison",
    "Thresholds",
    "Tolerance",
    "compare_runs",
    "render_markdown",
    "write_junit",
]


@dataclass(frozen=True)
class Thresholds:
    """How much worse a candidate may be before it counts as a regression."""

    max_score_drop: float = DEFAULT_MAX_SCORE_DROP
    max_latency_increase: float = DEFAULT_MAX_LATENCY_INCREASE
    #: per metric key: its own absolute and relative tolerances (see the module docstring)
    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    fail_inconclusive: bool = False

    def tolerance(self, key: str) -> Tolerance:
        """The tolerance of metric ``key``: its own, else ``max_score_drop`` points."""
        return self.tolerances.get(key) or Tolerance.points(self.max_score_drop * 100, key)


@dataclass
class LatencyDelta:
    """One batch size of one matched pair."""

    key: str
    baseline_p50: float
    baseline_p90: float | None
    candidate_p50: float
    ratio: float
    limit: float
    verdict: str  # "ok" | "regression" | "faster"


@dataclass
class RowComparison:
    """One matched (or unmatched) record."""

    task: str
    role: str
    format: str
    model: str
    candidate_model: str | None
    baseline: Record | None
    candidate: Record | None
    score_delta: float | None = None
    score_significant: bool | None = None
    metrics: list[MetricVerdict] = field(default_factory=list)
    latency: list[LatencyDelta] = field(default_factory=list)
    #: "ok" | "equivalent" | "inconclusive" | "regression" | "improved" | "missing" | "new"
    verdict: str = "ok"
    reasons: list[str] = field(default_factory=list)  # Markdown; user strings already escaped

    @property
    def primary(self) -> MetricVerdict | None:
        """The verdict of the primary metric, when it was judged."""
        return self.metrics[0] if self.metrics else None


@dataclass
class Comparison:
    """The whole verdict."""

    baseline_id: str
    candidate_id: str
    thresholds: Thresholds
    rows: list[RowComparison]
    notes: list[str]

    @property
    def regressions(self) -> list[RowComparison]:
        """Rows whose verdict is a regression (including missing records, unless allowed; inconclusive
        ones too when the thresholds say so)."""
        failing = {"regression", "missing"} | ({"inconclusive"} if self.thresholds.fail_inconclusive else set())
        return [r for r in self.rows if r.verdict in failing]

    @property
    def regressed(self) -> bool:
        """True when the candidate regressed anywhere."""
        return bool(self.regressions)


def _refuse_incomparable(pairs: Sequence[tuple[Record, Record]], source: str) -> None:
    """A pair scored by different metrics or on different eval splits cannot be compared: exit 2."""
    for base, cand in pairs:
        where = f"{source}: task {base.task!r}, {base.role} {base.model!r} ({base.format})"
        if base.primary_metric != cand.primary_metric:
            raise ReusebenchError(
                f"{where}: the primary metric changed from {base.primary_metric!r} to {cand.primary_metric!r}; "
                "scores of different metrics cannot be compared"
            )
        if base.eval_fingerprint and cand.eval_fingerprint and base.eval_fingerprint != cand.eval_fingerprint:
            raise ReusebenchError(
                f"{where}: the eval split changed (fingerprint {base.eval_fingerprint[:12]} → "
                f"{cand.eval_fingerprint[:12]}); scores on different examples cannot be compared"
            )
        if base.eval_examples and cand.eval_examples and base.eval_examples != cand.eval_examples:
            raise ReusebenchError(
                f"{where}: the eval split changed ({base.eval_examples} → {cand.eval_examples} examples); "
                "scores on different examples cannot be compared"
            )


def _verdict_of(metrics: list[MetricVerdict]) -> tuple[str, bool | None]:
    verdicts = [m.verdict for m in metrics]
    for verdict in ("regression", "inconclusive", "improved", "equivalent"):
        if verdict in verdicts:
            primary = metrics[0]
            return verdict, primary.significant
    return "ok", None


def _compare_scores(row: RowComparison, base: Record, cand: Record, runs: tuple[RunResults, RunResults],
                    thresholds: Thresholds) -> None:
    keys = [base.primary_metric] + sorted(k for k in thresholds.tolerances if k != base.primary_metric)
    for key in keys:
        judged = judge_metric(key, base, cand, runs, thresholds.tolerance(key), primary=key == base.primary_metric)
        if judged is not None:
            row.metrics.append(judged)
            row.reasons.extend(judged.reasons)
    primary = row.primary
    if primary is None:
        return
    row.score_delta = primary.difference
    verdict, row.score_significant = _verdict_of(row.metrics)
    if row.verdict == "ok" or verdict == "regression":
        row.verdict = verdict


def _compare_latency(row: RowComparison, base: Record, cand: Record, thresholds: Thresholds) -> None:
    for key in sorted(set(base.latency_ms) & set(cand.latency_ms), key=batch_order):
        b_block, c_block = base.latency_ms[key], cand.latency_ms[key]
        b50, c50 = b_block.p50, c_block.p50
        if not b50 or c50 is None or b50 <= 0:
            continue
        b90 = b_block.p90
        limit = max(b50 * (1 + thresholds.max_latency_increase), b90 or 0.0)
        ratio = c50 / b50
        if c50 > limit:
            verdict = "regression"
            row.verdict = "regression"
            row.reasons.append(
                f"p50 latency at {batch_label(key)} rose {b50:.2f} → {c50:.2f} ms (×{ratio:.2f}; limit {limit:.2f} ms "
                f"= max(baseline p50 × {1 + thresholds.max_latency_increase:g}, baseline p90"
                + (f" {b90:.2f}" if b90 else " n/a")
                + "))"
            )
        elif c50 < b50 / (1 + thresholds.max_latency_increase) and (c_block.p90 or c50) < b50:
            verdict = "faster"
        else:
            verdict = "ok"
        row.latency.append(
            LatencyDelta(key, float(b50), float(b90) if b90 else None, float(c50), ratio, limit, verdict)
        )
    if row.verdict in ("ok", "equivalent") and any(d.verdict == "faster" for d in row.latency):
        row.verdict = "improved"
        row.reasons.append(
            "faster: "
            + ", ".join(
                f"{batch_label(d.key)} ×{d.ratio:.2f}" for d in row.latency if d.verdict == "faster"
            )
        )


def _environment_notes(baseline: RunResults, candidate: RunResults) -> list[str]:
    notes = []
    for key in ("cpu", "threads", "measure_threads", "gpu"):
        b, c = baseline.environment.get(key), candidate.environment.get(key)
        if b != c:
            notes.append(
                f"environment differs: {key} {md(repr(b))} (baseline) vs {md(repr(c))} (candidate); "
                "latencies may not be comparable"
            )
    for name, run in (("baseline", baseline), ("candidate", candidate)):
        noisy = sum(1 for r in run.records if r.noisy)
        if noisy:
            notes.append(
                f"{noisy} {name} record(s) have latencies flagged noisy (measured on a busy machine): "
                "latency verdicts on them are less certain"
            )
    return notes


def compare_runs(
    baseline: RunResults,
    candidate: RunResults,
    thresholds: Thresholds | None = None,
    *,
    allow_missing: bool = False,
    source: str = "compare",
) -> Comparison:
    """Compare two runs record by record (see the module docstring for the rules); refuses runs that share
    no record or whose records were scored differently (:class:`ReusebenchError`)."""
    thresholds = thresholds or Thresholds()
    pairs, missing, new = match_records(baseline.records, candidate.records)
    if not pairs:
        raise ReusebenchError(
            f"{source}: nothing to compare: the baseline {baseline.run_id!r} and the candidate "
            f"{candidate.run_id!r} share no record (task, role, format)"
        )
    _refuse_incomparable(pairs, source)
    rows: list[RowComparison] = []
    for base, cand in pairs:
        row = RowComparison(base.task, base.role, base.format, base.model, cand.model, base, cand)
        if cand.model != base.model:
            row.reasons.append(f"matched {md(base.model)} with candidate {md(cand.model)}")
        if base.status == "ok" and cand.status != "ok":
            row.verdict = "regression"
            row.reasons.append(f"status ok → {cand.status}: {md(cand.status_reason or 'no reason given')}")
        _compare_scores(row, base, cand, (baseline, candidate), thresholds)
        _compare_latency(row, base, cand, thresholds)
        rows.append(row)
    for base in missing:
        row = RowComparison(base.task, base.role, base.format, base.model, None, base, None)
        row.verdict = "ok" if allow_missing else "missing"
        row.reasons.append("missing in the candidate" + (" (allowed)" if allow_missing else ""))
        rows.append(row)
    for cand in new:
        row = RowComparison(
            cand.task, cand.role, cand.format, cand.model, cand.model, None, cand, verdict="new"
        )
        row.reasons.append("new in the candidate")
        rows.append(row)
    rows.sort(key=lambda r: (r.task, r.role != "teacher", r.model, r.format))
    notes = _environment_notes(baseline, candidate)
    return Comparison(baseline.run_id, candidate.run_id, thresholds, rows, notes)


# The renderings, importable from here as before.
from reports.compare_render import MARKDOWN_SIGNATURE, render_markdown, write_junit  # noqa: E402
