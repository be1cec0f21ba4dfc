"""Plain-language notes on noisy latencies (⚠): what made a measurement noisy, and what to do about it.

A latency block is flagged ``noisy`` by :func:`harness.measure.latency.measure_latency` when, on every
attempt, other processes used more CPU than allowed (``other_load_cores``) or the calls varied too much
(``cv``, the coefficient of variation). The limits are read back from ``noise_reason`` (defaults: 0.25
cores, CV 0.15).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.results import LatencyBlock, Record
from reports.page import esc

DEFAULT_MAX_OTHER_LOAD = 0.25
DEFAULT_MAX_CV = 0.15

_LOAD_LIMIT = re.compile(r"other-process load [0-9.]+ cores > ([0-9.]+)")
_CV_LIMIT = re.compile(r"cv [0-9.]+ > ([0-9.]+)")

ADVICE_BUSY = (
    "rerun when nothing else runs on the machine (stop other jobs and test runs), or give the run cores of its "
    "own (e.g. taskset -c 2,3 reusebench run)"
)
ADVICE_VARIABLE = (
    "raise measure.min_seconds in the suite (e.g. to 2) so that more calls are timed, and keep measure.threads "
    "at or below the number of idle cores"
)


def _limit(pattern: re.Pattern[str], reason: str | None, default: float) -> float:
    match = pattern.search(reason or "")
    try:
        return float(match.group(1)) if match else default
    except ValueError:
        return default


@dataclass(frozen=True)
class NoiseNote:
    """Why one latency is noisy: ``busy`` (other load, cores) and/or ``variable`` (CV), in words."""

    busy: float | None
    variable: float | None
    attempts: int | None
    load_limit: float
    cv_limit: float

    @property
    def short(self) -> str:
        """A few words for a table cell."""
        parts = []
        if self.busy is not None:
            parts.append(f"busy machine: other programs used {self.busy:.2f} cores")
        if self.variable is not None:
            parts.append(f"unsteady: calls varied by {self.variable:.0%}")
        return "; ".join(parts) or "noisy measurement"

    @property
    def sentence(self) -> str:
        """What happened and what to do, in full."""
        causes = []
        if self.busy is not None:
            causes.append(
                f"other programs were using {self.busy:.2f} CPU cores while it was measured (the limit is "
                f"{self.load_limit:g})"
            )
        if self.variable is not None:
            causes.append(
                f"its calls varied by {self.variable:.0%} around their mean (the limit is {self.cv_limit:.0%})"
            )
        what = " and ".join(causes) or "the measurement was flagged noisy"
        tries = f", still after {self.attempts} attempts" if self.attempts and self.attempts > 1 else ""
        return f"Noisy: {what}{tries}. To fix: {'; '.join(self.advice)}."

    @property
    def advice(self) -> list[str]:
        advice = []
        if self.busy is not None or self.variable is None:
            advice.append(ADVICE_BUSY)
        if self.variable is not None:
            advice.append(ADVICE_VARIABLE)
        return advice


def noise_note(block: LatencyBlock | None) -> NoiseNote | None:
    """The note of a noisy latency block (None when it is not flagged noisy)."""
    if block is None or not block.noisy:
        return None
    load_limit = _limit(_LOAD_LIMIT, block.noise_reason, DEFAULT_MAX_OTHER_LOAD)
    cv_limit = _limit(_CV_LIMIT, block.noise_reason, DEFAULT_MAX_CV)
    other, cv = block.other_load_cores, block.cv
    busy = other if other is not None and other > load_limit else None
    variable = cv if cv is not None and cv > cv_limit else None
    return NoiseNote(busy, variable, block.attempts, load_limit, cv_limit)


def _span(values: Sequence[float], fmt: str) -> str:
    low, high = min(values), max(values)
    return format(low, fmt) if f"{low:{fmt}}" == f"{high:{fmt}}" else f"{low:{fmt}}–{high:{fmt}}"


def noise_summary(records: Iterable[Record]) -> str:
    """A box under the records table: how many latencies are noisy, why, and what to do (empty when none)."""
    blocks = [(r, key, b) for r in records for key, b in sorted(r.latency_ms.items())]
    notes = [(r, key, n) for r, key, b in blocks if (n := noise_note(b)) is not None]
    if not notes:
        return ""
    busy = [n.busy for _, _, n in notes if n.busy is not None]
    variable = [n.variable for _, _, n in notes if n.variable is not None]
    items = []
    if busy:
        limit = notes[0][2].load_limit
        items.append(
            f"<li>{len(busy)} were measured while other programs used {_span(busy, '.2f')} CPU cores (the limit "
            f"is {limit:g}): the model shared the processor, so its times are too slow and uneven. "
            f"<strong>What to do:</strong> {esc(ADVICE_BUSY)}.</li>"
        )
    if variable:
        limit = next(n.cv_limit for _, _, n in notes if n.variable is not None)
        items.append(
            f"<li>{len(variable)} varied by {_span(variable, '.0%')} between calls (the limit is {limit:.0%}). "
            f"<strong>What to do:</strong> {esc(ADVICE_VARIABLE)}.</li>"
        )
    unexplained = len(notes) - sum(1 for _, _, n in notes if n.busy is not None or n.variable is not None)
    if unexplained:
        items.append(f"<li>{unexplained} were flagged noisy by the measurement itself.</li>")
    return (
        f'<div class="callout warn" id="noisy"><p><strong>⚠ {len(notes)} of {len(blocks)} latencies are noisy'
        "</strong> (marked ⚠ in the tables, with a note beside each; speedups computed from them are "
        f"approximate).</p><ul>{''.join(items)}</ul></div>"
    )
