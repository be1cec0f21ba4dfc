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

**Ranks within a role** (what the site shows first): a fine-tuned teacher (role ``teacher``, format
``pytorch``) is only ranked against other teachers, by its fine-tuned score with the same CI rule; every other
entry (a student in any format, a teacher's own export) is a *variant*, ranked against the other variants by
its reuse score (higher is better; equal reuse scores, to three decimals, share a rank). A variant without a
reuse score (no teacher to compare with, or retention withheld) is listed unranked. Across tasks, each role
has its own overall order, by the same coverage-then-mean-rank rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import fmean

from harness.results import LatencyBlock, Record, RunResults
from reports.notes import record_notes
from reports.scorecard import build_scorecards

#: The ranking rule in one paragraph, as the site and ``leaderboard.md`` state it.
RANKING_RULE = (
    "Per task, entries are ordered by the primary score. Two entries are statistically tied when their 95 % "
    "bootstrap CIs overlap; an entry's rank is 1 + the number of entries whose CI lies wholly above its own, so "
    "tied entries can share a rank. One entry per (model, role, format) per task: the latest stored run's. "
    "The overall rank orders entries by the number of tasks they cover, then by their mean per-task rank; "
    "equal coverage and mean rank is a tie."
)

#: How the site ranks within each role, in one paragraph.
ROLE_RANKING_RULE = (
    "Models are ranked within their role. Fine-tuned teachers (PyTorch) are ranked against each other by "
    "their fine-tuned score, with statistical ties as above. Students and exported variants are ranked against "
    "each other by their reuse score (speed and size gained, gated by the score kept); equal reuse scores share "
    "a rank, and a variant without one is listed unranked. Across tasks, each role is ordered by the number of "
    "tasks covered, then by the mean per-task rank."
)

TEACHERS, VARIANTS = "teacher", "variant"


class _Named:
    """What an entry is called on the site, and whether it is tied (``model``, ``format``, ``tied_with``
    are the dataclass fields of the subclasses)."""

    model: str
    format: str
    tied_with: list[str]

    @property
    def name(self) -> str:
        """``model (format)``: how an entry is named on the site."""
        return f"{self.model} ({self.format})"

    @property
    def tied(self) -> bool:
        """True when it is tied with another entry (see ``tied_with``)."""
        return bool(self.tied_with)


@dataclass
class Entry(_Named):
    """One (task, model, role, format) on a task's leaderboard; tied when its CI overlaps another's."""

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
    speedup: float | None = None
    compression: float | None = None
    #: the record's batch-1 latency block (for its ⚠ note) and the plain-language notes on its score
    latency: LatencyBlock | None = None
    notes: list[str] = field(default_factory=list)
    #: rank within its role (:func:`rank_within_roles`): None for a variant without a reuse score
    role_rank: int | None = None
    role_tied_with: list[str] = field(default_factory=list)
    #: how the pretrained model was adapted: "full" (a teacher), "probe" or "lora" (role adapted); None for a
    #: student. ``trainable_params``: what that method trained; ``of_full``: the score over the fully
    #: fine-tuned teacher's in the same run (PyTorch entries only)
    adaptation: str | None = None
    trainable_params: int | None = None
    of_full: float | None = None

    @property
    def ci(self) -> tuple[float, float] | None:
        """``(ci_low, ci_high)`` when the record had a CI."""
        return (self.ci_low, self.ci_high) if self.has_ci else None

    @property
    def group(self) -> str:
        """:data:`TEACHERS` for a fine-tuned teacher in PyTorch, else :data:`VARIANTS`."""
        return TEACHERS if self.role == "teacher" and self.format == "pytorch" else VARIANTS


@dataclass
class OverallEntry(_Named):
    """One (model, role, format) across tasks; tied when another entry has the same overall rank."""

    model: str
    role: str
    format: str
    ranks: dict[str, int]
    mean_rank: float
    tasks_covered: int
    rank: int = 0
    tied_with: list[str] = field(default_factory=list)


def _adaptation(results: RunResults, record: Record) -> tuple[str | None, int | None, float | None]:
    """(method, trainable parameters, fraction of the full fine-tuning score) of a teacher or adapted record."""
    if record.role == "teacher":
        method, trainable = "full", record.params or None
    elif record.role == "adapted":
        method, trainable = record.adaptation, record.trainable_params
    else:
        return None, None, None
    full = next((r for r in results.records if r.role == "teacher" and r.format == "pytorch" and r.status == "ok"
                 and r.task == record.task and r.teacher == record.teacher), None)
    of_full = None
    if record.format == "pytorch" and full is not None and full.score and full.score > 0 and record.score is not None:
        of_full = record.score / full.score
    return method, trainable, of_full


def _entry(results: RunResults, record: Record, cards: dict[tuple[str, str, str], object]) -> Entry:
    assert record.score is not None
    ci = record.score_ci
    card = cards.get((record.task, record.model, record.format))
    adaptation, trainable, of_full = _adaptation(results, record)
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
        ci_low=ci.low if ci else float(record.score),
        ci_high=ci.high if ci else float(record.score),
        has_ci=ci is not None,
        p50_ms=record.p50(1),
        size_mb=record.size_mb or None,
        retention=getattr(card, "retention", None),
        reuse_score=getattr(card, "reuse_score", None),
        speedup=getattr(card, "speedup", None),
        compression=getattr(card, "compression", None),
        latency=record.latency(1),
        notes=record_notes(results, record),
        adaptation=adaptation,
        trainable_params=trainable,
        of_full=of_full,
    )


def latest_entries(runs: Sequence[RunResults]) -> dict[str, list[Entry]]:
    """Per task, one entry per (model, role, format): its record from the latest run that has it."""
    chosen: dict[tuple[str, str, str, str], Entry] = {}
    for results in sorted(runs, key=lambda r: (r.created_at, r.run_id)):
        cards = {
            (c.task, c.student, c.format): c
            for c in (results.scorecards or build_scorecards(results.records, results.baselines))
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
    """Ranked entries of every task (by score; ranks within each role set too), tasks sorted by name."""
    ranked = {task: rank_entries(entries) for task, entries in latest_entries(runs).items()}
    for entries in ranked.values():
        rank_within_roles(entries)
    return ranked


def _reuse_key(entry: Entry) -> float | None:
    return None if entry.reuse_score is None else round(entry.reuse_score, 3)


def rank_within_roles(entries: Sequence[Entry]) -> tuple[list[Entry], list[Entry]]:
    """Rank one task's teachers by fine-tuned score (CI ties) and its variants by reuse score (see the module
    docstring); sets ``role_rank`` and ``role_tied_with``; returns (teachers, variants), best first."""
    teachers = sorted(
        (e for e in entries if e.group == TEACHERS), key=lambda e: (-e.score, -e.ci_low, e.name)
    )
    for entry in teachers:
        entry.role_rank = 1 + sum(1 for other in teachers if other.ci_low > entry.ci_high)
        entry.role_tied_with = [
            o.name
            for o in teachers
            if o is not entry and o.ci_low <= entry.ci_high and entry.ci_low <= o.ci_high
        ]
    variants = [e for e in entries if e.group == VARIANTS]
    variants.sort(key=lambda e: (_reuse_key(e) is None, -(_reuse_key(e) or 0.0), -e.score, e.name))
    for entry in variants:
        key = _reuse_key(entry)
        if key is None:
            entry.role_rank, entry.role_tied_with = None, []
            continue
        entry.role_rank = 1 + sum(1 for o in variants if (k := _reuse_key(o)) is not None and k > key)
        entry.role_tied_with = [o.name for o in variants if o is not entry and _reuse_key(o) == key]
    return teachers, variants


@dataclass
class RoleStanding(_Named):
    """One model of a role across tasks: its rank and value (fine-tuned or reuse score) per task."""

    model: str
    role: str
    format: str
    teacher: str | None
    group: str
    ranks: dict[str, int]
    values: dict[str, float]
    mean_rank: float
    mean_value: float | None
    tasks_covered: int
    rank: int = 0
    tied_with: list[str] = field(default_factory=list)


def role_standings(per_task: dict[str, list[Entry]], group: str) -> list[RoleStanding]:
    """The overall order within one role (``TEACHERS`` or ``VARIANTS``): more tasks covered first, then the
    lower mean rank within the role; equal coverage and mean rank share a rank."""
    found: dict[tuple[str, str, str], list[Entry]] = {}
    for entries in per_task.values():
        for entry in entries:
            if entry.group == group and entry.role_rank is not None:
                found.setdefault((entry.model, entry.role, entry.format), []).append(entry)
    standings = []
    for (model, role, fmt), mine in found.items():
        values = {e.task: (e.score if group == TEACHERS else e.reuse_score) for e in mine}
        known = [v for v in values.values() if v is not None]
        standings.append(
            RoleStanding(
                model,
                role,
                fmt,
                mine[0].teacher,
                group,
                ranks={e.task: e.role_rank for e in mine if e.role_rank is not None},
                values={t: v for t, v in values.items() if v is not None},
                mean_rank=round(fmean(e.role_rank for e in mine if e.role_rank is not None), 9),
                mean_value=fmean(known) if known else None,
                tasks_covered=len(mine),
            )
        )
    standings.sort(key=lambda s: (-s.tasks_covered, s.mean_rank, -(s.mean_value or 0.0), s.name))
    for standing in standings:
        standing.rank = 1 + sum(
            1
            for o in standings
            if (-o.tasks_covered, o.mean_rank) < (-standing.tasks_covered, standing.mean_rank)
        )
    for standing in standings:
        standing.tied_with = [o.name for o in standings if o is not standing and o.rank == standing.rank]
    return standings


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
