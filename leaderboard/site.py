"""The static leaderboard site: ``index.html``, one page per task, ``leaderboard.csv``, ``leaderboard.md``.

Pages are self-contained like ``report.html`` (inline CSS, JS and SVG; no external load), tables sort and
filter, and every user string is escaped for its format: HTML (``html.escape``), Markdown
(:func:`reports.escape.md`) and CSV (:func:`reports.escape.csv_cell`, no spreadsheet formulas).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.results import RunResults
from leaderboard.ranking import Entry, OverallEntry, overall_ranking, rank_tasks
from reports import plots
from reports.escape import csv_cell, md
from reports.html import teacher_summary_section
from reports.page import Cell, esc, figure, figures, num, page, table, write_text_atomic
from reports.summary import teacher_summaries
from tasks.errors import ReusebenchError

RANKING_RULE = (
    "Per task, entries are ordered by the primary score. Two entries are statistically tied when their 95 % "
    "bootstrap CIs overlap; an entry's rank is 1 + the number of entries whose CI lies wholly above its own, so "
    "tied entries can share a rank. One entry per (model, role, format) per task: the latest stored run's. "
    "The overall rank orders entries by the number of tasks they cover, then by their mean per-task rank; "
    "equal coverage and mean rank is a tie."
)

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


@dataclass(frozen=True)
class SiteFiles:
    """What :func:`build_site` wrote."""

    index: Path
    task_pages: dict[str, Path]
    csv: Path
    markdown: Path


def task_slug(task: str) -> str:
    """A safe, unique file name stem for a task page (ASCII letters, digits and dashes + a short hash)."""
    stem = re.sub(r"[^a-z0-9]+", "-", task.lower()).strip("-")[:40] or "task"
    return f"task-{stem}-{hashlib.sha1(task.encode('utf-8')).hexdigest()[:6]}"


def _score_cell(entry: Entry) -> Cell:
    ci = f" [{entry.ci_low:.3f}, {entry.ci_high:.3f}]" if entry.has_ci else " (no CI)"
    return Cell(f"{entry.score:.4f}{ci}", sort=repr(entry.score), numeric=True)


def _rank_cell(rank: int, shared: bool) -> Cell:
    return Cell(
        f"{rank}=" if shared else str(rank),
        sort=str(rank),
        numeric=True,
        title="shares this rank (statistical tie)" if shared else None,
    )


def tie_text(names: Sequence[str], shown: int = 3) -> str:
    """``≈ a, b, c +2 more``: the entries one is statistically tied with, shortened."""
    if not names:
        return "–"
    more = f" +{len(names) - shown} more" if len(names) > shown else ""
    return "≈ " + ", ".join(names[:shown]) + more


def _tie_cell(names: Sequence[str]) -> Cell:
    if not names:
        return Cell("–", sort="0")
    return Cell(tie_text(names), sort=str(len(names)), title="tied with: " + "; ".join(names), wrap=True)


def _task_table(entries: Sequence[Entry], table_id: str) -> str:
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
            _rank_cell(e.rank, ranks.count(e.rank) > 1),
            e.model,
            e.role,
            e.format,
            e.teacher,
            _score_cell(e),
            _tie_cell(e.tied_with),
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


def _task_plots(task: str, entries: Sequence[Entry]) -> list[str]:
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


def _overall_table(overall: Sequence[OverallEntry], tasks: Sequence[str], slugs: dict[str, str]) -> str:
    headers = ["rank", "model", "role", "format", "mean rank", "tasks covered", "tied with"]
    headers += [f"rank: {t}" for t in tasks]
    rows = []
    for o in overall:
        row = [
            _rank_cell(o.rank, o.tied),
            o.model,
            o.role,
            o.format,
            num(o.mean_rank, 2),
            Cell(f"{o.tasks_covered}/{len(tasks)}", sort=str(o.tasks_covered), numeric=True),
            _tie_cell(o.tied_with),
        ]
        row += [
            Cell(str(o.ranks[t]), sort=str(o.ranks[t]), numeric=True) if t in o.ranks else None for t in tasks
        ]
        rows.append(row)
    return table("overall", headers, rows)


def render_index(
    runs: Sequence[RunResults],
    per_task: dict[str, list[Entry]],
    overall: Sequence[OverallEntry],
    slugs: dict[str, str],
    db_label: str,
) -> str:
    """``index.html``: overall ranking, per-teacher summary, task list, stored runs."""
    tasks = list(per_task)
    n_records = sum(len(r.records) for r in runs)
    body = [
        "<h1>reusebench leaderboard</h1>",
        f'<p class="muted">{len(runs)} run(s), {len(tasks)} task(s), {n_records} record(s) · store '
        f"<code>{esc(db_label)}</code></p>",
    ]
    if not runs:
        body.append(
            "<p>The store holds no runs yet: add one with <code>reusebench leaderboard --add "
            "runs/RUN/results.json</code> or run <code>reusebench run</code>.</p>"
        )
    body += [
        "<h2>Overall ranking</h2>",
        _overall_table(overall, tasks, slugs) if overall else '<p class="muted">Nothing ranked yet.</p>',
        f"<p>{esc(RANKING_RULE)}</p>",
    ]
    if overall and len(tasks) > 1:
        body.append(
            figures(
                [
                    figure(
                        plots.bars(
                            [o.name for o in overall[:20]],
                            {"mean rank": [o.mean_rank for o in overall[:20]]},
                            title="Mean per-task rank (lower is better)",
                            ylabel="mean rank",
                        ),
                        "Mean of each entry's per-task ranks (the 20 best).",
                    )
                ]
            )
        )
    task_rows = []
    for task, entries in per_task.items():
        best = entries[0]
        link = Cell(f'<a href="{esc(slugs[task])}.html">{esc(task)}</a>', sort=task, markup=True)
        task_rows.append(
            [
                link,
                best.primary_metric,
                Cell(str(len(entries)), sort=str(len(entries)), numeric=True),
                best.name,
                _score_cell(best),
                Cell(
                    str(sum(1 for e in entries if e.rank == 1)),
                    sort=str(sum(1 for e in entries if e.rank == 1)),
                    numeric=True,
                ),
            ]
        )
    body += [
        "<h2>Tasks</h2>",
        table(
            "tasks",
            ["task", "metric", "entries", "best", "best score [95% CI]", "entries at rank 1"],
            task_rows,
        )
        if task_rows
        else '<p class="muted">No tasks.</p>',
        "<h2>How reusable is each model?</h2>",
        teacher_summary_section(teacher_summaries(runs)),
        "<h2>Stored runs</h2>",
        table(
            "runs",
            ["run", "created", "suite", "records", "CPU", "git commit"],
            [
                [
                    r.run_id,
                    r.created_at,
                    r.suite,
                    Cell(str(len(r.records)), sort=str(len(r.records)), numeric=True),
                    str(r.environment.get("cpu") or "?"),
                    str(r.environment.get("git_commit") or "?"),
                ]
                for r in reversed(list(runs))
            ],
        ),
    ]
    nav = [(f"{slugs[t]}.html", t) for t in tasks]
    return page("reusebench leaderboard", "\n".join(body), nav=[("index.html", "leaderboard"), *nav])


def render_task_page(task: str, entries: Sequence[Entry], slugs: dict[str, str]) -> str:
    """One task's page: its ranking with ties, and score against latency and size."""
    metric = entries[0].primary_metric if entries else "score"
    body = [
        f"<h1>Task {esc(task)}</h1>",
        f'<p class="muted">primary metric <strong>{esc(metric)}</strong> · {len(entries)} entries</p>',
        _task_table(entries, "ranking"),
        f"<p>{esc(RANKING_RULE)}</p>",
        figures(_task_plots(task, entries)),
    ]
    nav = [("index.html", "leaderboard"), *[(f"{s}.html", t) for t, s in slugs.items()]]
    return page(f"reusebench leaderboard: {task}", "\n".join(body), nav=nav)


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
                    e.role,
                    e.format,
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
            f"| {o.rank}{'=' if o.tied else ''} | {md(o.model)} | {o.role} | {o.format} | {o.mean_rank:.2f} | "
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
            ci = f" [{e.ci_low:.3f}, {e.ci_high:.3f}]" if e.has_ci else ""
            ties = md(tie_text(e.tied_with))
            lines.append(
                f"| {e.rank}{'=' if ranks.count(e.rank) > 1 else ''} | {md(e.model)} | {e.role} | {e.format} | "
                f"{e.score:.4f}{ci} | {ties} | {'–' if e.p50_ms is None else f'{e.p50_ms:.2f}'} | "
                f"{'–' if e.size_mb is None else f'{e.size_mb:.1f}'} | "
                f"{'–' if e.reuse_score is None else f'{e.reuse_score:.3f}'} |"
            )
    lines += ["", RANKING_RULE, ""]
    return "\n".join(lines)


def build_site(runs: Sequence[RunResults], out_dir: str | Path, *, db_label: str = "") -> SiteFiles:
    """Write the whole site for these runs into ``out_dir``; returns the paths written."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReusebenchError(f"--out {out}: cannot create the folder: {exc.strerror or exc}") from None
    if not out.is_dir():
        raise ReusebenchError(f"--out {out}: not a folder")
    per_task = rank_tasks(runs)
    overall = overall_ranking(per_task)
    slugs = {task: task_slug(task) for task in per_task}
    task_pages = {}
    for task, entries in per_task.items():
        path = out / f"{slugs[task]}.html"
        write_text_atomic(path, render_task_page(task, entries, slugs))
        task_pages[task] = path
    csv_path, md_path, index = out / "leaderboard.csv", out / "leaderboard.md", out / "index.html"
    write_text_atomic(csv_path, render_csv(per_task))
    write_text_atomic(md_path, render_markdown(per_task, overall))
    write_text_atomic(index, render_index(runs, per_task, overall, slugs, db_label))
    return SiteFiles(index, task_pages, csv_path, md_path)
