"""Ship the recommended variant of every task of a run and load it back as a user would.

For each task of RUN_DIR: ``reusebench ship RUN_DIR --task T --out OUT/T`` (the recommendation), then the
pipeline the model card's own snippet builds, run over the task's eval split; its predictions are compared with
the ones the record was scored with (``Record.predictions``): equal for labels, tags and strings, within 1e-4 for
similarity scores. Writes OUT/ship-check.json and prints one line per task; exit 1 when any task differs.

    .venv/bin/python bench/ship_check.py runs/<run-id> /tmp/shipped

The pipeline helpers are the ones tests/test_ship.py uses on tiny models.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_ship import card_pipeline, pipeline_predictions  # noqa: E402

from harness.cli import main  # noqa: E402
from harness.results import load_results  # noqa: E402
from reports.recommend import recommend  # noqa: E402


def _same(got: list, want: list) -> int:
    """How many predictions differ."""
    differ = 0
    for g, w in zip(got, want, strict=True):
        if isinstance(w, float):
            differ += abs(float(g) - w) > 1e-4
        else:
            differ += g != w
    return differ


def check(run_dir: Path, out: Path) -> list[dict]:
    results = load_results(run_dir)
    rows = []
    for task in dict.fromkeys(r.task for r in results.records):
        rec = recommend(results, task)
        if rec is None or rec.record is None:
            rows.append({"task": task, "shipped": None, "why": rec.sentence if rec else "no teacher"})
            continue
        folder = out / task
        start = time.perf_counter()
        code = main(["ship", str(run_dir), "--task", task, "--out", str(folder)])
        pipe = card_pipeline(folder)
        got = pipeline_predictions(pipe, rec.record, results)
        differ = _same(got, rec.record.predictions)
        rows.append({"task": task, "shipped": f"{rec.model} ({rec.format})", "ship_exit": code,
                     "examples": len(got), "differ": differ, "seconds": round(time.perf_counter() - start, 1)})
        print(f"{task}: {rec.model} ({rec.format}) -> {folder}: {len(got) - differ}/{len(got)} predictions as evaluated")
    return rows


if __name__ == "__main__":
    run, target = Path(sys.argv[1]), Path(sys.argv[2])
    target.mkdir(parents=True, exist_ok=True)
    found = check(run, target)
    (target / "ship-check.json").write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
    sys.exit(1 if any(r.get("differ") or r.get("ship_exit") for r in found) else 0)
