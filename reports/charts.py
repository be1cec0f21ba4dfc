"""Bar and line charts as inline SVG (see :mod:`reports.plots` for what every plot guarantees)."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

from reports import axes
from reports.axes import LegendItem
from reports.layout import WIDTH, category_labels, empty, finish, finite, plot_frame
from reports.palette import REFERENCE_COLOR, series_color
from reports.svg import Box


def bars(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    ylabel: str,
    reference: float | None = None,
    reference_label: str = "",
    log_y: bool = False,
    y_min: float | None = None,
    colors: Mapping[str, str] | None = None,
    light: Collection[str] = (),
) -> str:
    """Grouped bars: one group per category, one bar per series (missing values are left out).

    ``y_min`` starts the axis above zero (e.g. retention, where the interesting range is 0.8–1.05);
    ``colors`` gives series their colour (default: :func:`reports.palette.series_color`), and the series
    in ``light`` are drawn light with an outline (the teacher's, beside its students).
    """
    names = list(series)
    values = [
        v
        for name in names
        for v in series[name]
        if v is not None and math.isfinite(v) and (v > 0 or not log_y)
    ]
    base = None if log_y else (y_min if y_min is not None else min([0.0, *values]))
    extent = (
        values
        + ([reference] if reference is not None and math.isfinite(reference) else [])
        + ([base] if base is not None else [])
    )
    canvas, area, scale = plot_frame(title, ylabel, extent, log=log_y, base=base)
    slot = area.width / max(len(categories), 1)
    width = 0.8 * slot / max(len(names), 1)
    foot = area.y1 if log_y or base is None else scale(0.0 if base < 0 < scale.high else scale.low)
    for index, name in enumerate(names):
        color = (colors or {}).get(name) or series_color(index)
        for position, value in enumerate(series[name]):
            if (
                value is None
                or not math.isfinite(value)
                or position >= len(categories)
                or (log_y and value <= 0)
            ):
                continue
            x = area.x0 + slot * position + 0.1 * slot + width * index
            y = min(max(scale(value), area.y0), area.y1)
            box = Box(x + width * 0.05, min(y, foot), x + width * 0.95, max(y, foot))
            canvas.rect(
                box,
                color,
                stroke=color if name in light else "none",
                opacity=0.35 if name in light else 1,
                title=f"{name}, {categories[position]}: {value:.4g}",
            )
    if reference is not None and math.isfinite(reference) and scale.low <= reference <= scale.high:
        canvas.line(area.x0, scale(reference), area.x1, scale(reference), REFERENCE_COLOR, 1.2, "5 3")
    axes.frame(canvas, area)
    centres = [area.x0 + slot * (i + 0.5) for i in range(len(categories))]
    bottom = category_labels(canvas, categories, centres, slot, area.y1)
    if not categories:
        empty(canvas, area)
    items = [
        LegendItem("bar-light" if n in light else "bar", (colors or {}).get(n) or series_color(i), n)
        for i, n in enumerate(names)
    ]
    if reference is not None:
        items.append(axes.reference_item(reference_label or f"{reference:g}"))
    bottom = axes.legend(canvas, items, area.x0 - 30, WIDTH - 8, bottom)
    return finish(canvas, title, bottom)


def lines(
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    ylabel: str,
    bands: Mapping[str, Sequence[tuple[float, float] | None]] | None = None,
    colors: Mapping[str, str] | None = None,
    markers: Mapping[str, str] | None = None,
) -> str:
    """One line per series over ordered x labels (e.g. runs in time); optional CI bands per series;
    ``colors`` and ``markers`` (``circle``, ``square`` …) per series name."""
    values = [v for vs in series.values() for v in vs if v is not None and math.isfinite(v)]
    for band in (bands or {}).values():
        values += [b for pair in band if pair is not None for b in pair if math.isfinite(b)]
    canvas, area, scale = plot_frame(title, ylabel, values)
    slot = area.width / max(len(x_labels), 1)
    xs = [area.x0 + slot * (i + 0.5) for i in range(len(x_labels))]
    items = []
    for index, (name, points) in enumerate(series.items()):
        color = (colors or {}).get(name) or series_color(index)
        band = (bands or {}).get(name) or []
        pairs = [(xs[i], b) for i, b in enumerate(band[: len(xs)]) if b is not None and finite(*b)]
        if pairs:
            upper = [(x, scale(b[1])) for x, b in pairs]
            lower = [(x, scale(b[0])) for x, b in reversed(pairs)]
            canvas.polygon(upper + lower if len(pairs) > 1 else [], color, 0.15)
        shown = [(xs[i], v) for i, v in enumerate(points[: len(xs)]) if v is not None and math.isfinite(v)]
        canvas.polyline([(x, scale(v)) for x, v in shown], color, 1.4)
        shape = (markers or {}).get(name, "circle")
        for x, v in shown:
            canvas.marker(x, scale(v), shape, color, size=3.5, title=f"{name}: {v:.4g}")
        items.append(LegendItem(f"marker:{shape}" if markers else "line", color, name))
    axes.frame(canvas, area)
    bottom = category_labels(canvas, x_labels, xs, slot, area.y1)
    if not x_labels:
        empty(canvas, area)
    bottom = axes.legend(canvas, items, area.x0 - 30, WIDTH - 8, bottom)
    return finish(canvas, title, bottom)


def stacked_bars(
    categories: Sequence[str],
    segments: Mapping[str, Sequence[float]],
    *,
    title: str,
    ylabel: str,
    colors: Mapping[str, str] | None = None,
) -> str:
    """One bar per category, made of one segment per series stacked in the order of ``segments`` (zero or
    negative values draw nothing); each bar's total is written above it."""
    names = list(segments)
    totals = [sum(max(0.0, segments[n][i]) for n in names if i < len(segments[n])) for i in range(len(categories))]
    canvas, area, scale = plot_frame(title, ylabel, [0.0, *totals], base=0.0)
    slot = area.width / max(len(categories), 1)
    width = 0.6 * slot
    for position, category in enumerate(categories):
        x = area.x0 + slot * position + 0.2 * slot
        bottom = 0.0
        for index, name in enumerate(names):
            value = segments[name][position] if position < len(segments[name]) else 0.0
            if not (math.isfinite(value) and value > 0):
                continue
            top = bottom + value
            color = (colors or {}).get(name) or series_color(index)
            canvas.rect(Box(x, scale(top), x + width, scale(bottom)), color, title=f"{category}, {name}: {value:.1f}")
            bottom = top
        if totals[position] > 0:
            canvas.text(x + width / 2, scale(totals[position]) - 4, f"{totals[position]:.0f}", 10, anchor="middle")
    axes.frame(canvas, area)
    centres = [area.x0 + slot * (i + 0.5) for i in range(len(categories))]
    label_bottom = category_labels(canvas, categories, centres, slot, area.y1)
    if not categories:
        empty(canvas, area)
    items = [LegendItem("bar", (colors or {}).get(n) or series_color(i), n) for i, n in enumerate(names)]
    label_bottom = axes.legend(canvas, items, area.x0 - 30, WIDTH - 8, label_bottom)
    return finish(canvas, title, label_bottom)
