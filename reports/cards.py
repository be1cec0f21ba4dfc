"""Headline cards: per task, the variant to ship and its three numbers (speedup, compression, retention).

The pick and its sentence come from :func:`reports.recommend.recommend`; a card repeats the numbers big
enough to read at a glance and the sentence that says why. Everything is escaped; a name quoted in
backticks in the sentence is shown as code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from harness.results import RunResults
from reports.notes import task_notes
from reports.page import esc
from reports.recommend import Recommendation, recommend

__all__ = ["recommendation_card", "recommendation_cards", "sentence_html"]

_CODE = re.compile(r"`([^`]+)`")


def sentence_html(sentence: str, task: str | None = None) -> str:
    """A recommendation's sentence, escaped, with `quoted` names as code (without its ``task: `` start)."""
    if task is not None and sentence.startswith(f"{task}: "):
        sentence = sentence[len(task) + 2 :]
        sentence = sentence[:1].upper() + sentence[1:]
    return _CODE.sub(r"<code>\1</code>", esc(sentence))


def _number(value: str, caption: str) -> str:
    return f'<div><span class="big">{esc(value)}</span><span>{esc(caption)}</span></div>'


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}×"


def recommendation_card(
    rec: Recommendation | None, task: str, *, notes: Sequence[str] = (), href: str | None = None
) -> str:
    """One task's card (``href``: a link on the task's name, e.g. to its leaderboard page)."""
    name = f'<a href="{esc(href)}">{esc(task)}</a>' if href else esc(task)
    extra = "".join(f'<p class="muted">{esc(n)}</p>' for n in notes)
    if rec is None:
        return (
            f'<div class="card none"><h3>{name}</h3><p>No recommendation: the run has no teacher record for '
            f"this task.</p>{extra}</div>"
        )
    if rec.record is None or rec.model is None:
        return (
            f'<div class="card none"><h3>{name}</h3><p>{sentence_html(rec.sentence, task)}</p>{extra}</div>'
        )
    record = rec.record
    teacher = rec.model == rec.teacher and rec.format == "pytorch"
    pick = "ship the teacher itself" if teacher else "ship"
    retention = "–" if rec.retention is None else f"{rec.retention:.1%}"
    score = "" if record.score is None else f" ({record.primary_metric} {record.score:.3f})"
    numbers = (
        _number(_times(rec.speedup), "faster")
        + _number(_times(rec.compression), "smaller")
        + _number(retention, f"of the teacher's score{score}")
    )
    return (
        f'<div class="card"><h3>{name}</h3><div class="pick">{esc(pick)} <code>{esc(rec.model)}</code> · '
        f'<span class="fmt">{esc(rec.format)}</span></div><div class="nums">{numbers}</div><p>{sentence_html(rec.sentence, task)}</p>{extra}</div>'
    )


def recommendation_cards(results: RunResults, hrefs: dict[str, str] | None = None) -> str:
    """A card per task of the run, in the order its tasks first appear."""
    tasks = list(dict.fromkeys(r.task for r in results.records))
    if not tasks:
        return ""
    cards = [
        recommendation_card(
            recommend(results, task), task, notes=task_notes(results, task), href=(hrefs or {}).get(task)
        )
        for task in tasks
    ]
    return '<div class="cards">' + "".join(cards) + "</div>"
