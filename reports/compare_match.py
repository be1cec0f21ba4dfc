"""Which baseline record each candidate record is compared with (see :mod:`reports.compare`)."""

from __future__ import annotations

from collections.abc import Sequence

from harness.results import Record


def match_records(
    baseline: Sequence[Record], candidate: Sequence[Record]
) -> tuple[list[tuple[Record, Record]], list[Record], list[Record]]:
    """(matched pairs, baseline-only records, candidate-only records): by (task, role, format), then by model
    name; one unmatched model on each side of a slot is paired with the other (a renamed student)."""
    pairs: list[tuple[Record, Record]] = []
    missing: list[Record] = []
    new: list[Record] = []
    slots: dict[tuple[str, str, str], tuple[list[Record], list[Record]]] = {}
    for r in baseline:
        slots.setdefault((r.task, r.role, r.format), ([], []))[0].append(r)
    for r in candidate:
        slots.setdefault((r.task, r.role, r.format), ([], []))[1].append(r)
    for base, cand in slots.values():
        cand_left = list(cand)
        base_left = []
        for b in base:
            same = next((c for c in cand_left if c.model == b.model), None)
            if same is not None:
                pairs.append((b, same))
                cand_left.remove(same)
            else:
                base_left.append(b)
        if len(base_left) == 1 and len(cand_left) == 1:
            pairs.append((base_left[0], cand_left[0]))
        else:
            missing += base_left
            new += cand_left
    return pairs, missing, new
