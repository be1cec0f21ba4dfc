"""The leaderboard as text: ``leaderboard.csv`` and ``leaderboard.md`` (user strings escaped for each format:
:func:`reports.escape.csv_cell`, no spreadsheet formulas; :func:`reports.escape.md`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from leaderboard.base_models import base_model_markdown, base_model_standings, fine_tuned_markdown
from leaderboard.frames import ENTRY_DTYPES, entries_frame, overall_frame
from leaderboard.ranking import RANKING_RULE, Entry, OverallEntry
from reports.adaptation import METHOD_NAMES
from reports.escape import csv_cell, md
from reports.text import ci_text, fmt

if TYPE_CHECKING:
    import pandas as pd

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
    # within its role: teachers by fine-tuned score, students and exports by reuse score (the site's ranking)
    "role_rank",
    # how the pretrained model was adapted (full, probe, lora; empty for students), what that trained, and the
    # score over the fully fine-tuned teacher's in the same run
    "adaptation",
    "trainable_params",
    "of_full",
]


def tie_text(names: Sequence[str], shown: int = 3) -> str:
    """``≈ a, b, c +2 more``: the entries one is statistically tied with, shortened."""
    if not names:
        return "–"
    more = f" +{len(names) - shown} more" if len(names) > shown else ""
    return "≈ " + ", ".join(names[:shown]) + more


def _value(value: Any) -> Any:
    """A frame cell as a plain value: None for a missing one (NaN, ``<NA>``)."""
    import pandas as pd

    if isinstance(value, list):
        return value
    return None if pd.isna(value) else value


def _number(value: Any) -> float | None:
    value = _value(value)
    return None if value is None else float(value)


def csv_from_frame(entries: pd.DataFrame) -> str:
    """``leaderboard.csv`` from :func:`leaderboard.frames.entries_frame`: one row per entry, the
    :data:`CSV_COLUMNS`; text through :func:`reports.escape.csv_cell`, numbers as Python writes them, a missing
    value empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in entries.to_dict("records"):
        cells = []
        for column in CSV_COLUMNS:
            value = _value(row[column])
            if column == "tied_with":
                cells.append(csv_cell("; ".join(value or [])))
            elif value is None:
                cells.append("")
            elif ENTRY_DTYPES[column] in ("string", "category"):
                cells.append(csv_cell(str(value)))
            elif ENTRY_DTYPES[column] == "Int64":
                cells.append(str(int(value)))
            else:
                cells.append(repr(float(value)))
        writer.writerow(cells)
    return buffer.getvalue()


def markdown_from_frames(
    entries: pd.DataFrame, overall: pd.DataFrame, ship: Sequence[str] = (), base_models: Sequence[str] = ()
) -> str:
    """``leaderboard.md`` from :func:`leaderboard.frames.entries_frame` and :func:`leaderboard.frames.overall_frame`:
    what to ship per task (``ship``: one Markdown sentence each), the overall ranking, the base models by best
    reuse score (``base_models``: its lines) and each task's ranking,
    ties marked ``=`` and ``≈`` (text through :func:`reports.escape.md`)."""
    tasks = list(dict.fromkeys(entries["task"].astype("string")))
    lines = ["# reusebench leaderboard", ""]
    if overall.empty:
        return "\n".join(lines + ["No runs stored yet.", ""])
    if ship:
        lines += ["## What to ship", "", *[f"- {sentence}" for sentence in ship], ""]
    lines += [
        "## Overall",
        "",
        "| rank | model | role | format | mean rank | tasks |",
        "|---|---|---|---|---|---|",
    ]
    for o in overall.to_dict("records"):
        lines.append(
            f"| {o['rank']}{'=' if o['tied'] else ''} | {md(o['model'])} | {md(o['role'])} | {md(o['format'])} | "
            f"{o['mean_rank']:.2f} | {o['tasks_covered']}/{len(tasks)} |"
        )
    lines += ["", *base_models] if base_models else []
    for task in tasks:
        rows = entries[entries["task"].astype("string") == task].to_dict("records")
        ranks = [row["rank"] for row in rows]
        lines += [
            "",
            f"## {md(task)}",
            "",
            f"Metric: {md(rows[0]['primary_metric'])}.",
            "",
            "| rank | rank in role | model | role | format | score [95% CI] | tied with | p50 ms b1 | size MB | reuse score |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for e in rows:
            low, high = _number(e["ci_low"]), _number(e["ci_high"])
            ci = (low, high) if low is not None and high is not None else None
            lines.append(
                f"| {e['rank']}{'=' if ranks.count(e['rank']) > 1 else ''} | {fmt(_number(e['role_rank']), 0)} | "
                f"{md(e['model'])} | {md(e['role'])} | "
                f"{md(e['format'])} | {e['score']:.4f}{ci_text(ci)} | {md(tie_text(e['tied_with']))} | "
                f"{fmt(_number(e['p50_ms_batch_1']), 2)} | {fmt(_number(e['size_mb']), 1)} | "
                f"{fmt(_number(e['reuse_score']), 3)} |"
            )
        lines += _adaptation_lines(rows)
    lines += ["", RANKING_RULE, ""]
    return "\n".join(lines)


#: what leaderboard.md and the site call each adaptation method: the reports' names, cheapest first
METHOD_LABELS = METHOD_NAMES


def adaptation_entries(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A task's PyTorch entries of each way of adapting a pretrained model, by teacher then cheapest first;
    none unless a method other than full fine-tuning ran."""
    chosen = [r for r in rows if r["format"] == "pytorch" and _value(r["adaptation"]) in METHOD_LABELS]
    if all(r["adaptation"] == "full" for r in chosen):
        return []
    order = list(METHOD_LABELS)
    return sorted(chosen, key=lambda r: (str(r["teacher"] or ""), order.index(r["adaptation"])))


def _adaptation_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    chosen = adaptation_entries(rows)
    if not chosen:
        return []
    lines = ["", "Adaptation: how little it takes (PyTorch).", "",
             "| teacher | method | trainable params | score [95% CI] | of full |", "|---|---|---|---|---|"]
    for e in chosen:
        low, high = _number(e["ci_low"]), _number(e["ci_high"])
        ci = (low, high) if low is not None and high is not None else None
        trainable = _number(e["trainable_params"])
        lines.append(
            f"| {md(e['teacher'] or e['model'])} | {METHOD_LABELS[e['adaptation']]} | "
            f"{'–' if trainable is None else f'{int(trainable):,}'} | {e['score']:.4f}{ci_text(ci)} | "
            f"{fmt(_number(e['of_full']), 3)} |"
        )
    return lines


def render_csv(per_task: dict[str, list[Entry]]) -> str:
    """``leaderboard.csv``: one row per task entry (built from :func:`leaderboard.frames.entries_frame`)."""
    return csv_from_frame(entries_frame(per_task))


def render_markdown(
    per_task: dict[str, list[Entry]], overall: Sequence[OverallEntry], ship: Sequence[str] = ()
) -> str:
    """``leaderboard.md``: what to ship per task, the overall ranking and each task's ranking, ties marked ``=``
    and ``≈`` (built from :func:`leaderboard.frames.entries_frame` and :func:`leaderboard.frames.overall_frame`)."""
    base_models = [*fine_tuned_markdown(per_task, list(per_task)),
                   *base_model_markdown(base_model_standings(per_task), list(per_task))]
    return markdown_from_frames(entries_frame(per_task), overall_frame(overall), ship, base_models)
