"""Which variant to ship, per task, in one sentence that says why.

The rule, applied to every (model, format) of a task that succeeded and passed its export check:

1. *keeps the teacher*: the paired test shows it equivalent to the teacher in PyTorch (TOST at the suite's
   margin), or — when that is not shown but not refuted either — it keeps at least 97 % of the teacher's
   score; a variant shown *worse* than the margin never qualifies;
2. among those, the highest ``sqrt(speedup x compression)`` (the reuse score's gain), ties to the smaller file;
3. when no derived variant keeps the teacher, the teacher itself in PyTorch, and the sentence names the best
   student that was tried and what it kept.

Nothing is recommended when the teacher does not beat the task's trivial baseline by more than its CI
(the sentence says so). So a variant with a zero reuse score is never named while one that keeps the
teacher exists, which is what the bare "best reuse score" could do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.results import Record, RunResults
from reports.notes import baseline_score, beats_baseline
from reports.scorecard import FULL_CREDIT_RETENTION
from reports.summary import ScorecardRow, scorecard_rows


@dataclass(frozen=True)
class Recommendation:
    """The variant to ship for one task (``record`` is None when nothing should be shipped)."""

    task: str
    teacher: str | None
    model: str | None
    format: str | None
    record: Record | None
    sentence: str
    speedup: float | None = None
    compression: float | None = None
    retention: float | None = None
    equivalence: str | None = None
    tost_p: float | None = None


def _gain(row: ScorecardRow) -> float:
    return math.sqrt((row.speedup or 0.0) * (row.compression or 0.0))


def _keeps_teacher(row: ScorecardRow, record: Record) -> bool:
    if row.status != "ok" or row.parity_passed is False or row.retention is None:
        return False
    verdict = record.paired.equivalence if record.paired else None
    if verdict == "equivalent":
        return True
    return verdict != "worse" and row.retention >= FULL_CREDIT_RETENTION


def _isa(results: RunResults, fmt: str) -> str:
    if "int8" not in fmt:
        return ""
    isa = results.environment.get("isa_summary") or results.environment.get("cpu")
    return f"; int8 measured on {isa}" if isa else ""


def _why(row: ScorecardRow, record: Record, results: RunResults) -> str:
    parts = []
    if row.speedup is not None:
        parts.append(f"{row.speedup:.1f}× faster")
    if row.compression is not None:
        parts.append(f"{row.compression:.1f}× smaller")
    paired = record.paired
    margin_points = results.config.get("suite", {}).get("equivalence_margin", 1.0)
    point_word = "point" if margin_points == 1 else "points"
    ci = paired.difference_ci if paired else None
    if ci and ci[0] > 0:
        parts.append(
            f"scores above the teacher ({row.primary_metric} {paired.difference:+.4f}, paired 95 % CI "
            f"[{ci[0]:+.4f}, {ci[1]:+.4f}])"
        )
    elif paired and paired.equivalence == "equivalent":
        parts.append(
            f"equivalent to the teacher within {margin_points:g} {point_word} (TOST p = {paired.tost_p:.3f})"
        )
    else:
        shown = "" if not paired else f"; equivalence within {margin_points:g} {point_word} not shown"
        parts.append(f"keeps {row.retention:.1%} of the teacher's {row.primary_metric}{shown}")
    return ", ".join(parts) + _isa(results, row.format)


def recommend(results: RunResults, task: str, teacher: str | None = None) -> Recommendation | None:
    """The variant of ``task`` to ship (among ``teacher``'s, or every teacher's); None when the run has no
    teacher record for the task."""
    references = [
        r for r in results.records
        if r.task == task and r.role == "teacher" and r.format == "pytorch" and (teacher is None or r.model == teacher)
    ]
    if not references:
        return None
    reference = max(references, key=lambda r: r.score if r.score is not None else -math.inf)
    name = reference.model
    if reference.status != "ok" or reference.score is None:
        return Recommendation(task, name, None, None, None, f"{task}: nothing to ship: the teacher {name} has no score")
    if beats_baseline(results, reference) is False:
        base_name, value = baseline_score(results, task) or ("trivial", 0.0)
        return Recommendation(
            task, name, None, None, None,
            f"{task}: nothing to ship: the teacher {name} ({reference.primary_metric} {reference.score:.3f}) does "
            f"not beat the {base_name} baseline ({value:.3f}) by more than its CI",
        )
    by_key = {(r.model, r.format): r for r in results.records if r.task == task}
    # A stored scorecard may name a record the run does not hold (a hand-edited file): it cannot be shipped.
    rows = [
        r for r in scorecard_rows(results) if r.task == task and r.teacher == name and (r.variant, r.format) in by_key
    ]
    kept = [r for r in rows if _keeps_teacher(r, by_key[(r.variant, r.format)])]
    if kept:
        best = max(kept, key=lambda r: (_gain(r), -(by_key[(r.variant, r.format)].size_mb or math.inf)))
        record = by_key[(best.variant, best.format)]
        return Recommendation(
            task, name, best.variant, best.format, record,
            f"{task}: ship `{best.variant} ({best.format})`: {_why(best, record, results)}",
            best.speedup, best.compression, best.retention,
            record.paired.equivalence if record.paired else None, record.paired.tost_p if record.paired else None,
        )
    tried = [r for r in rows if r.role == "student" and r.retention is not None]
    closest = max(tried, key=lambda r: r.retention or 0.0, default=None)
    because = (
        f"no faster variant keeps its score (closest: `{closest.variant} ({closest.format})` keeps "
        f"{closest.retention:.1%} of {closest.primary_metric})"
        if closest
        else "no faster variant was measured"
    )
    return Recommendation(
        task, name, name, "pytorch", reference, f"{task}: ship the teacher `{name} (pytorch)`: {because}",
        1.0, 1.0, 1.0,
    )


def recommendations(results: RunResults) -> list[Recommendation]:
    """One recommendation per task of the run, in the order the tasks first appear."""
    tasks = list(dict.fromkeys(r.task for r in results.records))
    found = (recommend(results, task) for task in tasks)
    return [r for r in found if r is not None]
