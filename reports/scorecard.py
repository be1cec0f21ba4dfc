"""Reuse scorecards: how much of the teacher a compressed variant keeps, and what it gains.

For every (task, teacher) the reference is the fine-tuned teacher in PyTorch. Every other record
of that task (students in every format, the teacher's own exports) gets a scorecard:

* ``retention``   = variant score / teacher score (same eval split);
* ``speedup``     = teacher PyTorch p50 latency / variant p50 latency, at batch 1;
* ``compression`` = teacher size on disk / variant size on disk;
* ``train_cost_s``= wall time of the training that produced the variant (fine-tuning or distillation);
* ``reuse_score`` = ``sqrt(speedup * compression) * gate(retention, equivalence)``, where ``gate`` is 1 at or
  above 97 % retention (DistilBERT's published retention), falls linearly to 0 at 90 %, and is 0 for
  failed exports. The geometric mean rewards speed and size equally; the gate makes a fast student
  that lost the task worth nothing, in the spirit of MLPerf's "≥ 99 % of the reference" rule.
  The paired equivalence test against the teacher (TOST at the suite's ``equivalence_margin``, see
  :mod:`tasks.metrics.paired`) refines the ratio: a variant shown *equivalent* gets full credit whatever the
  ratio (its loss is within the margin), one shown *worse* than the margin gets half the ratio's credit
  (a significant loss the ratio alone may not show), and *not shown* leaves the ratio's gate as it is.

Retention (and with it the reuse score) is withheld when the teacher does not beat the task's trivial
baseline (majority label, copy the input) by more than its CI: keeping 100 % of a teacher that learnt
nothing is no achievement (``retention_reported: false`` on the scorecard).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from harness.results import Record, RunResults, Scorecard

FULL_CREDIT_RETENTION = 0.97
ZERO_CREDIT_RETENTION = 0.90
SPEED_BATCH = 1

#: The share of the ratio's credit left to a variant the paired test shows worse than the margin.
WORSE_CREDIT = 0.5

REUSE_SCORE_FORMULA = (
    "reuse_score = sqrt(speedup x compression) x gate(retention); gate = 1 at retention >= 0.97, "
    "linear down to 0 at retention <= 0.90, and 0 for failed exports; 1 when the paired test (TOST) shows the "
    "variant equivalent to the teacher, half the ratio's gate when it shows it worse than the margin; "
    "withheld when the teacher does not beat the trivial baseline by more than its CI"
)


def retention_gate(retention: float, equivalence: str | None = None) -> float:
    """1 at or above full-credit retention, 0 at or below zero-credit, linear in between; refined by the
    paired equivalence verdict (see the module docstring)."""
    if equivalence == "equivalent":
        return 1.0
    span = FULL_CREDIT_RETENTION - ZERO_CREDIT_RETENTION
    gate = min(1.0, max(0.0, (retention - ZERO_CREDIT_RETENTION) / span))
    return gate * WORSE_CREDIT if equivalence == "worse" else gate


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def reuse_score(
    retention: float | None, speedup: float | None, compression: float | None, ok: bool, equivalence: str | None = None
) -> float | None:
    """The documented reuse score (see module docstring)."""
    if retention is None or speedup is None or compression is None:
        return None
    if not ok:
        return 0.0
    return math.sqrt(speedup * compression) * retention_gate(retention, equivalence)


def teacher_beats_baseline(reference: Record, baselines: dict[str, dict] | None) -> bool:
    """Whether the teacher's whole CI lies above its task's trivial baseline (True when there is none)."""
    baseline = (baselines or {}).get(reference.task) or {}
    value = baseline.get("score")
    if not isinstance(value, int | float) or isinstance(value, bool) or reference.score is None:
        return True
    low = reference.score_ci.low if reference.score_ci else reference.score
    return low > value


def descends_from(record: Record, teacher: Record) -> bool:
    """Whether ``record`` is ``teacher`` itself (another format) or one of its students. Results
    written before records named their teacher fall back to the lineage text."""
    if record.teacher is not None and teacher.teacher is not None:
        return record.teacher == teacher.teacher
    distilled_from = record.lineage.distilled_from or ""
    return record.model == teacher.model or distilled_from.startswith(f"{teacher.model} (")


def training_of(records: Sequence[Record], record: Record) -> Record | None:
    """The record whose training produced ``record``: itself when it was trained, else the trained record
    of the same (task, model) (an export costs no training itself; it inherits its PyTorch model's)."""
    if record.train is not None:
        return record
    return next((r for r in records if r.task == record.task and r.model == record.model and r.train), None)


def build_scorecards(records: list[Record], baselines: dict[str, dict] | None = None) -> list[Scorecard]:
    """One scorecard per non-reference record, against its task's teacher in PyTorch (``baselines``: the
    run's trivial baselines per task, which withhold retention from a teacher that does not beat them)."""
    cards: list[Scorecard] = []
    for reference in (r for r in records if r.role == "teacher" and r.format == "pytorch" and r.status == "ok"):
        reported = teacher_beats_baseline(reference, baselines)
        for record in records:
            if record.task != reference.task or record is reference or not descends_from(record, reference):
                continue
            retention = _ratio(record.score, reference.score) if record.score is not None and reported else None
            equivalence = record.paired.equivalence if record.paired else None
            speedup = _ratio(reference.p50(SPEED_BATCH), record.p50(SPEED_BATCH))
            compression = _ratio(reference.size_mb, record.size_mb)
            source = training_of(records, record)
            train_cost = source.train_wall_s if source else None
            cards.append(
                Scorecard(
                    task=record.task,
                    teacher=reference.model,
                    student=record.model,
                    role=record.role,
                    format=record.format,
                    retention=_round(retention),
                    speedup=_round(speedup),
                    compression=_round(compression),
                    train_cost_s=_round(train_cost),
                    reuse_score=_round(reuse_score(retention, speedup, compression, record.status == "ok", equivalence)),
                    equivalence=equivalence,
                    tost_p=record.paired.tost_p if record.paired else None,
                    retention_reported=reported,
                    status=record.status,
                    score=record.score,
                    teacher_score=reference.score,
                )
            )
    return cards


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def attach_scorecards(results: RunResults) -> RunResults:
    """Compute the scorecards of a run and store them on it."""
    results.scorecards = build_scorecards(results.records, results.baselines)
    return results
