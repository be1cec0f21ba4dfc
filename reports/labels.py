"""Direct labels for scatter plots, placed greedily so that none overlaps another text or a marker.

Each label tries positions around its point, nearest first (right, left, above, below, then further out
with a leader line back to the point); a position is taken when its box lies inside the data area and
clear of every marker and every label placed before it. Error bars are soft obstacles (a position over one
costs more, but is allowed). A point whose label finds no place near enough gets a number instead, and
the plot lists the numbers in a key below the data area (:func:`reports.plots.scatter`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reports.svg import ASCENT, DESCENT, Box, text_width

#: Space kept between a label and anything else.
GAP = 2.0
#: A label further than this from its point becomes a number in the key.
MAX_LABEL_DISTANCE = 70.0
#: Extra cost of a position that covers an error bar.
SOFT_PENALTY = 30.0


@dataclass(frozen=True)
class Placement:
    """Where a label goes: its box, and whether it needs a leader line back to its point."""

    box: Box
    leader: bool


def label_box(x0: float, y0: float, text: str, size: float) -> Box:
    return Box(x0, y0, x0 + text_width(text, size), y0 + (ASCENT + DESCENT) * size)


def _candidates(x: float, y: float, width: float, height: float, radius: float, reach: float):
    """(cost, x0, y0) of label boxes around the point, nearest first."""
    found = []
    step_y = height / 2
    rows = int(reach / step_y) + 1
    for row in range(-rows, rows + 1):
        dy = row * step_y
        top = y + dy - height / 2
        for column in range(0, int(reach / 10) + 1):
            dx = column * 10
            found.append((x + radius + dx, top, 0.0))  # right of the point
            found.append((x - radius - dx - width, top, 1.5))  # left of it
        for shift in (0.5, 0.2, 0.8):  # above or below it, centred or off-centre
            found.append((x - width * shift, top, 0.5))
    ranked = []
    for x0, y0, penalty in found:
        box = Box(x0, y0, x0 + width, y0 + height)
        distance = box.distance(x, y)
        if distance <= reach:
            ranked.append((distance + penalty, box))
    ranked.sort(key=lambda item: (item[0], item[1].y0, item[1].x0))
    return ranked


def place(
    x: float,
    y: float,
    text: str,
    size: float,
    area: Box,
    hard: Sequence[Box],
    soft: Sequence[Box] = (),
    *,
    reach: float = MAX_LABEL_DISTANCE,
    radius: float = 7.0,
) -> Placement | None:
    """The best free position for one label of ``text`` at point (x, y), or None."""
    width = text_width(text, size)
    height = (ASCENT + DESCENT) * size
    best: tuple[float, Box] | None = None
    for cost, box in _candidates(x, y, width, height, radius, reach):
        if best is not None and cost >= best[0]:
            break
        if not box.inside(area) or any(box.overlaps(other, GAP) for other in hard):
            continue
        cost += SOFT_PENALTY * sum(1 for other in soft if box.overlaps(other))
        if best is None or cost < best[0]:
            best = (cost, box)
    if best is None:
        return None
    box = best[1]
    return Placement(box, leader=box.distance(x, y) > radius + 3)


def baseline(box: Box) -> tuple[float, float]:
    """Where to draw (anchor ``start``) a one-line text whose box is ``box``."""
    size = box.height / (ASCENT + DESCENT)
    return box.x0, box.y0 + ASCENT * size
