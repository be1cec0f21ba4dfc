"""Results as data: a run's records as one pandas DataFrame, one row per record, flat typed columns.

Columns, in order (``docs/python-api.md`` shows them in a notebook):

* the run: ``run_id``, ``created_at`` (ISO 8601 text), ``suite`` (what was run: the suite's name or
  ``tasks: ...``), ``git_commit``, ``cpu``;
* the record: ``task``, ``kind``, ``model``, ``teacher``, ``role``, ``format``, ``primary_metric``, ``score``,
  ``ci_low``, ``ci_high``, ``eval_examples``, then ``metrics.<key>`` for every metric any record has;
* latency: ``latency.batch_<n>.p50`` and ``latency.batch_<n>.p90`` (ms) for every batch size measured, smallest
  batch first, and ``noisy`` (a latency measured on a busy machine);
* cost: ``size_mb``, ``params``, ``train.wall_s``, ``train.flops``; ``status``;
* from the run's scorecards (against the task's teacher in PyTorch): ``retention``, ``speedup``, ``compression``,
  ``reuse_score`` (missing for the teacher's own PyTorch record, and when the run has no scorecards).

Dtypes: ``category`` for the names a frame is grouped by (task, kind, role, format, primary_metric, status,
suite), ``string`` for the other text, ``float64`` for measurements (NaN when missing), ``Int64`` for counts
(``<NA>`` when missing) and ``bool`` for ``noisy``. :func:`frame_dtypes` says which column has which.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.frame_rows import frame_columns, frame_dtypes, record_row, runs_frame, to_frame, typed_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["frame_columns", "frame_dtypes", "load_run_frame", "record_row", "runs_frame", "to_frame", "typed_frame"]


def load_run_frame(path: str | Path) -> pd.DataFrame:
    """The frame of a run folder (or its ``results.json``), read and checked as ``reusebench report`` reads it."""
    from harness.results import load_results

    return to_frame(load_results(path))
