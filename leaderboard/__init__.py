"""What the runs add up to over time: the results store, rankings and the static leaderboard site.

``leaderboard.load_frame(db_url)`` gives every stored record as one pandas DataFrame (:mod:`leaderboard.frames`).
"""

from __future__ import annotations

from typing import Any


def load_frame(db_url: str | None = None) -> Any:
    """Every stored run's records as one ``pandas.DataFrame`` (see :func:`leaderboard.frames.load_frame`); imported
    when called, so that importing a ``leaderboard`` module does not import pandas."""
    from leaderboard.frames import load_frame as load

    return load(db_url)


__all__ = ["load_frame"]
