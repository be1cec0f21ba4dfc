"""Typed result records and the ``results.json`` file (schema in the README, "Interface contract").

Fields may be added; the contract's fields are never renamed or dropped.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tasks.errors import ReusebenchError

SCHEMA_VERSION = 1


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Lineage(_Open):
    """Where a model came from."""

    distilled_from: str | None = None
    exported_from: str | None = None
    quantized_from: str | None = None
    base_model: str | None = None


class Record(_Open):
    """One (task, model, format): its score, CI, latency, memory and training cost."""

    task: str
    kind: str
    model: str
    #: the teacher this model belongs to (a teacher's own name for its records); None in old results.
    teacher: str | None = None
    role: Literal["teacher", "student"]
    format: Literal["pytorch", "onnx", "onnx-int8"]
    lineage: Lineage = Field(default_factory=Lineage)
    params: int = 0
    size_mb: float = 0.0
    metrics: dict[str, float] = Field(default_factory=dict)
    primary_metric: str
    score: float | None = None
    score_ci: list[float] | None = None
    eval_examples: int = 0
    latency_ms: dict[str, dict[str, Any]] = Field(default_factory=dict)
    throughput_per_s: float | None = None
    peak_rss_mb: float | None = None
    train: dict[str, Any] | None = None
    status: Literal["ok", "failed"] = "ok"
    status_reason: str | None = None
    parity: dict[str, Any] | None = None


class Scorecard(_Open):
    """A (task, teacher, student, format): how much of the teacher is kept, at what gain."""

    task: str
    teacher: str
    student: str
    format: str
    retention: float | None = None
    speedup: float | None = None
    compression: float | None = None
    train_cost_s: float | None = None
    reuse_score: float | None = None


class RunResults(_Open):
    """Everything one run produced."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    created_at: str
    suite: str
    wall_s: float = 0.0
    environment: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    records: list[Record] = Field(default_factory=list)
    scorecards: list[Scorecard] = Field(default_factory=list)
    #: per task: what a trivial model scores on the eval split (majority label, copy the input).
    baselines: dict[str, dict[str, Any]] = Field(default_factory=dict)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON so that a reader never sees a half-written file (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, allow_nan=False, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_results(results: RunResults, path: Path) -> None:
    """Write ``results.json`` atomically."""
    write_json_atomic(path, results.model_dump(mode="json"))


def load_results(path: str | Path) -> RunResults:
    """Read a ``results.json`` (or a run directory holding one), with one-line errors."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReusebenchError(f"{path}: results file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: JSONDecodeError, huge integers
        raise ReusebenchError(f"{path}: not a readable results file: {exc}") from None
    except RecursionError:
        raise ReusebenchError(f"{path}: not a readable results file: nested too deeply") from None
    if not isinstance(data, dict) or "records" not in data or "schema_version" not in data:
        raise ReusebenchError(f"{path}: not a reusebench results file (no 'schema_version'/'records')")
    if type(data["schema_version"]) is not int or data["schema_version"] != SCHEMA_VERSION:
        raise ReusebenchError(
            f"{path}: schema_version {data['schema_version']!r} is not supported (expected {SCHEMA_VERSION})"
        )
    try:
        return RunResults.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ReusebenchError(f"{path}: field '{field}': {first['msg']}") from None
