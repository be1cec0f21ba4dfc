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
from leaderboard.base_models import BASE_MODEL_RULE, base_model_standings
from leaderboard.exports import (
    CSV_COLUMNS,
    CSV_SIGNATURE,
    MARKDOWN_SIGNATURE,
    render_csv,
    render_markdown,
    tie_text,
)
from leaderboard.ranking import (
    RANKING_RULE,
    ROLE_RANKING_RULE,
    TEACHERS,
    VARIANTS,
    Entry,
    OverallEntry,
    overall_ranking,
    rank_tasks,
    rank_within_roles,
    role_standings,
)
from leaderboard.tables import (
    adaptation_table,
    base_model_plot,
    base_models_table,
    entry_score_cell,
    pareto_plot,
    standings_table,
    task_plots,
    task_table,
    teachers_table,
    variants_table,
)
from reports.cards import recommendation_card
from reports.escape import md
from reports.glossary import glossary_section
from reports.markdown import sentence_md
from reports.notes import task_notes
from reports.page import PAGE_SIGNATURE, Cell, esc, figures, num, page, table, write_text_atomic
from reports.recommend import recommend
from reports.summary import teacher_summaries
from reports.tables import teacher_summary_section, titles
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


def _latest_run(task: str, runs: Sequence[RunResults]) -> RunResults | None:
    """The latest run (by ``created_at``) that has a teacher in PyTorch on ``task``."""
    having = [
        r
        for r in runs
        if any(x.task == task and x.role == "teacher" and x.format == "pytorch" for x in r.records)
    ]
    return max(having, key=lambda r: (r.created_at, r.run_id), default=None)


def _card(task: str, runs: Sequence[RunResults], href: str | None = None) -> str:
    """The task's recommendation from its latest run."""
    run = _latest_run(task, runs)
    if run is None:
        return recommendation_card(None, task, href=href)
    notes = [*task_notes(run, task), f"from run {run.run_id} ({run.created_at})"]
    return recommendation_card(recommend(run, task), task, notes=notes, href=href)


def _ship_sentences(per_task: dict[str, list[Entry]], runs: Sequence[RunResults]) -> list[str]:
    """What to ship per task, from its latest run, as Markdown (``leaderboard.md``)."""
    sentences = []
    for task in per_task:
        run = _latest_run(task, runs)
        found = recommend(run, task) if run is not None else None
        if found is not None:
            sentences.append(f"{sentence_md(found.sentence)} (run {md(run.run_id)})")
    return sentences


def _cards(tasks: Sequence[str], runs: Sequence[RunResults], slugs: dict[str, str]) -> str:
    if not tasks:
        return ""
    return '<div class="cards">' + "".join(_card(t, runs, f"{slugs[t]}.html") for t in tasks) + "</div>"


def _tasks_table(per_task: dict[str, list[Entry]], slugs: dict[str, str]) -> str:
    rows = []
    for task, entries in per_task.items():
        teachers, variants = rank_within_roles(entries)
        teacher = teachers[0] if teachers else None
        variant = variants[0] if variants and variants[0].role_rank is not None else None
        rows.append(
            [
                Cell(f'<a href="{esc(slugs[task])}.html">{esc(task)}</a>', sort=task, markup=True),
                entries[0].primary_metric,
                Cell(str(len(entries)), sort=str(len(entries)), numeric=True),
                teacher.model if teacher else None,
                entry_score_cell(teacher) if teacher else None,
                variant.name if variant else None,
                num(variant.reuse_score if variant else None, 3),
            ]
        )
    if not rows:
        return '<p class="muted">No tasks.</p>'
    headers = [
        "task",
        "metric",
        "entries",
        "best teacher",
        "fine-tuned score [95% CI]",
        "best variant",
        "reuse score",
    ]
    return table("tasks", headers, rows, titles=titles(headers))


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
    """``index.html``: what to ship per task, the rankings within each role, the Pareto plots, the task
    list, the per-teacher summary and the stored runs. (``overall``, the ranking of every entry by score, is
    in ``leaderboard.md``.)"""
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
    if tasks:
        body += ['<h2 id="ship">What to ship, per task</h2>', _cards(tasks, runs, slugs)]
    body += [
        '<h2 id="teachers-section">Teachers, ranked by fine-tuned score</h2>',
        standings_table(role_standings(per_task, TEACHERS), tasks, "teachers-overall"),
        '<h2 id="base-models-section">Base models, ranked by the best reuse score of their variants</h2>',
        base_models_table(base_model_standings(per_task), tasks),
        f"<p>{esc(BASE_MODEL_RULE)}</p>",
        '<h2 id="variants-section">Students and exported variants, ranked by reuse score</h2>',
        standings_table(role_standings(per_task, VARIANTS), tasks, "variants-overall"),
        f"<p>{esc(ROLE_RANKING_RULE)}</p>",
    ]
    if tasks:
        body += [
            '<h2 id="pareto">Score against latency, per task</h2>',
            figures([pareto_plot(t, per_task[t]) for t in tasks]),
        ]
    body += [
        '<h2 id="tasks-section">Tasks</h2>',
        _tasks_table(per_task, slugs),
        "<h2>How reusable is each model?</h2>",
        teacher_summary_section(teacher_summaries(runs)),
        "<h2>Stored runs</h2>",
        _runs_table(runs),
        glossary_section(),
    ]
    nav = [
        ("index.html", "leaderboard"),
        *[(f"{slugs[t]}.html", t) for t in tasks],
        ("#glossary", "glossary"),
    ]
    return page("reusebench leaderboard", "\n".join(body), nav=nav)


def render_task_page(
    task: str, entries: Sequence[Entry], slugs: dict[str, str], runs: Sequence[RunResults] = ()
) -> str:
    """One task's page: what to ship, its teachers and its variants (each ranked within its role), score
    against latency and size, and every entry by score with its statistical ties."""
    metric = entries[0].primary_metric if entries else "score"
    teachers, variants = rank_within_roles(entries)
    body = [
        f"<h1>Task {esc(task)}</h1>",
        f'<p class="muted">primary metric <strong>{esc(metric)}</strong> · {len(entries)} entries</p>',
    ]
    if runs:
        body.append(f'<div class="cards">{_card(task, runs)}</div>')
    body += [
        "<h2>Teachers, ranked by fine-tuned score</h2>",
        teachers_table(teachers, "teachers"),
        "<h2>Students and exported variants, ranked by reuse score</h2>",
        variants_table(variants, "variants"),
        f"<p>{esc(ROLE_RANKING_RULE)}</p>",
        *(
            ['<h2 id="adaptation">Adaptation: how little it takes</h2>', adaptation,
             '<p class="muted">Each way of adapting the pretrained model (PyTorch): the parameters it trained and '
             "its score as a fraction of full fine-tuning's in the same run.</p>"]
            if (adaptation := adaptation_table(entries))
            else []
        ),
        *(
            ['<h2 id="base-models">Base models side by side</h2>', figures([plot])]
            if (plot := base_model_plot(task, entries))
            else []
        ),
        "<h2>Score against latency and size</h2>",
        figures(task_plots(task, entries)),
        '<details class="more"><summary>Every entry by primary score, with statistical ties (as in '
        "leaderboard.csv)</summary>",
        task_table(entries, "ranking"),
        f"<p>{esc(RANKING_RULE)}</p></details>",
        glossary_section(),
    ]
    nav = [
        ("index.html", "leaderboard"),
        *[(f"{s}.html", t) for t, s in slugs.items()],
        ("#glossary", "glossary"),
    ]
    return page(f"reusebench leaderboard: {task}", "\n".join(body), nav=nav)


#: The files every site has (plus one page per task, :func:`task_slug`), with what each starts with.
SITE_FILES = {
    "index.html": PAGE_SIGNATURE,
    "leaderboard.csv": CSV_SIGNATURE,
    "leaderboard.md": MARKDOWN_SIGNATURE,
}


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
    pages = {task: render_task_page(task, entries, slugs, runs) for task, entries in per_task.items()}
    csv_text, md_text = render_csv(per_task), render_markdown(per_task, overall, _ship_sentences(per_task, runs))
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
