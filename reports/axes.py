"""Axes for the SVG plots: linear and log scales with round ticks, and legends laid out in rows.

A plot is drawn top-down: title, data area, tick labels, axis title, then the legend and any key *below*
the data area (never over a point). Tick labels are thinned until they do not touch each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reports.palette import AXIS_COLOR, FRONT_COLOR, GRID_COLOR, MUTED_COLOR, REFERENCE_COLOR
from reports.svg import ASCENT, DESCENT, Box, Canvas, fit_text, text_width

TICK_SIZE = 10.0
AXIS_TITLE_SIZE = 11.0
LEGEND_SIZE = 10.5
TITLE_SIZE = 13.0
LINE_GAP = 4.0  # between rows of text


def line_height(size: float) -> float:
    return (ASCENT + DESCENT) * size


def _step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if multiple * magnitude >= raw * 0.999:
            return multiple * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _decimals(step: float) -> int:
    return max(
        0,
        -math.floor(math.log10(step) + 1e-9)
        + (1 if round(step / 10 ** math.floor(math.log10(step)), 3) == 2.5 else 0),
    )


@dataclass
class Scale:
    """Data values to pixels along one axis (``reverse``: larger values upwards, for y)."""

    low: float
    high: float
    start: float
    end: float
    log: bool = False

    @classmethod
    def fit(
        cls,
        values: Sequence[float],
        start: float,
        end: float,
        *,
        log: bool = False,
        pad: float = 0.06,
        floor: float | None = None,
    ) -> Scale:
        """A scale holding ``values`` with ``pad`` of the span on each side (not below ``floor``)."""
        finite = [v for v in values if math.isfinite(v) and abs(v) < 1e12 and (v > 0 or not log)]
        if not finite:
            return cls(1.0, 10.0, start, end, True) if log else cls(0.0, 1.0, start, end)
        low, high = min(finite), max(finite)
        if log:
            low, high = math.log10(low), math.log10(high)
        if high - low < 1e-12:
            spread = 0.5 if log else max(abs(high) * 0.05, 0.01)
            low, high = low - spread, high + spread
        span = high - low
        low, high = low - pad * span, high + pad * span
        if log:
            return cls(10**low, 10**high, start, end, True)
        if floor is not None:
            low = max(low, floor)
        return cls(low, high, start, end)

    def __call__(self, value: float) -> float:
        if self.log:
            low, high, value = math.log10(self.low), math.log10(self.high), math.log10(max(value, 1e-300))
        else:
            low, high = self.low, self.high
        return self.start + (value - low) / (high - low) * (self.end - self.start)

    def ticks(self, count: int = 6) -> list[tuple[float, str]]:
        """Round values inside the scale and their labels."""
        if self.log:
            return self._log_ticks()
        step = _step(self.high - self.low, count)
        digits = _decimals(step)
        first = math.ceil(self.low / step - 1e-9)
        values = [(first + i) * step for i in range(int((self.high - self.low) / step) + 2)]
        return [(v, f"{v:.{digits}f}") for v in values if self.low - 1e-9 <= v <= self.high + 1e-9]

    def _log_ticks(self) -> list[tuple[float, str]]:
        decades = math.log10(self.high) - math.log10(self.low)
        subs = (1,) if decades > 4 else (1, 2, 5) if decades > 1.2 else (1, 1.5, 2, 3, 5, 7)
        ticks = []
        for exponent in range(math.floor(math.log10(self.low)) - 1, math.ceil(math.log10(self.high)) + 1):
            for sub in subs:
                value = sub * 10.0**exponent
                if self.low <= value <= self.high:
                    ticks.append((value, f"{value:g}"))
        return ticks


def x_ticks(canvas: Canvas, scale: Scale, top: float, bottom: float, size: float = TICK_SIZE) -> float:
    """Grid lines and tick labels under the data area (thinned until none touch); returns their bottom."""
    ticks = scale.ticks(max(2, int(abs(scale.end - scale.start) / 70)))
    for stride in range(1, len(ticks) + 1):
        chosen = ticks[::stride]
        boxes = [(scale(v), text_width(t, size)) for v, t in chosen]
        if all(a + wa / 2 + 8 <= b - wb / 2 for (a, wa), (b, wb) in zip(boxes, boxes[1:], strict=False)):
            break
    baseline = bottom + 8 + ASCENT * size  # clear of the lowest y tick label
    for value, text in chosen:
        x = scale(value)
        canvas.line(x, top, x, bottom, GRID_COLOR)
        canvas.text(x, baseline, text, size, anchor="middle", color=MUTED_COLOR)
    return baseline + DESCENT * size


def y_tick_labels(scale: Scale, size: float = TICK_SIZE) -> list[tuple[float, str]]:
    ticks = scale.ticks(max(2, int(abs(scale.end - scale.start) / 45)))
    gap = line_height(size) + 4
    kept: list[tuple[float, str]] = []
    for value, text in ticks:
        if not kept or abs(scale(value) - scale(kept[-1][0])) >= gap:
            kept.append((value, text))
    return kept


def y_ticks(
    canvas: Canvas,
    scale: Scale,
    ticks: list[tuple[float, str]],
    left: float,
    right: float,
    size: float = TICK_SIZE,
) -> None:
    """Grid lines across the data area and tick labels left of it."""
    for value, text in ticks:
        y = scale(value)
        canvas.line(left, y, right, y, GRID_COLOR)
        canvas.text(left - 6, y + (ASCENT - DESCENT) * size / 2, text, size, anchor="end", color=MUTED_COLOR)


def frame(canvas: Canvas, box: Box) -> None:
    """The left and bottom axis lines."""
    canvas.polyline([(box.x0, box.y0), (box.x0, box.y1), (box.x1, box.y1)], AXIS_COLOR)


def title(canvas: Canvas, text: str, width: float, top: float = 8.0) -> float:
    """The plot's title, shortened to fit; returns its bottom."""
    shown = fit_text(text, TITLE_SIZE, width - 16, bold=True)
    box = canvas.text(
        8, top + ASCENT * TITLE_SIZE, shown, TITLE_SIZE, bold=True, title=text if shown != text else None
    )
    return box.y1


@dataclass(frozen=True)
class LegendItem:
    """One legend entry: ``kind`` is ``marker:SHAPE``, ``bar``, ``bar-light``, ``line``, ``dashed`` or ``ci``."""

    kind: str
    color: str
    text: str


def _swatch(canvas: Canvas, item: LegendItem, x: float, y: float) -> None:
    """The symbol of an entry, 18 px wide, centred vertically on y."""
    if item.kind.startswith("marker:"):
        canvas.marker(x + 9, y, item.kind.split(":", 1)[1], item.color, size=4.5)
    elif item.kind in ("bar", "bar-light"):
        light = item.kind == "bar-light"
        canvas.rect(
            Box(x + 2, y - 5, x + 16, y + 5),
            item.color,
            stroke=item.color if light else "none",
            opacity=0.35 if light else 1.0,
        )
    elif item.kind == "ci":
        canvas.line(x + 9, y - 6, x + 9, y + 6, item.color)
        canvas.line(x + 6, y - 6, x + 12, y - 6, item.color)
        canvas.line(x + 6, y + 6, x + 12, y + 6, item.color)
    else:
        dash = "5 3" if item.kind == "dashed" else ""
        canvas.line(x, y, x + 18, y, item.color or FRONT_COLOR, 1.6, dash)


def legend(
    canvas: Canvas,
    items: Sequence[LegendItem],
    left: float,
    right: float,
    top: float,
    size: float = LEGEND_SIZE,
) -> float:
    """Entries in rows from ``left`` to ``right`` below ``top``; returns the bottom (``top`` when empty)."""
    if not items:
        return top
    row_height = line_height(size) + LINE_GAP
    x, baseline = left, top + 6 + ASCENT * size
    for item in items:
        text = fit_text(item.text, size, right - left - 24)
        width = 22 + text_width(text, size) + 14
        if x > left and x + width > right:
            x, baseline = left, baseline + row_height
        _swatch(canvas, item, x, baseline - (ASCENT - DESCENT) * size / 2)
        canvas.text(x + 22, baseline, text, size, title=item.text if text != item.text else None)
        x += width
    return baseline + DESCENT * size


def reference_item(label: str) -> LegendItem:
    return LegendItem("dashed", REFERENCE_COLOR, label)
