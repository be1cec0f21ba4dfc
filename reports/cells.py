"""Table cells that carry a second line: a score with its CI underneath, a plain-language note beside a
score or a noisy (⚠) latency. Everything is escaped here; the cells are markup for :func:`reports.page.table`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harness.results import LatencyBlock
from reports.noise import noise_note
from reports.page import Cell, esc, num
from reports.scorecard import ZERO_CREDIT_RETENTION
from reports.text import MISSING, ci_text


def notes_html(notes: Sequence[str], cls: str = "note") -> str:
    """Notes as small lines under a cell's value (empty when there are none)."""
    return "".join(f'<span class="{cls}">{esc(n)}</span>' for n in notes if n)


def score_cell_html(
    score: float | None,
    ci: Iterable[float] | None,
    *,
    notes: Sequence[str] = (),
    no_ci: str = "",
    digits: int = 4,
) -> Cell:
    """``0.8125`` with ``[0.790, 0.834]`` under it (sorted by the score) and any notes below."""
    if score is None:
        return Cell(MISSING + notes_html(notes), sort="", numeric=True, markup=True)
    interval = ci_text(ci).strip() or no_ci.strip()
    sub = f' <span class="sub">{esc(interval)}</span>' if interval else ""
    return Cell(f"{score:.{digits}f}{sub}{notes_html(notes)}", sort=repr(score), numeric=True, markup=True)


def ratio_cell_html(value: float | None, interval: tuple[float, float] | None, mark: str = "") -> Cell:
    """A retention-like ratio with its interval underneath (``mark`` after the value, e.g. ▼)."""
    if value is None:
        return Cell(MISSING, sort="", numeric=True)
    sub = f' <span class="sub">{esc(ci_text(interval).strip())}</span>' if interval else ""
    return Cell(f"{value:.3f}{esc(mark)}{sub}", sort=repr(value), numeric=True, markup=True)


def latency_cell_html(block: LatencyBlock | None, digits: int = 2) -> Cell:
    """A p50 latency; when noisy, ``⚠`` and a short plain note under it (the full note as a tooltip)."""
    base = num(block.p50 if block else None, digits)
    note = noise_note(block)
    if note is None:
        return base
    return Cell(
        f"{esc(base.text)} ⚠{notes_html([note.short])}",
        sort=base.sort,
        numeric=True,
        markup=True,
        title=note.sentence,
    )


def noisy_ratio_cell_html(value: float | None, noisy: bool, digits: int = 2, suffix: str = "×") -> Cell:
    """A speedup computed from a noisy latency: ``⚠`` and a pointer to the note beside the latency."""
    base = num(value, digits, suffix)
    if not noisy or value is None:
        return base
    return Cell(
        f"{esc(base.text)} ⚠{notes_html(['approximate: noisy latency'])}",
        sort=base.sort,
        numeric=True,
        markup=True,
        title="computed from a latency measured on a busy or unsteady machine: see the note beside it under Records",
    )


def reuse_cell_html(reuse: float | None, retention: float | None) -> Cell:
    """A reuse score; a zero one says why (kept under 90 % of the teacher's score: the gate gives no credit)."""
    base = num(reuse, 3)
    if reuse != 0 or retention is None or retention > ZERO_CREDIT_RETENTION:
        return base
    note = f"kept {retention:.1%} of the teacher's score, under {ZERO_CREDIT_RETENTION:.0%}: no credit"
    return Cell(f"{esc(base.text)}{notes_html([note])}", sort=base.sort, numeric=True, markup=True)
