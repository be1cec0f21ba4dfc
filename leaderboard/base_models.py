"""Base models side by side: each pretrained model ranked by the best reuse score of what was made from it.

"How reusable is this model?" compares pretrained models, not single variants. The teachers' ranking
(:func:`leaderboard.ranking.role_standings` with ``TEACHERS``) orders the base models by their fine-tuned
score; this module orders them, separately, by the **best reuse score among their variants** on each task
(students in any format, the teacher's own exports, probes and LoRAs: every variant whose teacher is that base
model). Per task, a base model's rank is 1 + the number of base models with a higher best reuse score (to three
decimals, as variants are ranked); across tasks, more tasks covered first, then the lower mean rank, and equal
coverage and mean rank share a rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import fmean

from leaderboard.ranking import TEACHERS, VARIANTS, Entry, role_standings
from reports.escape import md

#: The rule in one paragraph, as the site and ``leaderboard.md`` state it.
BASE_MODEL_RULE = (
    "Base models are ranked by the best reuse score among the variants made from them on each task (students "
    "in any format, exports, probes, LoRAs); equal scores to three decimals share a rank. Across tasks: more "
    "tasks covered first, then the lower mean rank."
)


@dataclass
class BaseModelBest:
    """One base model on one task: its best variant by reuse score, and its rank among the base models."""

    task: str
    base: str
    best: Entry
    rank: int = 0

    @property
    def reuse_score(self) -> float:
        assert self.best.reuse_score is not None
        return self.best.reuse_score


@dataclass
class BaseModelStanding:
    """One base model across tasks: its best variant and rank per task."""

    base: str
    per_task: dict[str, BaseModelBest]
    mean_rank: float
    mean_reuse: float
    rank: int = 0
    tied_with: list[str] = field(default_factory=list)

    @property
    def tasks_covered(self) -> int:
        return len(self.per_task)


def _key(value: float) -> float:
    return round(value, 3)


def best_per_task(per_task: dict[str, list[Entry]]) -> dict[str, list[BaseModelBest]]:
    """Per task, each base model's best variant by reuse score (ties: the higher score), ranked; best first."""
    ranked: dict[str, list[BaseModelBest]] = {}
    for task, entries in per_task.items():
        best: dict[str, Entry] = {}
        for entry in entries:
            if entry.group != VARIANTS or entry.reuse_score is None or not entry.teacher:
                continue
            held = best.get(entry.teacher)
            if held is None or (_key(entry.reuse_score), entry.score) > (_key(held.reuse_score or 0.0), held.score):
                best[entry.teacher] = entry
        rows = sorted((BaseModelBest(task, base, e) for base, e in best.items()),
                      key=lambda row: (-_key(row.reuse_score), -row.best.score, row.base))
        for row in rows:
            row.rank = 1 + sum(1 for other in rows if _key(other.reuse_score) > _key(row.reuse_score))
        if rows:
            ranked[task] = rows
    return ranked


def base_model_standings(per_task: dict[str, list[Entry]]) -> list[BaseModelStanding]:
    """The base models across tasks by their best reuse score (see the module docstring), best first."""
    found: dict[str, dict[str, BaseModelBest]] = {}
    for task, rows in best_per_task(per_task).items():
        for row in rows:
            found.setdefault(row.base, {})[task] = row
    standings = [
        BaseModelStanding(base, rows, round(fmean(r.rank for r in rows.values()), 9),
                          fmean(r.reuse_score for r in rows.values()))
        for base, rows in found.items()
    ]
    standings.sort(key=lambda s: (-s.tasks_covered, s.mean_rank, -s.mean_reuse, s.base))
    for standing in standings:
        standing.rank = 1 + sum(1 for o in standings
                                if (-o.tasks_covered, o.mean_rank) < (-standing.tasks_covered, standing.mean_rank))
    for standing in standings:
        standing.tied_with = [o.base for o in standings if o is not standing and o.rank == standing.rank]
    return standings


def base_model_markdown(standings: Sequence[BaseModelStanding], tasks: Sequence[str]) -> list[str]:
    """``leaderboard.md``'s section: one row per base model, its best variant and rank on each task."""
    if not standings:
        return []
    lines = ["## Base models by best reuse score", "", BASE_MODEL_RULE, "",
             "| rank | base model | tasks | mean rank | mean best reuse | " + " | ".join(md(t) for t in tasks) + " |",
             "|---|---|---|---|---|" + "---|" * len(tasks)]
    for s in standings:
        cells = []
        for task in tasks:
            row = s.per_task.get(task)
            cells.append(f"{row.reuse_score:.3f} (#{row.rank}, {md(row.best.name)})" if row else "–")
        lines.append(f"| {s.rank}{'=' if s.tied_with else ''} | {md(s.base)} | {s.tasks_covered}/{len(tasks)} | "
                     f"{s.mean_rank:.2f} | {s.mean_reuse:.3f} | " + " | ".join(cells) + " |")
    return lines + [""]


def fine_tuned_markdown(per_task: dict[str, list[Entry]], tasks: Sequence[str]) -> list[str]:
    """``leaderboard.md``'s section: the base models by their fine-tuned teacher's score (PyTorch), per task and
    overall (:func:`leaderboard.ranking.role_standings`, the site's teachers table)."""
    standings = role_standings(per_task, TEACHERS)
    if not standings:
        return []
    lines = ["## Base models by fine-tuned score", "",
             "Each base model's fine-tuned teacher in PyTorch, ranked among the teachers of each task (1 + the number "
             "whose 95 % CI lies wholly above its own); across tasks, more tasks covered first, then the lower mean "
             "rank.", "",
             "| rank | base model | tasks | mean rank | " + " | ".join(md(t) for t in tasks) + " |",
             "|---|---|---|---|" + "---|" * len(tasks)]
    for s in standings:
        cells = [f"{s.values[t]:.4f} (#{s.ranks[t]})" if t in s.values and t in s.ranks else "–" for t in tasks]
        lines.append(f"| {s.rank}{'=' if s.tied_with else ''} | {md(s.model)} | {s.tasks_covered}/{len(tasks)} | "
                     f"{s.mean_rank:.2f} | " + " | ".join(cells) + " |")
    return lines + [""]
