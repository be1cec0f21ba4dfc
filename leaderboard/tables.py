"""The leaderboard site's tables, cells and plots (every cell is escaped by :func:`reports.page.table`)."""

from __future__ import annotations

from collections.abc import Sequence

from leaderboard.exports import tie_text
from leaderboard.ranking import Entry, OverallEntry
from reports import plots
from reports.page import Cell, figure, num, table
from reports.tables import score_cell


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
    return table(table_id, headers, rows)


def task_plots(task: str, entries: Sequence[Entry]) -> list[str]:
    """Score against p50 latency (batch 1) and against size, with the Pareto fronts."""
    metric = entries[0].primary_metric if entries else "score"

    def point(e: Entry, x: float) -> plots.Point:
        return plots.Point(
            e.name,
            x,
            e.score,
            f"{e.role} · {e.format}",
            e.ci_low if e.has_ci else None,
            e.ci_high if e.has_ci else None,
        )

    latency = [point(e, e.p50_ms) for e in entries if e.p50_ms]
    size = [point(e, e.size_mb) for e in entries if e.size_mb]
    return [
        figure(
            plots.scatter(
                latency,
                title=f"{task}: {metric} vs latency",
                xlabel="p50 latency, ms (batch 1)",
                ylabel=metric,
                front=True,
            ),
            f"{task}: {metric} (95 % CI) against p50 latency at batch 1; dashed: the Pareto front.",
        ),
        figure(
            plots.scatter(
                size, title=f"{task}: {metric} vs size", xlabel="size on disk, MB", ylabel=metric, front=True
            ),
            f"{task}: {metric} (95 % CI) against size on disk; dashed: the Pareto front.",
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
