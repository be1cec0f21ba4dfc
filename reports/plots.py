"""Plots as inline SVG strings (matplotlib, no display needed).

Figures are built with :class:`matplotlib.figure.Figure` directly, never through ``pyplot``: no GUI
backend is ever selected, no global figure list grows, and the Agg/SVG canvases need no display. Text
stays text in the SVG (``svg.fonttype: none``), which keeps pages small and avoids duplicate glyph ids when
several figures share a page; mathtext is off, so a ``$`` in a model name is shown, not parsed. Output is
deterministic (fixed hash salt, no date) so that re-rendering a report changes nothing.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from reports.escape import printable
from reports.page import esc

RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "reusebench",
    "text.parse_math": False,
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
PALETTE = ["#2f6fb0", "#d9730d", "#1b7f3b", "#b3261e", "#6f42c1", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


@dataclass(frozen=True)
class Point:
    """One model on a scatter plot; ``y_low``/``y_high`` draw its confidence interval."""

    label: str
    x: float
    y: float
    group: str = ""
    y_low: float | None = None
    y_high: float | None = None


def pareto_front(points: Sequence[Point]) -> list[Point]:
    """The points no other point beats on both axes (lower x is better, higher y is better), by x."""
    front: list[Point] = []
    best_y = -math.inf
    for point in sorted(points, key=lambda p: (p.x, -p.y)):
        if point.y > best_y:
            front.append(point)
            best_y = point.y
    return front


def _svg(fig: Figure, label: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML declaration and DOCTYPE
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = printable(text)  # labels are user strings: no control or bidirectional-text character in the page
    return text.replace("<svg ", f'<svg role="img" aria-label="{esc(label)}" class="plot" ', 1)


def _figure(width: float = 6.0, height: float = 3.8) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _short(label: str, limit: int = 38) -> str:
    label = printable(label, one_line=True)
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _finish(
    fig: Figure, ax: Any, *, title: str, ylabel: str, empty: bool, legend: bool, xlabel: str | None = None
) -> str:
    """Title and axis labels, "no data" on an empty plot (else the legend, if wanted); the SVG."""
    ax.set_title(_short(title, 80))
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if empty:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    elif legend:
        ax.legend(fontsize=7, loc="best")
    return _svg(fig, title)


def scatter(
    points: Sequence[Point],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    front: bool = False,
    log_x: bool | None = None,
) -> str:
    """A labelled scatter plot with CI error bars, coloured by group; optionally the Pareto front."""
    with matplotlib.rc_context(RC):
        fig = _figure()
        ax = fig.add_subplot()
        groups = list(dict.fromkeys(p.group for p in points))
        for index, group in enumerate(groups):
            members = [p for p in points if p.group == group]
            xs = [p.x for p in members]
            ys = [p.y for p in members]
            low = [p.y - p.y_low if p.y_low is not None else 0.0 for p in members]
            high = [p.y_high - p.y if p.y_high is not None else 0.0 for p in members]
            color = PALETTE[index % len(PALETTE)]
            ax.errorbar(
                xs,
                ys,
                yerr=[[max(v, 0.0) for v in low], [max(v, 0.0) for v in high]],
                fmt=MARKERS[index % len(MARKERS)],
                color=color,
                ecolor=color,
                elinewidth=1,
                capsize=3,
                markersize=6,
                label=_short(group),
                alpha=0.9,
            )
        for p in points:
            ax.annotate(
                _short(p.label, 28), (p.x, p.y), textcoords="offset points", xytext=(5, 4), fontsize=7
            )
        if front and len(points) > 1:
            best = pareto_front(points)
            ax.step(
                [p.x for p in best],
                [p.y for p in best],
                where="post",
                linestyle="--",
                color="#555555",
                linewidth=1,
                label="Pareto front",
            )
        xs_all = [p.x for p in points if p.x > 0]
        if log_x is None:
            log_x = bool(xs_all) and max(xs_all) / min(xs_all) > 20
        if log_x:
            ax.set_xscale("log")
        return _finish(
            fig, ax, title=title, xlabel=xlabel, ylabel=ylabel, empty=not points, legend=groups != [""] or front
        )


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
) -> str:
    """Grouped bars: one group per category, one bar per series (missing values are left out).

    ``y_min`` starts the axis above zero (e.g. retention, where the interesting range is 0.8–1.05).
    """
    with matplotlib.rc_context(RC):
        fig = _figure(6.0, 3.8)
        ax = fig.add_subplot()
        names = list(series)
        width = 0.8 / max(len(names), 1)
        for index, name in enumerate(names):
            xs, ys = [], []
            for position, value in enumerate(series[name]):
                if value is not None and math.isfinite(value):
                    xs.append(position - 0.4 + width * (index + 0.5))
                    ys.append(value)
            ax.bar(xs, ys, width=width * 0.95, color=PALETTE[index % len(PALETTE)], label=_short(name))
        if reference is not None:
            ax.axhline(reference, color="#555555", linestyle="--", linewidth=1, label=reference_label or None)
        ax.set_xticks(
            range(len(categories)),
            [_short(c, 24) for c in categories],
            rotation=20 if len(categories) > 3 else 0,
        )
        if log_y:
            ax.set_yscale("log")
        elif y_min is not None:
            ax.set_ylim(bottom=y_min)
        return _finish(fig, ax, title=title, ylabel=ylabel, empty=not categories, legend=bool(names))


def lines(
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    ylabel: str,
    bands: Mapping[str, Sequence[tuple[float, float] | None]] | None = None,
) -> str:
    """One line per series over ordered x labels (e.g. runs in time); optional CI bands per series."""
    with matplotlib.rc_context(RC):
        fig = _figure(6.5, 3.8)
        ax = fig.add_subplot()
        for index, (name, values) in enumerate(series.items()):
            color = PALETTE[index % len(PALETTE)]
            xs = [i for i, v in enumerate(values) if v is not None]
            ys = [v for v in values if v is not None]
            ax.plot(
                xs, ys, marker=MARKERS[index % len(MARKERS)], color=color, label=_short(name), linewidth=1.2
            )
            band = (bands or {}).get(name)
            if band:
                pairs = [(i, b) for i, b in enumerate(band) if b is not None]
                if pairs:
                    ax.fill_between(
                        [i for i, _ in pairs],
                        [b[0] for _, b in pairs],
                        [b[1] for _, b in pairs],
                        color=color,
                        alpha=0.15,
                        linewidth=0,
                    )
        ax.set_xticks(
            range(len(x_labels)), [_short(x, 20) for x in x_labels], rotation=30 if len(x_labels) > 3 else 0
        )
        return _finish(fig, ax, title=title, ylabel=ylabel, empty=not x_labels, legend=bool(series))
