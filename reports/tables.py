"""The HTML tables of a report (and of the leaderboard's per-teacher summary): scorecards, records, teachers.

Every cell goes through :func:`reports.page.table`, which escapes it (or :mod:`reports.cells`, which
escapes what it wraps in markup). Less important columns are hidden until "show all columns", so that the
tables fit a 1,440 px window; every header's tooltip is its glossary entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harness.results import Record, RunResults
from reports.cells import (
    latency_cell_html,
    noisy_ratio_cell_html,
    ratio_cell_html,
    reuse_cell_html,
    score_cell_html,
)
from reports.glossary import header_help
from reports.notes import record_notes
from reports.page import Cell, CellLike, esc, num, table
from reports.recommend import recommend
from reports.summary import ScorecardRow, TeacherSummary, scorecard_rows
from reports.text import MISSING, batch_label, ci_text, latency_keys


def score_cell(score: float | None, ci: Iterable[float] | None, *, no_ci: str = "") -> Cell:
    """``0.8125 [0.790, 0.834]``, sorted by the score; ``no_ci`` is shown after a score without a CI."""
    if score is None:
        return Cell(MISSING, sort="", numeric=True)
    return Cell(f"{score:.4f}{ci_text(ci) or no_ci}", sort=repr(score), numeric=True)


def _status_cell(status: str, reason: str | None) -> Cell:
    return Cell(status if status == "ok" else f"failed: {reason or ''}", wrap=status != "ok")


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
#: Hidden until "show all columns": the teacher (one per run, usually), the training cost and the parity.
SCORECARD_EXTRA = (1, 9, 10, 11)


def titles(headers: Sequence[str]) -> list[str | None]:
    """Each header's glossary entry, as its tooltip."""
    return [header_help(h) for h in headers]


def _variant_cell(name: str, recommended: bool) -> Cell:
    if not recommended:
        return Cell(name)
    return Cell(
        f'{esc(name)} <span class="badge good" title="the variant to ship for this task">recommended</span>',
        sort=name,
        markup=True,
    )


def scorecards_section(results: RunResults, table_id: str = "scorecards") -> str:
    """The scorecards table: retention with its interval, speedup, compression, cost, parity, reuse score."""
    by_key = {(r.task, r.model, r.format): r for r in results.records}
    tasks = dict.fromkeys(r.task for r in results.records)
    found = [recommend(results, task) for task in tasks]
    picks = {(rec.task, rec.model, rec.format) for rec in found if rec is not None and rec.record is not None}
    rows: list[list[CellLike]] = []
    classes = []
    for r in scorecard_rows(results):
        record = by_key.get((r.task, r.variant, r.format))
        notes = record_notes(results, record) if record is not None else []
        picked = (r.task, r.variant, r.format) in picks
        rows.append(
            [
                r.task,
                r.teacher,
                _variant_cell(r.variant, picked),
                r.role,
                r.format,
                score_cell_html(r.score, r.score_ci, notes=notes),
                ratio_cell_html(r.retention, r.retention_ci, " ▼" if r.significant_loss else ""),
                noisy_ratio_cell_html(r.speedup, r.noisy),
                num(r.compression, 2, "×"),
                num(r.train_cost_s, 1),
                num(r.train_flops / 1e15 if r.train_flops else None, 3),
                _parity_cell(r),
                reuse_cell_html(r.reuse_score, r.retention),
                _status_cell(r.status, r.status_reason),
            ]
        )
        classes.append("bad" if r.status != "ok" else "best" if picked else "")
    if not rows:
        return '<p class="muted">No scorecards: no task has a teacher PyTorch record.</p>'
    return table(
        table_id, SCORECARD_HEADERS, rows, row_classes=classes, extra=SCORECARD_EXTRA, titles=titles(SCORECARD_HEADERS)
    )


def records_section(
    records: Sequence[Record], table_id: str = "records", *, results: RunResults | None = None
) -> str:
    """Every (task, model, format) measured: score and CI (with its notes when ``results`` is given),
    latency per batch size (⚠ with a note when noisy), size, memory, cost."""
    keys = latency_keys(records)
    headers = ["task", "model", "role", "format", "metric", "score [95% CI]"]
    headers += [f"p50 ms {batch_label(k)}" for k in keys]
    headers += ["size MB", "params M", "peak RSS MB", "train s", "status"]
    first_extra = 6 + len(keys) + 1
    extra = (4, first_extra, first_extra + 1, first_extra + 2)
    rows: list[list[CellLike]] = []
    classes = []
    for r in records:
        notes = record_notes(results, r) if results is not None else []
        rows.append(
            [
                r.task,
                r.model,
                r.role,
                r.format,
                r.primary_metric,
                score_cell_html(r.score, r.score_ci, notes=notes),
                *[latency_cell_html(r.latency(key)) for key in keys],
                num(r.size_mb, 1),
                num(r.params / 1e6 if r.params else None, 2),
                num(r.peak_rss_mb, 0),
                num(r.train_wall_s, 1),
                _status_cell(r.status, r.status_reason),
            ]
        )
        classes.append("bad" if r.status != "ok" else "")
    return table(table_id, headers, rows, row_classes=classes, extra=extra, titles=titles(headers))


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
            score_cell_html(t.teacher_score, t.teacher_ci),
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
    parts.append(table(table_id, TEACHER_HEADERS, rows, extra=(2, 11), titles=titles(TEACHER_HEADERS)))
    return "\n".join(parts)
