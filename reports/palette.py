"""One colour per export format and one marker per role, for every plot of the report and the leaderboard.

A format keeps its colour on every page (PyTorch blue, ONNX orange, ONNX int8 green, static ONNX int8
pink), so a reader who learnt it on the report finds it again on the leaderboard; roles are told apart by
the marker's shape (teacher: square, student: circle) and, in bar charts, by the fill (teacher: light with
an outline).
Colours are from the Okabe-Ito set, which stays distinguishable with the common colour-vision deficiencies.
"""

from __future__ import annotations

import hashlib

#: Every built-in format's colour.
FORMAT_COLORS: dict[str, str] = {
    "pytorch": "#0072b2",
    "onnx": "#e69f00",
    "onnx-int8": "#009e73",
    "onnx-int8-static": "#cc79a7",
}

#: Colours for formats outside :data:`FORMAT_COLORS` (picked by a stable hash of the name) and series
#: that are no format (e.g. a run's wall time).
EXTRA_COLORS = ["#56b4e9", "#d55e00", "#7f5f3f", "#6f42c1", "#555555", "#b8860b"]

#: Marker shapes by role (see :func:`reports.plots.marker_path`).
ROLE_MARKERS: dict[str, str] = {"teacher": "square", "student": "circle"}
OTHER_MARKER = "triangle"

#: Lines that are not data: the Pareto front, reference lines, axes and grid.
FRONT_COLOR = "#333333"
REFERENCE_COLOR = "#555555"
AXIS_COLOR = "#6b7580"
GRID_COLOR = "#e3e7eb"
TEXT_COLOR = "#1d232a"
MUTED_COLOR = "#5b6570"


def format_color(fmt: str | None) -> str:
    """The colour of a format; an unknown format always gets the same one of :data:`EXTRA_COLORS`."""
    if fmt in FORMAT_COLORS:
        return FORMAT_COLORS[fmt]
    digest = hashlib.sha1(str(fmt or "").encode("utf-8")).digest()
    return EXTRA_COLORS[digest[0] % len(EXTRA_COLORS)]


def role_marker(role: str | None) -> str:
    """The marker shape of a role (``square``, ``circle`` or ``triangle``)."""
    return ROLE_MARKERS.get(str(role or ""), OTHER_MARKER)


def series_color(index: int) -> str:
    """A colour for the ``index``-th series that is not a format."""
    return EXTRA_COLORS[index % len(EXTRA_COLORS)]
