"""The leaderboard as text: ``leaderboard.csv`` and ``leaderboard.md`` (user strings escaped for each format:
:func:`reports.escape.csv_cell`, no spreadsheet formulas; :func:`reports.escape.md`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from leaderboard.ranking import RANKING_RULE, Entry, OverallEntry
from reports.escape import csv_cell, md
from reports.text import ci_text, fmt

#: The starts of ``leaderboard.csv`` and ``leaderboard.md``: an existing file without them is not overwritten.
CSV_SIGNATURE = b"task,rank,"
MARKDOWN_SIGNATURE = b"# reusebench leaderboard"

CSV_COLUMNS = [
    "task",
    "rank",
    "tied_with",
    "position",
    "model",
    "role",
    "format",
    "teacher",
    "primary_metric",
    "score",
    "ci_low",
    "ci_high",
    "p50_ms_batch_1",
    "size_mb",
    "retention",
    "reuse_score",
    "run_id",
    "created_at",
]


def tie_text(names: Sequence[str], shown: int = 3) -> str:
    """``≈ a, b, c +2 more``: the entries one is statistically tied with, shortened."""
    if not names:
        return "–"
    more = f" +{len(names) - shown} more" if len(names) > shown else ""
    return "≈ " + ", ".join(names[:shown]) + more


def render_csv(per_task: dict[str, list[Entry]]) -> str:
    """``leaderboard.csv``: one row per task entry."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def opt(value: float | None) -> str:
        return "" if value is None else repr(value)

    for task, entries in per_task.items():
        for e in entries:
            writer.writerow(
                [
                    csv_cell(task),
                    e.rank,
                    csv_cell("; ".join(e.tied_with)),
                    e.position,
                    csv_cell(e.model),
                    csv_cell(e.role),
                    csv_cell(e.format),
                    csv_cell(e.teacher or ""),
                    csv_cell(e.primary_metric),
                    repr(e.score),
                    repr(e.ci_low) if e.has_ci else "",
                    repr(e.ci_high) if e.has_ci else "",
                    opt(e.p50_ms),
                    opt(e.size_mb),
                    opt(e.retention),
                    opt(e.reuse_score),
                    csv_cell(e.run_id),
                    csv_cell(e.created_at),
                ]
            )
    return buffer.getvalue()


def render_markdown(per_task: dict[str, list[Entry]], overall: Sequence[OverallEntry]) -> str:
    """``leaderboard.md``: the overall ranking and each task's ranking, ties marked ``=`` and ``≈``."""
    tasks = list(per_task)
    lines = ["# reusebench leaderboard", ""]
    if not overall:
        return "\n".join(lines + ["No runs stored yet.", ""])
    lines += [
        "## Overall",
        "",
        "| rank | model | role | format | mean rank | tasks |",
        "|---|---|---|---|---|---|",
    ]
    for o in overall:
        lines.append(
            f"| {o.rank}{'=' if o.tied else ''} | {md(o.model)} | {md(o.role)} | {md(o.format)} | {o.mean_rank:.2f} | "
            f"{o.tasks_covered}/{len(tasks)} |"
        )
    for task, entries in per_task.items():
        ranks = [e.rank for e in entries]
        lines += [
            "",
            f"## {md(task)}",
            "",
            f"Metric: {md(entries[0].primary_metric)}.",
            "",
            "| rank | model | role | format | score [95% CI] | tied with | p50 ms b1 | size MB | reuse score |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for e in entries:
            lines.append(
                f"| {e.rank}{'=' if ranks.count(e.rank) > 1 else ''} | {md(e.model)} | {md(e.role)} | {md(e.format)} | "
                f"{e.score:.4f}{ci_text(e.ci)} | {md(tie_text(e.tied_with))} | {fmt(e.p50_ms, 2)} | "
                f"{fmt(e.size_mb, 1)} | {fmt(e.reuse_score, 3)} |"
            )
    lines += ["", RANKING_RULE, ""]
    return "\n".join(lines)
