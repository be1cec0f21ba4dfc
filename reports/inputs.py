"""Loading a results file for comparison or import, with checks beyond the schema.

The checks live with the loader (:func:`harness.results.load_results` runs
:func:`harness.result_checks.check_results` on every file it reads), so that ``report``, ``compare`` and
``leaderboard --add`` refuse the same files with the same one-line errors; this module keeps the names the
reports and tests have always imported.
"""

from __future__ import annotations

from pathlib import Path

from harness.result_checks import MAX_INT, MAX_NAME, check_results, check_run_id
from harness.results import RunResults, load_results

__all__ = ["MAX_INT", "MAX_NAME", "check_results", "check_run_id", "load_run"]


def load_run(path: str | Path) -> RunResults:
    """Load a results file (or a run directory) and check it; one-line :class:`ReusebenchError` otherwise."""
    return load_results(path)
