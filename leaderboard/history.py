"""``reusebench history TASK``: a task's trend over the stored runs, as a Markdown table and an HTML page."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from leaderboard.store import Store
from reports import plots
from reports.escape import md
from reports.glossary import glossary_section
from reports.page import esc, figure, figures, num, page, table
from reports.palette import format_color, role_marker
from reports.tables import score_cell, titles
from reports.text import ci_text, fmt
from tasks.errors import ReusebenchError


def task_history(store: Store, task: str) -> list[dict[str, Any]]:
    """The task's stored records, oldest run first; an unknown task is a :class:`ReusebenchError`."""
    rows = store.task_history(task)
    if rows:
        return rows
    known = store.tasks()
    if not known:
        raise ReusebenchError(f"task {task!r}: the results store {store.url} holds no runs yet")
    close = difflib.get_close_matches(task, known, n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ReusebenchError(f"task {task!r} has no stored records (stored tasks: {', '.join(known)}){hint}")


def _series(rows: Sequence[dict[str, Any]], field: str) -> tuple[list[str], dict[str, list[float | None]]]:
    runs = list(dict.fromkeys(r["run_id"] for r in rows))
    names = list(dict.fromkeys(f"{r['model']} ({r['format']})" for r in rows))
    values: dict[str, list[float | None]] = {n: [None] * len(runs) for n in names}
    for r in rows:
        if r["status"] == "ok" and r[field] is not None:
            values[f"{r['model']} ({r['format']})"][runs.index(r["run_id"])] = float(r[field])
    return runs, values


def _ci(row: dict[str, Any]) -> tuple[float, float] | None:
    return (row["score_ci_low"], row["score_ci_high"]) if row["score_ci_low"] is not None else None


def render_history_markdown(task: str, rows: Sequence[dict[str, Any]]) -> str:
    """The trend as a Markdown table, one row per (run, model, format)."""
    lines = [
        f"## History of {md(task)}",
        "",
        "| run | created | model | role | format | score [95% CI] | p50 ms b1 | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        score = "–" if r["score"] is None else f"{r['score']:.4f}{ci_text(_ci(r))}"
        lines.append(
            f"| {md(r['run_id'])} | {md(r['created_at'])} | {md(r['model'])} | {md(r['role'])} | {md(r['format'])} | "
            f"{score} | {fmt(r['p50_ms'], 2)} | {md(r['status'])} |"
        )
    return "\n".join(lines) + "\n"


HISTORY_TERMS = ["teacher", "student / variant", "format", "score", "95% CI", "p50 ms", "size MB", "status"]

HISTORY_HEADERS = [
    "run",
    "created",
    "model",
    "role",
    "format",
    "score [95% CI]",
    "p50 ms b1",
    "size MB",
    "status",
    "git commit",
]


def render_history_html(task: str, rows: Sequence[dict[str, Any]]) -> str:
    """The trend as a self-contained page: score and latency over runs, and the table."""
    metric = rows[0]["primary_metric"] if rows else "score"
    runs, scores = _series(rows, "score")
    _, latency = _series(rows, "p50_ms")
    bands: dict[str, list[tuple[float, float] | None]] = {n: [None] * len(runs) for n in scores}
    for r in rows:
        if r["status"] == "ok" and r["score_ci_low"] is not None:
            bands[f"{r['model']} ({r['format']})"][runs.index(r["run_id"])] = _ci(r)
    names = {f"{r['model']} ({r['format']})": r for r in rows}
    colors = {name: format_color(r["format"]) for name, r in names.items()}
    markers = {name: role_marker(r["role"]) for name, r in names.items()}
    table_rows = [
        [
            r["run_id"],
            r["created_at"],
            r["model"],
            r["role"],
            r["format"],
            score_cell(r["score"], _ci(r)),
            num(r["p50_ms"], 2),
            num(r["size_mb"], 1),
            r["status"],
            r["git_commit"] or "?",
        ]
        for r in rows
    ]
    body = [
        f"<h1>History of task {esc(task)}</h1>",
        f'<p class="muted">{len(runs)} run(s), primary metric <strong>{esc(metric)}</strong>; shaded: 95 % CI.</p>',
        figures(
            [
                figure(
                    plots.lines(
                        runs,
                        scores,
                        title=f"{task}: {metric} over runs",
                        ylabel=metric,
                        bands=bands,
                        colors=colors,
                        markers=markers,
                    ),
                    f"{metric} of each (model, format) per stored run, oldest first; colour: format, shape: role.",
                ),
                figure(
                    plots.lines(
                        runs,
                        latency,
                        title=f"{task}: p50 latency over runs",
                        ylabel="p50 ms, batch 1",
                        colors=colors,
                        markers=markers,
                    ),
                    "p50 latency at batch 1 per stored run (only comparable on the same machine).",
                ),
            ]
        ),
        table("history", HISTORY_HEADERS, table_rows, titles=titles(HISTORY_HEADERS)),
        glossary_section(HISTORY_TERMS),
    ]
    return page(f"reusebench history: {task}", "\n".join(body), nav=[("#glossary", "glossary")])
