"""The frame every SVG plot shares: the title, the data area with its y axis, the x-axis title, the
category labels under bars or runs, and the finished ``<svg>`` sized to what was drawn."""

from __future__ import annotations

import math
from collections.abc import Sequence

from reports import axes
from reports.axes import AXIS_TITLE_SIZE, Scale, line_height
from reports.palette import MUTED_COLOR
from reports.svg import ASCENT, Box, Canvas, fit_text, text_width

WIDTH = 640.0
PLOT_HEIGHT = 250.0


def finite(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def plot_frame(
    title: str, ylabel: str, values: Sequence[float], *, log: bool = False, base: float | None = None
) -> tuple[Canvas, Box, Scale]:
    """A canvas with the title drawn, the data area and the y scale (starting at ``base`` when given);
    the left margin fits the y tick labels."""
    canvas = Canvas(WIDTH)
    top = axes.title(canvas, title, WIDTH) + 12
    bottom = top + PLOT_HEIGHT
    scale = Scale.fit(values, bottom, top, log=log, floor=base)
    if base is not None and base < scale.high:
        scale.low = base
    ticks = axes.y_tick_labels(scale)
    tick_width = max((text_width(t, axes.TICK_SIZE) for _, t in ticks), default=0.0)
    left = 8 + line_height(AXIS_TITLE_SIZE) + 8 + tick_width + 6
    area = Box(left, top, WIDTH - 28, bottom)
    axes.y_ticks(canvas, scale, ticks, area.x0, area.x1)
    shown = fit_text(ylabel, AXIS_TITLE_SIZE, PLOT_HEIGHT)
    canvas.text(
        8 + ASCENT * AXIS_TITLE_SIZE,
        (top + bottom) / 2,
        shown,
        AXIS_TITLE_SIZE,
        anchor="middle",
        vertical=True,
        color=MUTED_COLOR,
    )
    return canvas, area, scale


def x_title(canvas: Canvas, text: str, area: Box, top: float) -> float:
    shown = fit_text(text, AXIS_TITLE_SIZE, area.width)
    box = canvas.text(
        (area.x0 + area.x1) / 2,
        top + 6 + ASCENT * AXIS_TITLE_SIZE,
        shown,
        AXIS_TITLE_SIZE,
        anchor="middle",
        color=MUTED_COLOR,
    )
    return box.y1


def finish(canvas: Canvas, label: str, bottom: float) -> str:
    canvas.height = bottom + 10
    return canvas.render(label)


def empty(canvas: Canvas, area: Box) -> None:
    canvas.text(
        (area.x0 + area.x1) / 2, (area.y0 + area.y1) / 2, "no data", 12, anchor="middle", color=MUTED_COLOR
    )


def category_labels(
    canvas: Canvas, labels: Sequence[str], centres: Sequence[float], slot: float, top: float
) -> float:
    """Category names under the data area: one row, or two staggered rows when they do not fit; each
    shortened to its room. Returns the bottom."""
    size = axes.TICK_SIZE
    rows = 1 if all(text_width(t, size) <= slot - 6 for t in labels) or len(labels) == 1 else 2
    room = slot - 6 if rows == 1 else 2 * slot - 8
    bottom = top
    for index, (text, x) in enumerate(zip(labels, centres, strict=True)):
        shown = fit_text(text, size, room)
        y = top + 8 + ASCENT * size + (index % rows) * (line_height(size) + 3)
        bottom = max(
            bottom, canvas.text(x, y, shown, size, anchor="middle", title=text if shown != text else None).y1
        )
    return bottom
