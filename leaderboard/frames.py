"""The results store as data: every stored run's records as one pandas DataFrame, and the leaderboard's ranked
entries as frames (what ``leaderboard.csv`` and ``leaderboard.md`` are written from).

:func:`load_frame` has the columns and dtypes of :meth:`harness.results.RunResults.to_pandas` (see
:mod:`harness.frames`), one row per stored record, oldest run first; ``run_id`` is the stored id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harness.frames import runs_frame
from harness.results import RunResults
from reports.scorecard import build_scorecards

if TYPE_CHECKING:
    import pandas as pd

    from leaderboard.ranking import Entry, OverallEntry

#: The ranked entries' columns with their dtypes (:func:`entries_frame`), in ``leaderboard.csv``'s order first.
ENTRY_DTYPES = {
    "task": "category",
    "rank": "Int64",
    "tied_with": "object",
    "position": "Int64",
    "model": "string",
    "role": "category",
    "format": "category",
    "teacher": "string",
    "primary_metric": "category",
    "score": "float64",
    "ci_low": "float64",
    "ci_high": "float64",
    "p50_ms_batch_1": "float64",
    "size_mb": "float64",
    "retention": "float64",
    "reuse_score": "float64",
    "run_id": "string",
    "created_at": "string",
    "role_rank": "Int64",
    "adaptation": "category",
    "trainable_params": "Int64",
    "of_full": "float64",
}
#: The overall ranking's columns with their dtypes (:func:`overall_frame`).
OVERALL_DTYPES = {
    "rank": "Int64",
    "tied": "bool",
    "model": "string",
    "role": "category",
    "format": "category",
    "mean_rank": "float64",
    "tasks_covered": "Int64",
}


def with_scorecards(results: RunResults) -> RunResults:
    """``results`` with its scorecards, computed from its records when it was stored without them."""
    if results.scorecards or not results.records:
        return results
    return results.model_copy(update={"scorecards": build_scorecards(results.records, results.baselines)})


def load_frame(db_url: str | None = None) -> pd.DataFrame:
    """Every stored run's records as one frame (columns and dtypes of ``RunResults.to_pandas()``, with the run's
    ``run_id``, ``created_at``, ``suite``, ``git_commit`` and ``cpu``), from the results store at ``db_url``
    (any SQLAlchemy URL or a SQLite path; default as for ``reusebench leaderboard``)."""
    from leaderboard.store import Store

    with Store(db_url) as store:
        runs = store.load_runs()
    return stored_runs_frame(runs)


def stored_runs_frame(runs: Sequence[RunResults]) -> pd.DataFrame:
    """The records of ``runs`` as one frame, each run's scorecards joined (computed where a run has none)."""
    return runs_frame([with_scorecards(results) for results in runs])


def _typed(rows: list[dict[str, Any]], dtypes: dict[str, str]) -> pd.DataFrame:
    """``rows`` as a frame of exactly the ``dtypes`` columns, each of its dtype."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=list(dtypes))
    for column, dtype in dtypes.items():
        if dtype == "Int64":
            frame[column] = pd.array([None if pd.isna(v) else int(v) for v in frame[column]], dtype="Int64")
        elif dtype == "bool":
            frame[column] = pd.Series([v is True for v in frame[column]], index=frame.index, dtype=bool)
        elif dtype == "float64":
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        elif dtype == "string":
            frame[column] = frame[column].astype("string")
        elif dtype == "category":
            frame[column] = frame[column].astype("string").astype("category")
    return frame


def entries_frame(per_task: dict[str, list[Entry]]) -> pd.DataFrame:
    """The ranked entries of every task (:func:`leaderboard.ranking.rank_tasks`), one row each, tasks in order and
    each task's entries best first; ``tied_with`` holds the list of entry names it is tied with, and ``ci_low``
    and ``ci_high`` are NaN for a record without a CI (ranked on its score alone)."""
    rows = [
        {
            "task": task,
            "rank": e.rank,
            "tied_with": list(e.tied_with),
            "position": e.position,
            "model": e.model,
            "role": e.role,
            "format": e.format,
            "teacher": e.teacher,
            "primary_metric": e.primary_metric,
            "score": e.score,
            "ci_low": e.ci_low if e.has_ci else None,
            "ci_high": e.ci_high if e.has_ci else None,
            "p50_ms_batch_1": e.p50_ms,
            "size_mb": e.size_mb,
            "retention": e.retention,
            "reuse_score": e.reuse_score,
            "run_id": e.run_id,
            "created_at": e.created_at,
            "role_rank": e.role_rank,
            "adaptation": e.adaptation,
            "trainable_params": e.trainable_params,
            "of_full": e.of_full,
        }
        for task, entries in per_task.items()
        for e in entries
    ]
    return _typed(rows, ENTRY_DTYPES)


def overall_frame(overall: Sequence[OverallEntry]) -> pd.DataFrame:
    """The overall ranking (:func:`leaderboard.ranking.overall_ranking`), one row per entry, best first."""
    rows = [
        {"rank": o.rank, "tied": o.tied, "model": o.model, "role": o.role, "format": o.format,
         "mean_rank": o.mean_rank, "tasks_covered": o.tasks_covered}
        for o in overall
    ]
    return _typed(rows, OVERALL_DTYPES)
