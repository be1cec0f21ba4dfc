"""The static leaderboard site: ``index.html``, one page per task, ``leaderboard.csv``, ``leaderboard.md``.

Pages are self-contained like ``report.html`` (inline CSS, JS and SVG; no external load), tables sort and
filter, and every user string is escaped for its format: HTML (``html.escape``), Markdown
(:func:`reports.escape.md`) and CSV (:func:`reports.escape.csv_cell`, no spreadsheet formulas). The
tables and plots are in :mod:`leaderboard.tables`, the CSV and Markdown in :mod:`leaderboard.exports`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.results import RunResults
from harness.safe_files import check_output_dir, check_output_file
from leaderboard.exports import (
    CSV_COLUMNS,
    CSV_SIGNATURE,
    MARKDOWN_SIGNATURE,
    render_csv,
    render_markdown,
    tie_text,
)
from leaderboard.ranking import RANKING_RULE, Entry, OverallEntry, overall_ranking, rank_tasks
from leaderboard.tables import entry_score_cell, overall_table, task_plots, task_table
from reports import plots
from reports.page import PAGE_SIGNATURE, Cell, esc, figure, figures, page, table, write_text_atomic
from reports.summary import teacher_summaries
from reports.tables import teacher_summary_section
from tasks.errors import ReusebenchError

# Public names of this module before its tables and text outputs moved out.
__all__ = [
    "CSV_COLUMNS",
    "RANKING_RULE",
    "SiteFiles",
    "SITE_FILES",
    "build_site",
    "check_site_out",
    "render_csv",
    "render_index",
    "render_markdown",
    "render_task_page",
    "task_slug",
    "tie_text",
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


def _mean_rank_figure(overall: Sequence[OverallEntry]) -> str:
    return figures(
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


def _tasks_table(per_task: dict[str, list[Entry]], slugs: dict[str, str]) -> str:
    rows = []
    for task, entries in per_task.items():
        best = entries[0]
        at_top = str(sum(1 for e in entries if e.rank == 1))
        rows.append(
            [
                Cell(f'<a href="{esc(slugs[task])}.html">{esc(task)}</a>', sort=task, markup=True),
                best.primary_metric,
                Cell(str(len(entries)), sort=str(len(entries)), numeric=True),
                best.name,
                entry_score_cell(best),
                Cell(at_top, sort=at_top, numeric=True),
            ]
        )
    if not rows:
        return '<p class="muted">No tasks.</p>'
    return table("tasks", ["task", "metric", "entries", "best", "best score [95% CI]", "entries at rank 1"], rows)


def _runs_table(runs: Sequence[RunResults]) -> str:
    rows = [
        [
            r.run_id,
            r.created_at,
            r.suite,
            Cell(str(len(r.records)), sort=str(len(r.records)), numeric=True),
            str(r.environment.get("cpu") or "?"),
            str(r.environment.get("git_commit") or "?"),
        ]
        for r in reversed(list(runs))
    ]
    return table("runs", ["run", "created", "suite", "records", "CPU", "git commit"], rows)


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
        overall_table(overall, tasks) if overall else '<p class="muted">Nothing ranked yet.</p>',
        f"<p>{esc(RANKING_RULE)}</p>",
    ]
    if overall and len(tasks) > 1:
        body.append(_mean_rank_figure(overall))
    body += [
        "<h2>Tasks</h2>",
        _tasks_table(per_task, slugs),
        "<h2>How reusable is each model?</h2>",
        teacher_summary_section(teacher_summaries(runs)),
        "<h2>Stored runs</h2>",
        _runs_table(runs),
    ]
    nav = [(f"{slugs[t]}.html", t) for t in tasks]
    return page("reusebench leaderboard", "\n".join(body), nav=[("index.html", "leaderboard"), *nav])


def render_task_page(task: str, entries: Sequence[Entry], slugs: dict[str, str]) -> str:
    """One task's page: its ranking with ties, and score against latency and size."""
    metric = entries[0].primary_metric if entries else "score"
    body = [
        f"<h1>Task {esc(task)}</h1>",
        f'<p class="muted">primary metric <strong>{esc(metric)}</strong> · {len(entries)} entries</p>',
        task_table(entries, "ranking"),
        f"<p>{esc(RANKING_RULE)}</p>",
        figures(task_plots(task, entries)),
    ]
    nav = [("index.html", "leaderboard"), *[(f"{s}.html", t) for t, s in slugs.items()]]
    return page(f"reusebench leaderboard: {task}", "\n".join(body), nav=nav)


#: The files every site has (plus one page per task, :func:`task_slug`), with what each starts with.
SITE_FILES = {"index.html": PAGE_SIGNATURE, "leaderboard.csv": CSV_SIGNATURE, "leaderboard.md": MARKDOWN_SIGNATURE}


def check_site_out(out_dir: str | Path, tasks: Iterable[str], flag: str = "--out") -> Path:
    """Check, before anything is stored or written, the site folder and every file a site of ``tasks`` would
    write there: a real, writable folder (or one that can be created), and no page name taken by a symbolic
    link, a folder, a device or a file reusebench did not write. Returns the folder."""
    out = check_output_dir(out_dir, flag)
    targets = {**SITE_FILES, **{f"{task_slug(task)}.html": PAGE_SIGNATURE for task in tasks}}
    for name, signature in targets.items():
        check_output_file(out / name, flag, signature=signature)
    return out


def build_site(runs: Sequence[RunResults], out_dir: str | Path, *, db_label: str = "") -> SiteFiles:
    """Write the whole site for these runs into ``out_dir``; returns the paths written."""
    per_task = rank_tasks(runs)
    out = check_site_out(out_dir, per_task)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReusebenchError(f"--out {out}: cannot create the folder: {exc.strerror or exc}") from None
    overall = overall_ranking(per_task)
    slugs = {task: task_slug(task) for task in per_task}
    pages = {task: render_task_page(task, entries, slugs) for task, entries in per_task.items()}
    csv_text, md_text = render_csv(per_task), render_markdown(per_task, overall)
    index_text = render_index(runs, per_task, overall, slugs, db_label)
    task_pages = {}
    for task, text in pages.items():  # everything is rendered before the first file is written
        task_pages[task] = out / f"{slugs[task]}.html"
        write_text_atomic(task_pages[task], text)
    csv_path, md_path, index = out / "leaderboard.csv", out / "leaderboard.md", out / "index.html"
    write_text_atomic(csv_path, csv_text)
    write_text_atomic(md_path, md_text)
    write_text_atomic(index, index_text)
    return SiteFiles(index, task_pages, csv_path, md_path)
