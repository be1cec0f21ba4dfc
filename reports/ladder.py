"""A teacher's compression ladder: each of its students at its best format, and the smallest that keeps the teacher.

A suite with several students per teacher (depths, a narrower student, another model) gives a ladder per task.
Each rung is one student at the format where it scores highest (ties: the faster one), read from the run's
scorecards, so retention and speedup mean what they mean there: the variant's score over the teacher's PyTorch
score on the same eval split, and the teacher's PyTorch batch-1 p50 over the variant's. The smallest student
that keeps at least :data:`reports.scorecard.FULL_CREDIT_RETENTION` of its teacher is the one to try first
when size matters; the report names it, or says that none does and which comes closest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.results import RunResults
from reports.escape import md
from reports.scorecard import FULL_CREDIT_RETENTION
from reports.summary import scorecard_rows
from reports.text import fmt


@dataclass(frozen=True)
class Rung:
    """One student of a teacher on one task, at its best format."""

    task: str
    teacher: str
    student: str
    format: str
    params: int
    size_mb: float
    score: float
    retention: float
    speedup: float | None

    @property
    def keeps_teacher(self) -> bool:
        """Whether it keeps at least the full-credit retention of its teacher's score."""
        return self.retention >= FULL_CREDIT_RETENTION


def ladders(results: RunResults) -> dict[tuple[str, str], list[Rung]]:
    """Per (task, teacher): its students at their best format, fewest parameters first."""
    records = {(r.task, r.model, r.format): r for r in results.records}
    best: dict[tuple[str, str, str], Rung] = {}
    for row in scorecard_rows(results):
        record = records.get((row.task, row.variant, row.format))
        if row.role != "student" or row.status != "ok" or row.score is None or row.retention is None or not record:
            continue
        rung = Rung(row.task, row.teacher, row.variant, row.format, record.params, record.size_mb, row.score,
                    row.retention, row.speedup)
        key = (row.task, row.teacher, row.variant)
        held = best.get(key)
        if held is None or (rung.score, rung.speedup or 0.0) > (held.score, held.speedup or 0.0):
            best[key] = rung
    grouped: dict[tuple[str, str], list[Rung]] = {}
    for (task, teacher, _), rung in best.items():
        grouped.setdefault((task, teacher), []).append(rung)
    return {key: sorted(rungs, key=lambda r: (r.params, r.size_mb)) for key, rungs in grouped.items()}


def smallest_keeper(rungs: list[Rung]) -> Rung | None:
    """The student with the fewest parameters that keeps its teacher (None: none does)."""
    return next((rung for rung in rungs if rung.keeps_teacher), None)


def _verdict(rungs: list[Rung], md: Callable[[object], str] = str) -> str:
    """The sentence that names the smallest keeper, or the closest student (names passed through ``md``)."""
    keeper = smallest_keeper(rungs)
    if keeper is not None:
        speed = f", {fmt(keeper.speedup, 1)}× at batch 1" if keeper.speedup else ""
        return (f"the smallest student keeping ≥ {FULL_CREDIT_RETENTION:.2f} of the teacher is {md(keeper.student)} "
                f"in {md(keeper.format)} ({keeper.params / 1e6:.1f} M parameters, {fmt(keeper.size_mb, 1)} MB, "
                f"retention {fmt(keeper.retention, 3)}{speed})")
    closest = max(rungs, key=lambda r: r.retention)
    return (f"none of its {len(rungs)} student(s) keeps {FULL_CREDIT_RETENTION:.2f} of the teacher; the closest is "
            f"{md(closest.student)} in {md(closest.format)} at retention {fmt(closest.retention, 3)}")


def ladder_section_md(results: RunResults) -> list[str]:
    """The scorecard's "Compression ladder" section (nothing when the run has no scored student)."""
    grouped = ladders(results)
    if not grouped:
        return []
    lines = [
        "## Compression ladder",
        "",
        "Each student at its best format (highest score; ties: the faster), fewest parameters first; retention and "
        "speedup as in the scorecards.",
        "",
        "| task | teacher | student | params (M) | format | size (MB) | score | retention | speedup |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for rungs in grouped.values():
        for rung in rungs:
            lines.append(
                f"| {md(rung.task)} | {md(rung.teacher)} | {md(rung.student)} | {rung.params / 1e6:.1f} | "
                f"{md(rung.format)} | {fmt(rung.size_mb, 1)} | {fmt(rung.score, 4)} | {fmt(rung.retention, 3)} | "
                f"{fmt(rung.speedup, 2, '×')} |"
            )
    lines.append("")
    lines += [f"- {md(task)} · {md(teacher)}: {_verdict(rungs, md)}" for (task, teacher), rungs in grouped.items()]
    return [*lines, ""]


def ladder_section_html(results: RunResults) -> str:
    """The report's "Compression ladder" section ("" when the run has no scored student)."""
    from reports.page import Cell, esc, table

    grouped = ladders(results)
    if not grouped:
        return ""
    rows = [
        [rung.task, rung.teacher, rung.student, Cell(f"{rung.params / 1e6:.1f}", rung.params, numeric=True),
         rung.format, Cell(fmt(rung.size_mb, 1), rung.size_mb, numeric=True),
         Cell(fmt(rung.score, 4), rung.score, numeric=True), Cell(fmt(rung.retention, 3), rung.retention, numeric=True),
         Cell(fmt(rung.speedup, 2, "×"), rung.speedup, numeric=True)]
        for rungs in grouped.values() for rung in rungs
    ]
    verdicts = "".join(f"<li>{esc(task)} · {esc(teacher)}: {esc(_verdict(rungs))}</li>"
                       for (task, teacher), rungs in grouped.items())
    return "\n".join([
        '<h2 id="ladder">Compression ladder</h2>',
        "<p>Each student at its best format (highest score; ties: the faster), fewest parameters first; retention "
        "and speedup as in the scorecards. The plots below show the Pareto front of the same variants.</p>",
        table("ladder-table", ["task", "teacher", "student", "params (M)", "format", "size (MB)", "score",
                               "retention", "speedup"], rows),
        f"<ul>{verdicts}</ul>",
    ])
