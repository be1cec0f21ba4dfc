"""Loading a results file for comparison or import, with checks beyond the schema.

:func:`harness.results.load_results` checks the shape; :func:`check_results` also rejects what a schema
cannot see: non-finite or negative measurements, an inverted CI, and two records with the same
(task, role, model, format). Every error is a :class:`ReusebenchError` with one line naming the file and
the field, so that ``compare`` and ``leaderboard --add`` exit 2 on a corrupted file before doing anything.
"""

from __future__ import annotations

import math
from pathlib import Path

from harness.results import RunResults, load_results
from tasks.errors import ReusebenchError


def _finite(value: object, where: str, *, minimum: float | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReusebenchError(f"{where}: not a finite number ({value!r})")
    if minimum is not None and value < minimum:
        raise ReusebenchError(f"{where}: must be ≥ {minimum:g}, got {value!r}")


def check_results(results: RunResults, source: str) -> RunResults:
    """Reject values no measurement can produce; returns ``results`` unchanged when it is sound."""
    if not results.run_id.strip():
        raise ReusebenchError(f"{source}: field 'run_id' is empty")
    seen: dict[tuple[str, str, str, str], int] = {}
    for index, record in enumerate(results.records):
        where = f"{source}: records[{index}]"
        key = (record.task, record.role, record.model, record.format)
        if key in seen:
            raise ReusebenchError(
                f"{where}: duplicate record for task {record.task!r}, {record.role} {record.model!r}, "
                f"format {record.format!r} (same as records[{seen[key]}])"
            )
        seen[key] = index
        _finite(record.score, f"{where}.score")
        if record.score_ci is not None:
            if len(record.score_ci) != 2:
                raise ReusebenchError(f"{where}.score_ci: expected [low, high], got {record.score_ci!r}")
            for j, bound in enumerate(record.score_ci):
                _finite(bound, f"{where}.score_ci[{j}]")
            if record.score_ci[0] > record.score_ci[1]:
                raise ReusebenchError(
                    f"{where}.score_ci: low {record.score_ci[0]!r} > high {record.score_ci[1]!r}"
                )
        _finite(record.size_mb, f"{where}.size_mb", minimum=0)
        _finite(record.params, f"{where}.params", minimum=0)
        for key_name, block in record.latency_ms.items():
            if not isinstance(block, dict):
                raise ReusebenchError(f"{where}.latency_ms.{key_name}: expected an object")
            for stat in ("p50", "p90", "p99"):
                _finite(block.get(stat), f"{where}.latency_ms.{key_name}.{stat}", minimum=0)
        for name, value in record.metrics.items():
            _finite(value, f"{where}.metrics.{name}")
    return results


def load_run(path: str | Path) -> RunResults:
    """Load a results file (or a run directory) and check it; one-line :class:`ReusebenchError` otherwise."""
    results = load_results(path)
    source = str(Path(path) / "results.json") if Path(path).is_dir() else str(path)
    return check_results(results, source)
