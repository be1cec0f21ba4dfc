"""The leaderboard site's tables, cells and plots (every cell is escaped by :func:`reports.page.table`, or
by :mod:`reports.cells` for cells with a second line)."""

from __future__ import annotations

from collections.abc import Sequence

from leaderboard.base_models import BaseModelStanding
from leaderboard.exports import METHOD_LABELS, tie_text
from leaderboard.ranking import Entry, OverallEntry, RoleStanding
from reports import plots
from reports.cells import latency_cell_html, reuse_cell_html, score_cell_html
from reports.page import Cell, CellLike, figure, num, table
from reports.tables import score_cell, titles


def entry_score_cell(entry: Entry) -> Cell:
    """The entry's score and CI (``(no CI)`` when it has none)."""
    return score_cell(entry.score, entry.ci, no_ci=" (no CI)")


def rank_cell(rank: int, shared: bool) -> Cell:
    """``3`` or ``3=`` (a rank shared by a statistical tie)."""
    return Cell(
        f"{rank}=" if shared else str(rank),
        sort=str(rank),
        numeric=True,
        title="shares this rank (statistical tie)" if shared else None,
    )


def tie_cell(names: Sequence[str]) -> Cell:
    """The entries one is tied with (shortened; all of them in the tooltip)."""
    if not names:
        return Cell("–", sort="0")
    return Cell(tie_text(names), sort=str(len(names)), title="tied with: " + "; ".join(names), wrap=True)


def task_table(entries: Sequence[Entry], table_id: str) -> str:
    """One task's ranking: rank (``=`` when shared), score with CI, ties, latency, size, reuse."""
    headers = [
        "rank",
        "model",
        "role",
        "format",
        "teacher",
        "score [95% CI]",
        "tied with (CIs overlap)",
        "p50 ms b1",
        "size MB",
        "retention",
        "reuse score",
        "run",
        "created",
    ]
    ranks = [e.rank for e in entries]
    rows = [
        [
            rank_cell(e.rank, ranks.count(e.rank) > 1),
            e.model,
            e.role,
            e.format,
            e.teacher,
            entry_score_cell(e),
            tie_cell(e.tied_with),
            num(e.p50_ms, 2),
            num(e.size_mb, 1),
            num(e.retention, 3),
            num(e.reuse_score, 3),
            e.run_id,
            e.created_at,
        ]
        for e in entries
    ]
    return table(table_id, headers, rows, extra=(4, 8, 11, 12), titles=titles(headers))


def _point(e: Entry, x: float) -> plots.Point:
    return plots.Point(
        e.name,
        x,
        e.score,
        f"{e.role} · {e.format}",
        e.ci_low if e.has_ci else None,
        e.ci_high if e.has_ci else None,
        format=e.format,
        role=e.role,
    )


def pareto_plot(task: str, entries: Sequence[Entry], caption: str | None = None) -> str:
    """Score against p50 latency (batch 1) of every model of a task, the Pareto front outlined."""
    metric = entries[0].primary_metric if entries else "score"
    return figure(
        plots.scatter(
            [_point(e, e.p50_ms) for e in entries if e.p50_ms],
            title=f"{task}: {metric} vs latency",
            xlabel="p50 latency, ms (batch 1)",
            ylabel=metric,
            front=True,
        ),
        caption
        or f"{task}: {metric} (95 % CI) against p50 latency at batch 1 of every model on the leaderboard; colour: "
        "format, shape: role; dashed, outlined: the Pareto front (no other model is both faster and better).",
    )


def base_model_plot(task: str, entries: Sequence[Entry]) -> str | None:
    """Score against batch-1 latency with one colour per base model (its teacher and everything made from it):
    each model's compression ladder on one plot. None when the task has fewer than two base models."""
    bases = list(dict.fromkeys(e.teacher for e in entries if e.teacher))
    if len(bases) < 2:
        return None
    metric = entries[0].primary_metric
    points = [plots.Point(e.name, e.p50_ms, e.score, e.teacher or "", e.ci_low if e.has_ci else None,
                          e.ci_high if e.has_ci else None, role=e.role) for e in entries if e.p50_ms and e.teacher]
    return figure(
        plots.scatter(points, title=f"{task}: base models side by side", xlabel="p50 latency, ms (batch 1)",
                      ylabel=metric, front=True),
        f"{task}: {metric} (95 % CI) against p50 latency at batch 1; colour: the base model (its fine-tuned teacher "
        "and every variant made from it), shape: role; dashed, outlined: the Pareto front over all of them.",
    )


def task_plots(task: str, entries: Sequence[Entry]) -> list[str]:
    """Score against p50 latency (batch 1) and against size, with the Pareto fronts."""
    metric = entries[0].primary_metric if entries else "score"
    size = [_point(e, e.size_mb) for e in entries if e.size_mb]
    return [
        pareto_plot(task, entries),
        figure(
            plots.scatter(
                size, title=f"{task}: {metric} vs size", xlabel="size on disk, MB", ylabel=metric, front=True
            ),
            f"{task}: {metric} (95 % CI) against size on disk; dashed, outlined: the Pareto front (no other model "
            "is both smaller and better).",
        ),
    ]


def overall_table(overall: Sequence[OverallEntry], tasks: Sequence[str]) -> str:
    """The overall ranking with each entry's rank per task."""
    headers = ["rank", "model", "role", "format", "mean rank", "tasks covered", "tied with"]
    headers += [f"rank: {t}" for t in tasks]
    rows = []
    for o in overall:
        row = [
            rank_cell(o.rank, o.tied),
            o.model,
            o.role,
            o.format,
            num(o.mean_rank, 2),
            Cell(f"{o.tasks_covered}/{len(tasks)}", sort=str(o.tasks_covered), numeric=True),
            tie_cell(o.tied_with),
        ]
        row += [
            Cell(str(o.ranks[t]), sort=str(o.ranks[t]), numeric=True) if t in o.ranks else None for t in tasks
        ]
        rows.append(row)
    return table("overall", headers, rows)


def _role_rank_cell(rank: int | None, tied: Sequence[str]) -> Cell:
    if rank is None:
        return Cell("–", sort="", numeric=True, title="no reuse score: not ranked")
    return rank_cell(rank, bool(tied))


TEACHER_TABLE_HEADERS = [
    "rank",
    "teacher",
    "fine-tuned score [95% CI]",
    "tied with",
    "p50 ms b1",
    "size MB",
    "run",
]


def teachers_table(teachers: Sequence[Entry], table_id: str = "teachers") -> str:
    """A task's fine-tuned teachers, ranked against each other by score (ties: CIs overlap)."""
    if not teachers:
        return '<p class="muted">No fine-tuned teacher on this task.</p>'
    rows: list[list[CellLike]] = [
        [
            _role_rank_cell(e.role_rank, e.role_tied_with),
            e.model,
            score_cell_html(e.score, e.ci, notes=e.notes, no_ci="(no CI)"),
            tie_cell(e.role_tied_with),
            latency_cell_html(e.latency) if e.latency else num(e.p50_ms, 2),
            num(e.size_mb, 1),
            e.run_id,
        ]
        for e in teachers
    ]
    return table(table_id, TEACHER_TABLE_HEADERS, rows, titles=titles(TEACHER_TABLE_HEADERS))


VARIANT_TABLE_HEADERS = [
    "rank",
    "model",
    "role",
    "format",
    "teacher",
    "reuse score",
    "retention",
    "speedup",
    "compression",
    "score [95% CI]",
    "p50 ms b1",
    "size MB",
    "run",
]


def variants_table(variants: Sequence[Entry], table_id: str = "variants") -> str:
    """A task's students and exports, ranked against each other by reuse score."""
    if not variants:
        return '<p class="muted">No student or exported variant on this task.</p>'
    rows: list[list[CellLike]] = [
        [
            _role_rank_cell(e.role_rank, e.role_tied_with),
            e.model,
            e.role,
            e.format,
            e.teacher,
            reuse_cell_html(e.reuse_score, e.retention),
            num(e.retention, 3),
            num(e.speedup, 2, "×"),
            num(e.compression, 2, "×"),
            score_cell_html(e.score, e.ci, notes=e.notes, no_ci="(no CI)"),
            latency_cell_html(e.latency) if e.latency else num(e.p50_ms, 2),
            num(e.size_mb, 1),
            e.run_id,
        ]
        for e in variants
    ]
    return table(
        table_id, VARIANT_TABLE_HEADERS, rows, extra=(4, 11, 12), titles=titles(VARIANT_TABLE_HEADERS)
    )


#: More tasks than this, and the per-task columns of the overall tables are hidden until "show all columns".
PER_TASK_COLUMNS = 6


def standings_table(standings: Sequence[RoleStanding], tasks: Sequence[str], table_id: str) -> str:
    """The overall order within one role, with each model's value and rank per task (the per-task columns
    are hidden until "show all columns" when there are more than :data:`PER_TASK_COLUMNS` tasks)."""
    teachers = table_id == "teachers-overall"
    value_name = "fine-tuned score" if teachers else "reuse score"
    digits = 4 if teachers else 3
    headers = ["rank", "model"] + ([] if teachers else ["role", "format", "teacher"])
    headers += ["tasks covered", "mean rank", f"mean {value_name}", "tied with"]
    helps: list[str | None] = titles(headers)
    helps += [f"{value_name} on {t} (rank among the {'teachers' if teachers else 'variants'})" for t in tasks]
    headers += list(tasks)
    first_task = len(headers) - len(tasks)
    per_task = set(range(first_task, len(headers))) if len(tasks) > PER_TASK_COLUMNS else set()
    extra = per_task if teachers else {4} | per_task
    rows = []
    for s in standings:
        row: list[CellLike] = [rank_cell(s.rank, bool(s.tied_with)), s.model]
        if not teachers:
            row += [s.role, s.format, s.teacher]
        row += [
            Cell(f"{s.tasks_covered}/{len(tasks)}", sort=str(s.tasks_covered), numeric=True),
            num(s.mean_rank, 2),
            num(s.mean_value, digits),
            tie_cell(s.tied_with),
        ]
        for t in tasks:
            if t in s.values and t in s.ranks:
                row.append(
                    Cell(f"{s.values[t]:.{digits}f} (#{s.ranks[t]})", sort=repr(s.values[t]), numeric=True)
                )
            else:
                row.append(None)
        rows.append(row)
    if not rows:
        return '<p class="muted">Nothing ranked yet.</p>'
    return table(table_id, headers, rows, extra=extra, titles=helps)


ADAPTATION_TABLE_HEADERS = ["teacher", "method", "trainable params", "score [95% CI]", "of full", "run"]


def adaptation_table(entries: Sequence[Entry], table_id: str = "adaptation") -> str:
    """A task's ways of adapting each pretrained model (linear probe, LoRA, full fine-tuning; PyTorch), cheapest
    first, with the fraction of the full fine-tuning score each reaches; '' when only full fine-tuning ran."""
    order = list(METHOD_LABELS)
    chosen = [e for e in entries if e.format == "pytorch" and e.adaptation in METHOD_LABELS]
    if all(e.adaptation == "full" for e in chosen):
        return ""
    chosen.sort(key=lambda e: (e.teacher or e.model, order.index(e.adaptation or "full")))
    rows: list[list[CellLike]] = [
        [
            e.teacher or e.model,
            METHOD_LABELS[e.adaptation or "full"],
            num(e.trainable_params, 0),
            score_cell_html(e.score, e.ci, notes=e.notes, no_ci="(no CI)"),
            num(e.of_full, 3),
            e.run_id,
        ]
        for e in chosen
    ]
    return table(table_id, ADAPTATION_TABLE_HEADERS, rows)


def base_models_table(standings: Sequence[BaseModelStanding], tasks: Sequence[str]) -> str:
    """The base models by the best reuse score of their variants (:mod:`leaderboard.base_models`), with each
    task's best variant and rank."""
    headers = ["rank", "base model", "tasks covered", "mean rank", "mean best reuse score", "tied with", *tasks]
    helps: list[str | None] = titles(headers[:6])
    helps += [f"best reuse score on {t} and the base model's rank (the variant: in the cell's tooltip)" for t in tasks]
    rows: list[list[CellLike]] = []
    for s in standings:
        row: list[CellLike] = [
            rank_cell(s.rank, bool(s.tied_with)), s.base,
            Cell(f"{s.tasks_covered}/{len(tasks)}", sort=str(s.tasks_covered), numeric=True),
            num(s.mean_rank, 2), num(s.mean_reuse, 3), tie_cell(s.tied_with),
        ]
        for t in tasks:
            best = s.per_task.get(t)
            row.append(Cell(f"{best.reuse_score:.3f} (#{best.rank})", sort=repr(best.reuse_score), numeric=True,
                            title=f"best variant: {best.best.name}") if best else None)
        rows.append(row)
    if not rows:
        return '<p class="muted">Nothing ranked yet.</p>'
    first_task = len(headers) - len(tasks)
    extra = set(range(first_task, len(headers))) if len(tasks) > PER_TASK_COLUMNS else set()
    return table("base-models", headers, rows, extra=extra, titles=helps)
