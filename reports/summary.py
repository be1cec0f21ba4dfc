"""Scorecards with their evidence, and the per-teacher answer to "how reusable is this model?".

:func:`scorecard_rows` joins each scorecard with the records behind it, adding what the bare scorecard
does not carry: the variant's score CI, a retention interval, the export parity check and the training
FLOPs (adaptation cost).

The *retention interval* is the variant's bootstrap CI divided by the teacher's score, treating the
teacher's score as fixed; a retention loss is called *significant* when the teacher's score lies above
the variant's whole CI.

:func:`teacher_summaries` answers "how reusable is this teacher" along the two axes that matter, kept
apart rather than folded into one number:

* **adapts** — its fine-tuned score per task (with CI) and what the fine-tuning cost;
* **compresses** — per task, its best derived variant (the scorecard, of a student or of the teacher's own
  exports, with the highest reuse score),
  with retention, speedup and compression; summarised as the mean best reuse score over tasks and the
  number of tasks whose best variant keeps at least 97 % of the teacher's score (full credit of the reuse
  score's retention gate).

With several runs of the same teacher and task, the latest run (by ``created_at``) is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean

from harness.results import Record, RunResults, Scorecard
from reports.scorecard import FULL_CREDIT_RETENTION, build_scorecards, training_of


@dataclass(frozen=True)
class ScorecardRow:
    """One scorecard with the evidence behind it."""

    task: str
    teacher: str
    variant: str
    role: str
    format: str
    primary_metric: str
    score: float | None
    score_ci: tuple[float, float] | None
    teacher_score: float | None
    retention: float | None
    retention_ci: tuple[float, float] | None
    significant_loss: bool
    speedup: float | None
    compression: float | None
    train_cost_s: float | None
    train_flops: float | None
    parity_delta: float | None
    parity_agreement: float | None
    parity_passed: bool | None
    reuse_score: float | None
    status: str
    status_reason: str | None
    noisy: bool


@dataclass(frozen=True)
class TaskReuse:
    """A teacher on one task: how it adapted and its best compressed variant."""

    task: str
    primary_metric: str
    run_id: str
    teacher_score: float | None
    teacher_ci: tuple[float, float] | None
    adaptation_s: float | None
    adaptation_flops: float | None
    best_variant: str | None
    best_format: str | None
    best_retention: float | None
    best_speedup: float | None
    best_compression: float | None
    best_reuse_score: float | None


@dataclass(frozen=True)
class TeacherSummary:
    """How reusable one teacher is, across the tasks it was fine-tuned on."""

    teacher: str
    tasks: tuple[TaskReuse, ...]
    mean_teacher_score: float | None
    mean_best_reuse_score: float | None
    tasks_retained: int
    total_adaptation_s: float | None


def _ci(record: Record | None) -> tuple[float, float] | None:
    return record.score_ci.as_tuple() if record and record.score_ci else None


def _cards(results: RunResults) -> list[Scorecard]:
    return list(results.scorecards) if results.scorecards else build_scorecards(results.records, results.baselines)


def scorecard_rows(results: RunResults) -> list[ScorecardRow]:
    """Every scorecard of a run, joined with its variant's and teacher's records."""
    by_key = {(r.task, r.model, r.format): r for r in results.records}
    rows = []
    for card in _cards(results):
        record = by_key.get((card.task, card.student, card.format))
        teacher = by_key.get((card.task, card.teacher, "pytorch"))
        ci = _ci(record)
        teacher_score = teacher.score if teacher else getattr(card, "teacher_score", None)
        retention_ci = (ci[0] / teacher_score, ci[1] / teacher_score) if ci and teacher_score else None
        parity = record.parity if record else None
        source = training_of(results.records, record) if record else None
        role = getattr(card, "role", None) or (record.role if record else "student")
        rows.append(
            ScorecardRow(
                task=card.task,
                teacher=card.teacher,
                variant=card.student,
                role=role,
                format=card.format,
                primary_metric=record.primary_metric if record else "",
                score=record.score if record else getattr(card, "score", None),
                score_ci=ci,
                teacher_score=teacher_score,
                retention=card.retention,
                retention_ci=retention_ci,
                significant_loss=bool(ci and teacher_score is not None and teacher_score > ci[1]),
                speedup=card.speedup,
                compression=card.compression,
                train_cost_s=card.train_cost_s,
                train_flops=source.train.flops if source and source.train else None,
                parity_delta=parity.metric_delta if parity else None,
                parity_agreement=parity.prediction_agreement if parity else None,
                parity_passed=parity.passed if parity else None,
                reuse_score=card.reuse_score,
                status=record.status if record else str(getattr(card, "status", "ok")),
                status_reason=record.status_reason if record else None,
                noisy=bool(record and record.noisy),
            )
        )
    return rows


def _task_reuse(results: RunResults, task: str, teacher: str) -> TaskReuse:
    reference = next(
        (
            r
            for r in results.records
            if r.task == task and r.model == teacher and r.role == "teacher" and r.format == "pytorch"
        ),
        None,
    )
    # Every derived variant competes, the teacher's own exports too: a student that lost the task
    # (reuse score 0) is not the best variant when the teacher's ONNX export keeps it and runs faster.
    students = [c for c in scorecard_rows(results) if c.task == task and c.teacher == teacher]
    best = max(
        students,
        key=lambda c: (c.reuse_score if c.reuse_score is not None else -1.0, c.retention or 0.0),
        default=None,
    )
    train = reference.train if reference else None
    return TaskReuse(
        task=task,
        primary_metric=reference.primary_metric if reference else "",
        run_id=results.run_id,
        teacher_score=reference.score if reference else None,
        teacher_ci=_ci(reference),
        adaptation_s=train.wall_s if train else None,
        adaptation_flops=train.flops if train else None,
        best_variant=best.variant if best else None,
        best_format=best.format if best else None,
        best_retention=best.retention if best else None,
        best_speedup=best.speedup if best else None,
        best_compression=best.compression if best else None,
        best_reuse_score=best.reuse_score if best else None,
    )


def teacher_summaries(runs: Sequence[RunResults]) -> list[TeacherSummary]:
    """One summary per teacher over every task it was fine-tuned on (latest run per teacher and task)."""
    latest: dict[tuple[str, str], RunResults] = {}
    for results in sorted(runs, key=lambda r: r.created_at):
        for record in results.records:
            if record.role == "teacher" and record.format == "pytorch":
                latest[(record.model, record.task)] = results
    teachers: dict[str, list[TaskReuse]] = {}
    for (teacher, task), results in sorted(latest.items()):
        teachers.setdefault(teacher, []).append(_task_reuse(results, task, teacher))
    summaries = []
    for teacher, tasks in teachers.items():
        scores = [t.teacher_score for t in tasks if t.teacher_score is not None]
        reuse = [t.best_reuse_score for t in tasks if t.best_reuse_score is not None]
        costs = [t.adaptation_s for t in tasks if t.adaptation_s is not None]
        summaries.append(
            TeacherSummary(
                teacher=teacher,
                tasks=tuple(tasks),
                mean_teacher_score=fmean(scores) if scores else None,
                mean_best_reuse_score=fmean(reuse) if reuse else None,
                tasks_retained=sum(
                    1
                    for t in tasks
                    if t.best_retention is not None and t.best_retention >= FULL_CREDIT_RETENTION
                ),
                total_adaptation_s=sum(costs) if costs else None,
            )
        )
    return summaries
