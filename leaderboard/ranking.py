"""Ranks per task and overall, with statistical ties.

**Entries.** One per (task, model, role, format): the record from the latest stored run that has it
(by ``created_at``); failed records and records without a score are not ranked.

**Per-task rank** by the primary score, higher is better. Two entries *tie* when their 95 % CIs overlap.
Because overlap is not transitive, the rank is defined as 1 + the number of entries that are
*significantly better* (whose CI lies wholly above this entry's): entries no one beats significantly share
rank 1, and so on (the rule of LMSYS's Chatbot Arena). Each entry lists the entries it ties with.
Without a CI the score itself stands for the interval.

**Overall rank** = the mean of an entry's per-task ranks. An entry measured on fewer tasks is not comparable
on that mean, so the overall order is: more tasks covered first, then lower mean rank; entries with equal
coverage and equal mean rank share a rank (a tie).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import fmean

from harness.results import Record, RunResults
from reports.scorecard import build_scorecards


@dataclass
class Entry:
    """One (task, model, role, format) on a task's leaderboard."""

    task: str
    model: str
    role: str
    format: str
    teacher: str | None
    run_id: str
    created_at: str
    primary_metric: str
    score: float
    ci_low: float
    ci_high: float
    has_ci: bool
    p50_ms: float | None
    size_mb: float | None
    retention: float | None
    reuse_score: float | None
    rank: int = 0
    position: int = 0
    tied_with: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``model (format)``: how an entry is named on the site."""
        return f"{self.model} ({self.format})"

    @property
    def tied(self) -> bool:
        """True when the entry's CI overlaps another entry's."""
        return bool(self.tied_with)


@dataclass
class OverallEntry:
    """One (model, role, format) across tasks."""

    model: str
    role: str
    format: str
    ranks: dict[str, int]
    mean_rank: float
    tasks_covered: int
    rank: int = 0
    tied_with: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``model (format)``."""
        return f"{self.model} ({self.format})"

    @property
    def tied(self) -> bool:
        """True when another entry has the same overall rank."""
        return bool(self.tied_with)


def _entry(results: RunResults, record: Record, cards: dict[tuple[str, str, str], object]) -> Entry:
    assert record.score is not None
    ci = record.score_ci if record.score_ci and len(record.score_ci) == 2 else None
    card = cards.get((record.task, record.model, record.format))
    latency = record.latency_ms.get("batch_1") or {}
    return Entry(
        task=record.task,
        model=record.model,
        role=record.role,
        format=record.format,
        teacher=getattr(card, "teacher", None) or (record.model if record.role == "teacher" else None),
        run_id=results.run_id,
        created_at=results.created_at,
        primary_metric=record.primary_metric,
        score=float(record.score),
        ci_low=float(ci[0]) if ci else float(record.score),
        ci_high=float(ci[1]) if ci else float(record.score),
        has_ci=ci is not None,
        p50_ms=float(latency["p50"]) if latency.get("p50") else None,
        size_mb=record.size_mb or None,
        retention=getattr(card, "retention", None),
        reuse_score=getattr(card, "reuse_score", None),
    )


def latest_entries(runs: Sequence[RunResults]) -> dict[str, list[Entry]]:
    """Per task, one entry per (model, role, format): its record from the latest run that has it."""
    chosen: dict[tuple[str, str, str, str], Entry] = {}
    for results in sorted(runs, key=lambda r: (r.created_at, r.run_id)):
        cards = {
            (c.task, c.student, c.format): c
            for c in (results.scorecards or build_scorecards(results.records))
        }
        for record in results.records:
            if record.status != "ok" or record.score is None:
                continue
            chosen[(record.task, record.model, record.role, record.format)] = _entry(results, record, cards)
    per_task: dict[str, list[Entry]] = {}
    for entry in chosen.values():
        per_task.setdefault(entry.task, []).append(entry)
    return dict(sorted(per_task.items()))


def rank_entries(entries: Sequence[Entry]) -> list[Entry]:
    """Rank one task's entries (see the module docstring); returns them best first."""
    ordered = sorted(entries, key=lambda e: (-e.score, -e.ci_low, e.name))
    for position, entry in enumerate(ordered, start=1):
        entry.position = position
        entry.rank = 1 + sum(1 for other in ordered if other.ci_low > entry.ci_high)
        entry.tied_with = [
            other.name
            for other in ordered
            if other is not entry and other.ci_low <= entry.ci_high and entry.ci_low <= other.ci_high
        ]
    return ordered


def rank_tasks(runs: Sequence[RunResults]) -> dict[str, list[Entry]]:
    """Ranked entries of every task, tasks sorted by name."""
    return {task: rank_entries(entries) for task, entries in latest_entries(runs).items()}


def overall_ranking(per_task: dict[str, list[Entry]]) -> list[OverallEntry]:
    """The overall ranking: mean per-task rank, more tasks covered first (see the module docstring)."""
    groups: dict[tuple[str, str, str], dict[str, int]] = {}
    for task, entries in per_task.items():
        for entry in entries:
            groups.setdefault((entry.model, entry.role, entry.format), {})[task] = entry.rank
    overall = [
        OverallEntry(model, role, fmt, ranks, round(fmean(ranks.values()), 9), len(ranks))
        for (model, role, fmt), ranks in groups.items()
    ]
    overall.sort(key=lambda o: (-o.tasks_covered, o.mean_rank, o.name))
    for entry in overall:
        entry.rank = 1 + sum(
            1 for o in overall if (-o.tasks_covered, o.mean_rank) < (-entry.tasks_covered, entry.mean_rank)
        )
    for entry in overall:
        entry.tied_with = [o.name for o in overall if o is not entry and o.rank == entry.rank]
    return overall
