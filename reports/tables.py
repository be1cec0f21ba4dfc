"""The HTML tables of a report (and of the leaderboard's per-teacher summary): scorecards, records, teachers.

Every cell goes through :func:`reports.page.table`, which escapes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harness.results import Record, RunResults
from reports.page import Cell, CellLike, esc, num, table
from reports.summary import ScorecardRow, TeacherSummary, scorecard_rows
from reports.text import MISSING, batch_label, ci_text, latency_keys


def score_cell(score: float | None, ci: Iterable[float] | None, *, no_ci: str = "") -> Cell:
    """``0.8125 [0.790, 0.834]``, sorted by the score; ``no_ci`` is shown after a score without a CI."""
    if score is None:
        return Cell(MISSING, sort="", numeric=True)
    return Cell(f"{score:.4f}{ci_text(ci) or no_ci}", sort=repr(score), numeric=True)


def _status_cell(status: str, reason: str | None) -> Cell:
    return Cell(status if status == "ok" else f"failed: {reason or ''}", wrap=status != "ok")


def _retention_cell(r: ScorecardRow) -> Cell:
    text = MISSING if r.retention is None else f"{r.retention:.3f}{ci_text(r.retention_ci)}"
    if r.significant_loss:
        text += " ▼"
    return Cell(
        text,
        sort=repr(r.retention) if r.retention is not None else "",
        numeric=True,
        title="▼: the teacher's score lies above this variant's 95 % CI" if r.significant_loss else None,
    )


def _parity_cell(r: ScorecardRow) -> Cell:
    if r.parity_delta is None and r.parity_agreement is None:
        return Cell(MISSING, sort="")
    mark = "✓" if r.parity_passed else ("✗" if r.parity_passed is False else "")
    return Cell(
        f"{mark} Δ {r.parity_delta if r.parity_delta is not None else float('nan'):+.4f}, "
        f"agree {r.parity_agreement if r.parity_agreement is not None else float('nan'):.3f}",
        sort=repr(abs(r.parity_delta)) if r.parity_delta is not None else "",
        title="task-metric change after export and prediction agreement with the PyTorch source",
    )


def _speed_cell(r: ScorecardRow) -> Cell:
    speed = num(r.speedup, 2, "×")
    if not r.noisy:
        return speed
    return Cell(speed.text + " ⚠", sort=speed.sort, numeric=True, title="latency measured on a busy machine")


SCORECARD_HEADERS = [
    "task",
    "teacher",
    "variant",
    "role",
    "format",
    "score [95% CI]",
    "retention [interval]",
    "speedup b1",
    "compression",
    "adaptation s",
    "adaptation PFLOP",
    "export parity",
    "reuse score",
    "status",
]


def scorecards_section(results: RunResults, table_id: str = "scorecards") -> str:
    """The scorecards table: retention with its interval, speedup, compression, cost, parity, reuse score."""
    rows: list[list[CellLike]] = []
    classes = []
    for r in scorecard_rows(results):
        rows.append(
            [
                r.task,
                r.teacher,
                r.variant,
                r.role,
                r.format,
                score_cell(r.score, r.score_ci),
                _retention_cell(r),
                _speed_cell(r),
                num(r.compression, 2, "×"),
                num(r.train_cost_s, 1),
                num(r.train_flops / 1e15 if r.train_flops else None, 3),
                _parity_cell(r),
                num(r.reuse_score, 3),
                _status_cell(r.status, r.status_reason),
            ]
        )
        classes.append("bad" if r.status != "ok" else "")
    if not rows:
        return '<p class="muted">No scorecards: no task has a teacher PyTorch record.</p>'
    return table(table_id, SCORECARD_HEADERS, rows, row_classes=classes)


def _latency_cell(record: Record, key: str) -> Cell:
    block = record.latency(key)
    cell = num(block.p50 if block else None, 2)
    if block is None or not block.noisy:
        return cell
    return Cell(cell.text + " ⚠", sort=cell.sort, numeric=True, title=str(block.noise_reason or "noisy"))


def records_section(records: Sequence[Record], table_id: str = "records") -> str:
    """Every (task, model, format) measured: score and CI, latency per batch size, size, memory, cost."""
    keys = latency_keys(records)
    headers = ["task", "model", "role", "format", "metric", "score [95% CI]"]
    headers += [f"p50 ms {batch_label(k)}" for k in keys]
    headers += ["size MB", "params M", "peak RSS MB", "train s", "status"]
    rows: list[list[CellLike]] = []
    classes = []
    for r in records:
        rows.append(
            [
                r.task,
                r.model,
                r.role,
                r.format,
                r.primary_metric,
                score_cell(r.score, r.score_ci),
                *[_latency_cell(r, key) for key in keys],
                num(r.size_mb, 1),
                num(r.params / 1e6 if r.params else None, 2),
                num(r.peak_rss_mb, 0),
                num(r.train_wall_s, 1),
                _status_cell(r.status, r.status_reason),
            ]
        )
        classes.append("bad" if r.status != "ok" else "")
    return table(table_id, headers, rows, row_classes=classes)


TEACHER_HEADERS = [
    "teacher",
    "task",
    "metric",
    "fine-tuned score [95% CI]",
    "adaptation s",
    "best variant",
    "format",
    "retention",
    "speedup",
    "compression",
    "best reuse score",
    "run",
]


def _teacher_sentence(s: TeacherSummary) -> str:
    mean_score = MISSING if s.mean_teacher_score is None else f"{s.mean_teacher_score:.3f}"
    mean_reuse = MISSING if s.mean_best_reuse_score is None else f"{s.mean_best_reuse_score:.2f}"
    cost = MISSING if s.total_adaptation_s is None else f"{s.total_adaptation_s:.0f} s"
    return (
        f"<p><strong>{esc(s.teacher)}</strong>: {len(s.tasks)} task(s); adapts to a mean fine-tuned score of "
        f"{esc(mean_score)} for {esc(cost)} of fine-tuning; compresses to a mean best reuse score of "
        f"{esc(mean_reuse)}, with a best variant keeping ≥ 97 % of its score on {s.tasks_retained} of "
        f"{len(s.tasks)} task(s).</p>"
    )


def teacher_summary_section(summaries: Sequence[TeacherSummary], table_id: str = "teachers") -> str:
    """ "How reusable is this model": per teacher and task, how it adapted and its best compressed variant."""
    if not summaries:
        return '<p class="muted">No teacher records.</p>'
    parts = [_teacher_sentence(s) for s in summaries]
    rows: list[list[CellLike]] = [
        [
            s.teacher,
            t.task,
            t.primary_metric,
            score_cell(t.teacher_score, t.teacher_ci),
            num(t.adaptation_s, 1),
            t.best_variant,
            t.best_format,
            num(t.best_retention, 3),
            num(t.best_speedup, 2, "×"),
            num(t.best_compression, 2, "×"),
            num(t.best_reuse_score, 3),
            t.run_id,
        ]
        for s in summaries
        for t in s.tasks
    ]
    parts.append(table(table_id, TEACHER_HEADERS, rows))
    return "\n".join(parts)
