"""Check that two runs give the same scores: every record's score, metrics and CI, to 1e-6.

    python bench/compare_scores.py BEFORE/results.json AFTER/results.json

Used to show that a refactor changed no result (bench/results/refactor-check/). Exit 1 when a record is
missing on one side, changes status, or differs by more than the tolerance.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TOLERANCE = 1e-6


def _records(path: str) -> dict[tuple[str, str, str], dict]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {(r["task"], r["model"], r["format"]): r for r in data["records"]}


def largest_difference(before: dict, after: dict) -> float:
    """The largest absolute difference over the score, every metric and both CI bounds of one record."""
    if before["score"] is None or after["score"] is None:
        return 0.0 if before["score"] == after["score"] else float("inf")
    values = [abs(before["score"] - after["score"])]
    values += [abs(before["metrics"][m] - after["metrics"][m]) for m in before["metrics"]]
    values += [abs(a - b) for a, b in zip(before["score_ci"], after["score_ci"], strict=True)]
    return max(values)


def main(before_path: str, after_path: str) -> int:
    before, after = _records(before_path), _records(after_path)
    if set(before) != set(after):
        print(f"records on one side only: {sorted(set(before) ^ set(after))}")
        return 1
    changed = [k for k in before if before[k]["status"] != after[k]["status"]]
    if changed:
        print(f"status changed: {changed}")
        return 1
    worst = max(largest_difference(before[k], after[k]) for k in before)
    print(f"{len(before)} records; largest difference over scores, metrics and CIs: {worst:.3g}")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
