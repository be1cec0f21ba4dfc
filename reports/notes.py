"""Plain-language cautions beside a score: a model no better than a trivial baseline, an interval too wide to
tell small differences, a metric undefined on the sample.

Every report (scorecard.md, report.html, the leaderboard) shows these next to the record they concern, so a
number that cannot carry a verdict is never shown bare.
"""

from __future__ import annotations

from harness.results import Record, RunResults
from tasks.metrics.paired import point

#: An interval wider than this many points of its metric gets a small-sample note.
WIDE_INTERVAL_POINTS = 10.0


def baseline_score(results: RunResults, task: str) -> tuple[str, float] | None:
    """(name, score) of the task's trivial baseline (majority label, copy the input), when the run has one."""
    baseline = results.baselines.get(task) or {}
    score = baseline.get("score")
    if not isinstance(score, int | float) or isinstance(score, bool):
        return None
    return str(baseline.get("name") or "trivial"), float(score)


def beats_baseline(results: RunResults, record: Record) -> bool | None:
    """Whether ``record`` beats its task's trivial baseline by more than its CI (its whole interval lies above
    the baseline's score); None when the task has no baseline or the record no score."""
    baseline = baseline_score(results, record.task)
    if baseline is None or record.score is None:
        return None
    low = record.score_ci.low if record.score_ci else record.score
    return low > baseline[1]


def _points(record: Record, width: float) -> float:
    return width / point(record.primary_metric)


def record_notes(results: RunResults, record: Record) -> list[str]:
    """The cautions that apply to one record's score (empty when none does)."""
    notes: list[str] = []
    metric = record.primary_metric
    for key, reason in sorted((record.metric_notes or {}).items()):
        notes.append(f"{key} is undefined here: {reason}")
    baseline = baseline_score(results, record.task)
    if baseline is not None and record.score is not None:
        name, value = baseline
        if record.score <= value:
            notes.append(
                f"at or below the {name} baseline ({metric} {value:.3f}): this model has learnt nothing a "
                "constant answer does not give"
            )
        elif beats_baseline(results, record) is False:
            notes.append(
                f"not clearly better than the {name} baseline ({metric} {value:.3f}): its 95 % interval reaches it"
                + ("; retention against it is not reported" if record.role == "teacher" and record.format == "pytorch" else "")
            )
    if record.score_ci is not None:
        width = _points(record, record.score_ci.width)
        if width > WIDE_INTERVAL_POINTS:
            notes.append(
                f"the 95 % interval is {width:.0f} points wide ({record.eval_examples} eval examples): too few "
                "examples to tell models apart by less than that"
            )
    return notes


def task_notes(results: RunResults, task: str) -> list[str]:
    """Cautions about a task as a whole: its teacher in PyTorch at or below the trivial baseline."""
    teacher = next(
        (r for r in results.records if r.task == task and r.role == "teacher" and r.format == "pytorch"), None
    )
    if teacher is None:
        return []
    if beats_baseline(results, teacher) is False:
        name, value = baseline_score(results, task) or ("trivial", 0.0)
        return [
            f"the teacher ({teacher.primary_metric} {teacher.score:.3f}) does not beat the {name} baseline "
            f"({value:.3f}) by more than its CI: retention, reuse scores and recommendations are withheld"
        ]
    return []
