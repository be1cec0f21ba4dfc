"""Loading a results file for comparison or import, with checks beyond the schema.

:func:`harness.results.load_results` checks the shape (types, a ``[low, high]`` CI);
:func:`check_results` also rejects what a schema cannot see: non-finite or negative measurements, an
inverted CI, and two records with the same (task, role, model, format). Every error is a
:class:`ReusebenchError` with one line naming the file and the field, so that ``compare`` and
``leaderboard --add`` exit 2 on a corrupted file before doing anything.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from harness.results import RunResults, load_results
from tasks.errors import ReusebenchError

# Integers beyond this cannot be stored in a 64-bit database column (and no model has that many parameters).
MAX_INT = 2**53
MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _finite(value: object, where: str, *, minimum: float | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReusebenchError(f"{where}: not a finite number ({_short(value)})")
    if isinstance(value, int) and abs(value) > MAX_INT:  # before float(): a huge int would overflow it
        raise ReusebenchError(f"{where}: {_short(value)} is out of range")
    if not math.isfinite(value):
        raise ReusebenchError(f"{where}: not a finite number ({_short(value)})")
    if minimum is not None and value < minimum:
        raise ReusebenchError(f"{where}: must be ≥ {minimum:g}, got {value!r}")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _name(value: str, where: str) -> None:
    """A stored name (run id, task, model): one line, not too long, no control characters."""
    if _CONTROL.search(value):
        raise ReusebenchError(f"{where}: contains control characters ({_short(value)})")
    if len(value) > MAX_NAME:
        raise ReusebenchError(f"{where}: longer than {MAX_NAME} characters")


def check_run_id(run_id: str, where: str) -> None:
    """A run id names a run folder: not empty, no path traversal (``..``), not an absolute path."""
    if not run_id.strip():
        raise ReusebenchError(f"{where}: field 'run_id' is empty")
    _name(run_id, f"{where}: field 'run_id'")
    parts = re.split(r"[/\\]", run_id)
    if ".." in parts or run_id.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", run_id):
        raise ReusebenchError(
            f"{where}: field 'run_id' {_short(run_id)} would leave its folder (no '..', no absolute path)"
        )


def check_results(results: RunResults, source: str) -> RunResults:
    """Reject values no measurement can produce; returns ``results`` unchanged when it is sound."""
    check_run_id(results.run_id, source)
    for field in ("suite", "created_at"):
        _name(getattr(results, field), f"{source}: field '{field}'")
    seen: dict[tuple[str, str, str, str], int] = {}
    for index, record in enumerate(results.records):
        where = f"{source}: records[{index}]"
        _name(record.task, f"{where}.task")
        _name(record.model, f"{where}.model")
        key = (record.task, record.role, record.model, record.format)
        if key in seen:
            raise ReusebenchError(
                f"{where}: duplicate record for task {record.task!r}, {record.role} {record.model!r}, "
                f"format {record.format!r} (same as records[{seen[key]}])"
            )
        seen[key] = index
        _finite(record.score, f"{where}.score")
        ci = record.score_ci  # its shape ([low, high]) was checked on loading
        if ci is not None:
            for j, bound in enumerate(ci):
                _finite(bound, f"{where}.score_ci[{j}]")
            if ci.low > ci.high:
                raise ReusebenchError(f"{where}.score_ci: low {ci.low!r} > high {ci.high!r}")
        _finite(record.size_mb, f"{where}.size_mb", minimum=0)
        _finite(record.params, f"{where}.params", minimum=0)
        for key_name, block in record.latency_ms.items():
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
