"""Plots as inline SVG strings, drawn directly (no plotting library, no display needed; matplotlib only
lends the metrics of its bundled DejaVu Sans, :mod:`reports.svg`).

Every text a plot draws is measured (:mod:`reports.svg`), so none overlaps another and none leaves the
image: the title is shortened to fit, tick labels are thinned, the legend and any numbered key sit below the
data area (never over a point), and a scatter plot's point labels are placed around their points without
collision (:mod:`reports.labels`), with a leader line when moved away, or replaced by a number listed in the
key when there is no room. Colours follow :mod:`reports.palette` (one colour per format, one marker per role)
on every page. Output is deterministic, so re-rendering a report changes nothing; every string is escaped,
and a ``$`` or markup in a name is shown as it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reports import axes
from reports.axes import LegendItem, Scale, line_height
from reports.charts import bars, lines, stacked_bars
from reports.labels import baseline, place
from reports.layout import WIDTH, empty, finite, plot_frame, x_title
from reports.palette import (
    FORMAT_COLORS,
    FRONT_COLOR,
    MUTED_COLOR,
    format_color,
    role_marker,
    series_color,
)
from reports.svg import ASCENT, Box, Canvas, fit_text, text_width

LABEL_SIZE = 10.0
NUMBER_SIZE = 9.5
KEY_SIZE = 10.0
MARKER = 5.0
LEADER_COLOR = "#8a939c"


@dataclass(frozen=True)
class Point:
    """One model on a scatter plot; ``y_low``/``y_high`` draw its confidence interval. ``format`` picks its
    colour and ``role`` its marker (:mod:`reports.palette`); without them, ``group`` picks the colour."""

    label: str
    x: float
    y: float
    group: str = ""
    y_low: float | None = None
    y_high: float | None = None
    format: str | None = None
    role: str | None = None


def pareto_front(points: Sequence[Point]) -> list[Point]:
    """The points no other point beats on both axes (lower x is better, higher y is better), by x."""
    front: list[Point] = []
    best_y = -math.inf
    for point in sorted(points, key=lambda p: (p.x, -p.y)):
        if point.y > best_y:
            front.append(point)
            best_y = point.y
    return front


def _point_style(points: Sequence[Point]) -> tuple[dict[int, str], dict[int, str], list[LegendItem]]:
    """Colour and marker of each point, and the legend entries that explain them."""
    groups = list(dict.fromkeys(p.group for p in points if p.format is None))
    colors, shapes, items = {}, {}, []
    for i, p in enumerate(points):
        colors[i] = format_color(p.format) if p.format is not None else series_color(groups.index(p.group))
        shapes[i] = role_marker(p.role) if p.role is not None else "circle"
    known = list(FORMAT_COLORS)
    formats = sorted(
        {p.format for p in points if p.format is not None},
        key=lambda f: (f not in known, known.index(f) if f in known else 0, f),
    )
    roles = sorted(
        {p.role for p in points if p.role is not None}, key=lambda r: (r != "teacher", r != "student", r)
    )
    items += [LegendItem("marker:circle", format_color(f), f) for f in formats]
    items += [LegendItem(f"marker:{role_marker(r)}", MUTED_COLOR, r) for r in roles]
    items += [LegendItem("marker:circle", series_color(i), g) for i, g in enumerate(groups) if g]
    return colors, shapes, items


def _key(canvas: Canvas, entries: Sequence[tuple[int, str]], left: float, right: float, top: float) -> float:
    """``1  name`` for every numbered point, in columns; returns the bottom."""
    if not entries:
        return top
    header = canvas.text(left, top + 8 + ASCENT * KEY_SIZE, "Numbered points:", KEY_SIZE, bold=True)
    texts = [(str(n), fit_text(name, KEY_SIZE, right - left - 30)) for n, name in entries]
    column = max(text_width(t, KEY_SIZE) for _, t in texts) + 30 + 16
    columns = max(1, int((right - left) // column))
    rows = math.ceil(len(texts) / columns)
    row_height = line_height(KEY_SIZE) + axes.LINE_GAP
    bottom = header.y1
    for i, (number, text) in enumerate(texts):
        x = left + (i // rows) * column
        y = header.y1 + axes.LINE_GAP + ASCENT * KEY_SIZE + (i % rows) * row_height
        canvas.text(x + 20, y, number, KEY_SIZE, anchor="end", bold=True)
        bottom = max(bottom, canvas.text(x + 28, y, text, KEY_SIZE).y1)
    return bottom


def _dodge(at: Sequence[tuple[float, float]], area: Box) -> list[tuple[float, float]]:
    """Nudge apart, sideways, markers that would hide each other (e.g. a model in PyTorch and in ONNX, of
    the same size): by 1.6 marker widths, alternately right and left, staying in the data area."""
    placed: list[tuple[float, float]] = []
    for x, y in at:
        shifts = [0.0] + [sign * step * 1.6 * MARKER for step in range(1, 8) for sign in (1, -1)]
        for shift in shifts:
            nx = x + shift
            clear = all(abs(nx - px) >= 1.2 * MARKER or abs(y - py) >= 1.2 * MARKER for px, py in placed)
            if clear and area.x0 <= nx <= area.x1:
                break
        else:
            nx = x
        placed.append((nx, y))
    return placed


def scatter(
    points: Sequence[Point],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    front: bool = False,
    log_x: bool | None = None,
) -> str:
    """Labelled points with CI error bars (colour: format, marker: role); optionally the Pareto front,
    whose points are outlined."""
    canvas = scatter_canvas(points, title=title, xlabel=xlabel, ylabel=ylabel, front=front, log_x=log_x)
    return canvas.render(title)


def scatter_canvas(
    points: Sequence[Point],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    front: bool = False,
    log_x: bool | None = None,
) -> Canvas:
    """:func:`scatter`, before rendering: the canvas, with the box of every text it holds."""
    points = [p for p in points if finite(p.x, p.y)]
    xs = [p.x for p in points]
    if log_x is None:
        positive = [x for x in xs if x > 0]
        log_x = bool(positive) and len(positive) == len(xs) and max(positive) / min(positive) > 20
    if log_x:
        points = [p for p in points if p.x > 0]
    low = [p.y_low for p in points if finite(p.y_low)]
    high = [p.y_high for p in points if finite(p.y_high)]
    canvas, area, y_scale = plot_frame(title, ylabel, [p.y for p in points] + low + high)  # type: ignore[operator]
    x_scale = Scale.fit([p.x for p in points], area.x0, area.x1, log=log_x)
    ticks_bottom = axes.x_ticks(canvas, x_scale, area.y0, area.y1)
    axes.frame(canvas, area)
    bottom = x_title(canvas, xlabel, area, ticks_bottom)
    colors, shapes, items = _point_style(points)
    at = _dodge([(x_scale(p.x), y_scale(p.y)) for p in points], area)
    best = pareto_front(points) if front and len(points) > 1 else []
    on_front = {id(p) for p in best}
    if best:
        steps: list[tuple[float, float]] = []
        for p in best:
            x, y = x_scale(p.x), y_scale(p.y)
            if steps:
                steps.append((x, steps[-1][1]))
            steps.append((x, y))
        canvas.polyline(steps, FRONT_COLOR, 1.4, "5 3")
    soft = []  # a label may cover these, at a cost: the front's segments and the error bars
    if best:
        for (x0, y0), (x1, y1) in zip(steps, steps[1:], strict=False):
            soft.append(Box(min(x0, x1) - 1.5, min(y0, y1) - 1.5, max(x0, x1) + 1.5, max(y0, y1) + 1.5))
    for i, p in enumerate(points):
        if finite(p.y_low, p.y_high):
            x, y0, y1 = at[i][0], y_scale(p.y_high), y_scale(p.y_low)  # type: ignore[arg-type]
            for segment in ((x, y0, x, y1), (x - 3, y0, x + 3, y0), (x - 3, y1, x + 3, y1)):
                canvas.line(*segment, colors[i], 1.0)
            soft.append(Box(x - 3, y0, x + 3, y1))
    for i, p in enumerate(points):
        outline = FRONT_COLOR if id(p) in on_front else "#ffffff"
        canvas.marker(
            *at[i],
            shapes[i],
            colors[i],
            size=MARKER,
            outline=outline,
            title=f"{p.label}: x = {p.x:.4g}, y = {p.y:.4g}",
        )
    hard = [Box(x - MARKER - 1, y - MARKER - 1, x + MARKER + 1, y + MARKER + 1) for x, y in at]
    order = sorted(
        range(len(points)), key=lambda i: (id(points[i]) not in on_front, -points[i].y, points[i].x)
    )
    numbered: list[tuple[int, str]] = []
    labels: list[tuple[int, Box, bool, str, bool]] = []  # point, box, leader line, text, is a number
    for i in order:
        text = fit_text(points[i].label, LABEL_SIZE, min(300.0, area.width - 20))
        spot = place(*at[i], text, LABEL_SIZE, area, hard, soft)
        if spot is None:
            numbered.append((i, points[i].label))
            continue
        hard.append(spot.box)
        labels.append((i, spot.box, spot.leader, text, False))
    for n, (i, _) in enumerate(numbered, start=1):
        spot = place(*at[i], str(n), NUMBER_SIZE, area, hard, soft, reach=36) or place(
            *at[i], str(n), NUMBER_SIZE, area, hard, soft, reach=area.width
        )
        if spot is not None:
            hard.append(spot.box)
            labels.append((i, spot.box, spot.leader, str(n), True))
    for i, box, leader, _, _ in labels:
        if leader:
            x, y = at[i]
            nx, ny = box.nearest(x, y)
            length = math.hypot(nx - x, ny - y) or 1.0
            canvas.line(
                x + (nx - x) * MARKER / length, y + (ny - y) * MARKER / length, nx, ny, LEADER_COLOR, 0.8
            )
    for i, box, _, text, number in labels:
        size = NUMBER_SIZE if number else LABEL_SIZE
        canvas.text(
            *baseline(box),
            text,
            size,
            bold=number,
            halo=True,
            cls="point-label",
            title=points[i].label if text != points[i].label else None,
        )
    if not points:
        empty(canvas, area)
    if any(finite(p.y_low, p.y_high) for p in points):
        items.append(LegendItem("ci", MUTED_COLOR, "95 % CI"))
    if best:
        items.append(LegendItem("dashed", FRONT_COLOR, "Pareto front (outlined points)"))
    bottom = axes.legend(canvas, items, area.x0 - 30, WIDTH - 8, bottom)
    bottom = _key(
        canvas,
        [(n, points[i].label) for n, (i, _) in enumerate(numbered, start=1)],
        area.x0 - 30,
        WIDTH - 8,
        bottom,
    )
    canvas.height = bottom + 10
    return canvas


__all__ = ["Point", "bars", "lines", "pareto_front", "scatter", "scatter_canvas", "stacked_bars"]
