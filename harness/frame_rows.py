"""How a results frame is built: its columns, dtypes and rows (the public API is :mod:`harness.frames`).

The columns and their dtypes are listed in :mod:`harness.frames`. Records, scorecards and runs are duck-typed
(``harness.result_models.Record``, ``Scorecard``, ``RunResults``): this module imports nothing from harness, so
that ``RunResults.to_pandas`` can use it without an import cycle.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

RUN_COLUMNS = ("run_id", "created_at", "suite", "git_commit", "cpu")
RECORD_COLUMNS = ("task", "kind", "model", "teacher", "role", "format", "primary_metric", "score", "ci_low",
                  "ci_high", "eval_examples")
COST_COLUMNS = ("size_mb", "params", "train.wall_s", "train.flops", "status")
SCORECARD_COLUMNS = ("retention", "speedup", "compression", "reuse_score")
CATEGORY_COLUMNS = frozenset({"task", "kind", "role", "format", "primary_metric", "status", "suite"})
STRING_COLUMNS = frozenset({"run_id", "created_at", "git_commit", "cpu", "model", "teacher"})
INT_COLUMNS = frozenset({"eval_examples", "params"})
BOOL_COLUMNS = frozenset({"noisy"})
_BATCH = re.compile(r"^batch_(\d+)$")


def frame_dtypes(columns: Iterable[str]) -> dict[str, str]:
    """The dtype of each column of a results frame: category, string, Int64, bool or float64."""
    def dtype(column: str) -> str:
        if column in CATEGORY_COLUMNS:
            return "category"
        if column in STRING_COLUMNS:
            return "string"
        if column in INT_COLUMNS:
            return "Int64"
        if column in BOOL_COLUMNS:
            return "bool"
        return "float64"

    return {column: dtype(column) for column in columns}


def _batch_order(key: str) -> tuple[int, int | str]:
    match = _BATCH.match(key)
    return (0, int(match.group(1))) if match else (1, key)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def frame_columns(records: Sequence[Any]) -> list[str]:
    """Every column of the frame of ``records``, in order (metrics and batch sizes: the union over the records)."""
    metrics = sorted({key for record in records for key in record.metrics})
    batches = sorted({key for record in records for key in record.latency_ms}, key=_batch_order)
    latency = [f"latency.{batch}.{stat}" for batch in batches for stat in ("p50", "p90")]
    return [*RUN_COLUMNS, *RECORD_COLUMNS, *(f"metrics.{m}" for m in metrics), *latency, "noisy", *COST_COLUMNS,
            *SCORECARD_COLUMNS]


def record_row(results: Any, record: Any, card: Any | None) -> dict[str, Any]:
    """One record as a flat row (see the module docstring); ``card`` is its scorecard, if it has one."""
    environment = results.environment or {}
    ci = record.score_ci
    teacher = record.teacher or getattr(card, "teacher", None) or (record.model if record.role == "teacher" else None)
    train = record.train
    row: dict[str, Any] = {
        "run_id": results.run_id,
        "created_at": results.created_at,
        "suite": results.suite,
        "git_commit": environment.get("git_commit"),
        "cpu": environment.get("cpu"),
        "task": record.task,
        "kind": record.kind,
        "model": record.model,
        "teacher": teacher,
        "role": str(record.role),
        "format": str(record.format),
        "primary_metric": record.primary_metric,
        "score": _number(record.score),
        "ci_low": ci.low if ci else None,
        "ci_high": ci.high if ci else None,
        "eval_examples": record.eval_examples,
        "noisy": record.noisy,
        "size_mb": _number(record.size_mb),
        "params": int(record.params) if record.params else None,
        "train.wall_s": _number(train.wall_s) if train else None,
        "train.flops": _number(train.flops) if train else None,
        "status": record.status,
    }
    row.update({f"metrics.{key}": _number(value) for key, value in record.metrics.items()})
    for batch, block in record.latency_ms.items():
        row[f"latency.{batch}.p50"] = _number(block.p50)
        row[f"latency.{batch}.p90"] = _number(block.p90)
    for column in SCORECARD_COLUMNS:
        row[column] = _number(getattr(card, column, None))
    return row


def typed_frame(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """``rows`` as a frame with exactly ``columns``, each of its :func:`frame_dtypes` dtype."""
    import pandas as pd

    frame = pd.DataFrame.from_records(list(rows), columns=list(columns))
    for column, dtype in frame_dtypes(columns).items():
        series = frame[column]
        if dtype == "float64":
            frame[column] = pd.to_numeric(series, errors="coerce").astype("float64")
        elif dtype == "Int64":
            frame[column] = pd.array([None if pd.isna(v) else int(v) for v in series], dtype="Int64")
        elif dtype == "bool":
            frame[column] = pd.Series([v is True for v in series], index=frame.index, dtype=bool)
        elif dtype == "string":
            frame[column] = series.astype("string")
        else:
            frame[column] = series.astype("string").astype("category")
    return frame


def to_frame(results: Any) -> pd.DataFrame:
    """The records of ``results`` as a frame, one row per record in record order, joined with their scorecards
    (``results.scorecards``, keyed by task, model and format)."""
    cards = {(c.task, c.student, str(c.format)): c for c in results.scorecards}
    rows = [record_row(results, r, cards.get((r.task, r.model, str(r.format)))) for r in results.records]
    return typed_frame(rows, frame_columns(results.records))


def runs_frame(runs: Sequence[Any]) -> pd.DataFrame:
    """The records of several runs as one frame (columns: the union; dtypes as :func:`to_frame`'s)."""
    rows: list[dict[str, Any]] = []
    records: list[Any] = []
    for results in runs:
        cards = {(c.task, c.student, str(c.format)): c for c in results.scorecards}
        rows.extend(record_row(results, r, cards.get((r.task, r.model, str(r.format)))) for r in results.records)
        records.extend(results.records)
    return typed_frame(rows, frame_columns(records))
