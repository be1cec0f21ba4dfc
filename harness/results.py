"""Typed result records and the ``results.json`` file (schema in the README, "Interface contract").

Fields may be added; the contract's fields are never renamed or dropped. Reading a file and writing it
again gives the same JSON (the models are in :mod:`harness.result_models` and importable from here).

Reading (:func:`load_results`) is the one way in for a results file a user names (``report``, ``compare``,
``leaderboard --add``): only a regular file of at most :data:`MAX_RESULTS_BYTES`, strict UTF-8 JSON without
duplicate keys, schema version 1, the schema's types, and then the checks of :mod:`harness.result_checks`
(ranges, intervals, bounded and printable strings). Every failure is one line naming the file and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.json_text import dumps_readable
from harness.result_checks import check_results, check_values
from harness.result_models import (
    EvalSet,
    Format,
    LatencyBlock,
    Lineage,
    PairedStats,
    Parity,
    PeakInfo,
    ProfileRow,
    Record,
    Role,
    RunProfile,
    RunResults,
    Scorecard,
    ScoreInterval,
    SeedStats,
    TrainCostRecord,
    batch_key,
)
from harness.safe_files import MAX_RESULTS_BYTES, read_regular_file, write_text_atomic
from tasks.errors import ReusebenchError

SCHEMA_VERSION = 1

__all__ = [
    "MAX_RESULTS_BYTES",
    "SCHEMA_VERSION",
    "EvalSet",
    "Format",
    "LatencyBlock",
    "Lineage",
    "PairedStats",
    "Parity",
    "PeakInfo",
    "ProfileRow",
    "Record",
    "Role",
    "RunProfile",
    "RunResults",
    "ScoreInterval",
    "Scorecard",
    "SeedStats",
    "TrainCostRecord",
    "batch_key",
    "load_results",
    "parse_results",
    "results_path",
    "save_results",
    "write_json_atomic",
]


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON so that a reader never sees a half-written file (temp file, fsync, rename; a symbolic
    link at ``path`` is replaced, never written through). NaN and infinities are refused. Lists of plain values
    (per-example predictions) are written on one line (``harness.json_text``)."""
    text = dumps_readable(payload)
    write_text_atomic(Path(path), text, fsync=True)


def save_results(results: RunResults, path: Path) -> None:
    """Write ``results.json`` atomically."""
    write_json_atomic(path, results.model_dump(mode="json"))


def results_path(path: str | Path) -> Path:
    """The results file a user named: ``path`` itself, or ``path/results.json`` for a run directory."""
    path = Path(path)
    return path / "results.json" if path.is_dir() else path


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"duplicate key {key!r} in one JSON object")
        data[key] = value
    return data


def parse_results(raw: bytes, source: str) -> RunResults:
    """A results file's bytes as a checked :class:`RunResults` (``source`` names it in errors)."""
    try:
        data = json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: JSONDecodeError, huge integers, duplicate keys
        raise ReusebenchError(f"{source}: not a readable results file: {exc}") from None
    except RecursionError:
        raise ReusebenchError(f"{source}: not a readable results file: nested too deeply") from None
    if not isinstance(data, dict) or "records" not in data or "schema_version" not in data:
        raise ReusebenchError(f"{source}: not a reusebench results file (no 'schema_version'/'records')")
    if type(data["schema_version"]) is not int or data["schema_version"] != SCHEMA_VERSION:
        version = data["schema_version"]
        shown = repr(version) if isinstance(version, int | float | str) and len(repr(version)) < 40 else "?"
        raise ReusebenchError(f"{source}: schema_version {shown} is not supported (expected {SCHEMA_VERSION})")
    check_values(data, source)
    try:
        results = RunResults.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ReusebenchError(f"{source}: field '{field}': {first['msg']}") from None
    return check_results(results, source)


def load_results(path: str | Path) -> RunResults:
    """Read and check a ``results.json`` (or a run directory holding one), with one-line errors."""
    path = results_path(path)
    raw = read_regular_file(path, limit=MAX_RESULTS_BYTES, what="results file")
    return parse_results(raw, str(path))
