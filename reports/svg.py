"""A small SVG canvas that knows where each of its texts lies, so that no two texts overlap or leave the image.

Text widths come from the metrics of DejaVu Sans (the font file matplotlib ships, read with its FreeType
wrapper), and every text is drawn in that font first (``'DejaVu Sans', Verdana, …``: the fallbacks are as
wide or narrower), so the box computed here holds what a browser draws. Kerning is ignored, which can only
overestimate a width; a character the font lacks counts as a full em. The canvas records the box of every
text it draws (:attr:`Canvas.texts`): the plots place their labels against those boxes, and the tests check
them. Every string is escaped with :func:`reports.page.esc`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import matplotlib
from matplotlib.ft2font import FT2Font, LoadFlags

from reports.escape import printable
from reports.page import esc
from reports.palette import TEXT_COLOR

FONT_FAMILY = "'DejaVu Sans', Verdana, Geneva, sans-serif"
#: DejaVu Sans's ascent and descent (hhea: 1901 and 483 of 2048 units), rounded up: a text's box.
ASCENT = 0.93
DESCENT = 0.24
#: Slack on every measured width (rounding, hinting, a fallback font slightly wider than the metrics).
WIDTH_SLACK = 1.04


@lru_cache(maxsize=2)
def _font(bold: bool) -> FT2Font:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    font = FT2Font(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name))
    font.set_size(100, 72)  # 100 px: advances below are in em / 100
    return font


@lru_cache(maxsize=8192)
def _advance(char: str, bold: bool) -> float:
    """The advance width of one character, in em."""
    font = _font(bold)
    if font.get_char_index(ord(char)) == 0:
        return 1.0  # not in DejaVu Sans: drawn by a fallback font, count a full em
    glyph = font.load_char(ord(char), flags=LoadFlags.NO_HINTING)
    return glyph.linearHoriAdvance / 65536 / 100


def clean(text: object) -> str:
    """A user string as a plot shows it: printable, on one line, runs of spaces collapsed (as SVG does)."""
    return " ".join(printable(text, one_line=True).split())


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width of ``text`` drawn at ``size`` px, a little overestimated."""
    return sum(_advance(c, bold) for c in text) * size * WIDTH_SLACK + 0.5


def fit_text(text: str, size: float, width: float, bold: bool = False) -> str:
    """``text`` (cleaned, :func:`clean`) shortened with ``…`` until it fits ``width`` px."""
    text = clean(text)
    if text_width(text, size, bold) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        mid = (low + high + 1) // 2
        if text_width(text[:mid] + "…", size, bold) <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + "…"


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in SVG user units (y grows downwards)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def overlaps(self, other: Box, gap: float = 0.0) -> bool:
        """True when the two boxes, each grown by ``gap`` / 2, intersect."""
        return not (
            self.x1 + gap <= other.x0
            or other.x1 + gap <= self.x0
            or self.y1 + gap <= other.y0
            or other.y1 + gap <= self.y0
        )

    def inside(self, other: Box) -> bool:
        return self.x0 >= other.x0 and self.y0 >= other.y0 and self.x1 <= other.x1 and self.y1 <= other.y1

    def distance(self, x: float, y: float) -> float:
        """From the point to the nearest point of the box (0 inside it)."""
        dx = max(self.x0 - x, 0.0, x - self.x1)
        dy = max(self.y0 - y, 0.0, y - self.y1)
        return math.hypot(dx, dy)

    def nearest(self, x: float, y: float) -> tuple[float, float]:
        """The point of the box nearest to (x, y)."""
        return min(max(x, self.x0), self.x1), min(max(y, self.y0), self.y1)


def text_box(x: float, y: float, text: str, size: float, anchor: str = "start", bold: bool = False) -> Box:
    """Where a text drawn with its baseline at (x, y) lies."""
    width = text_width(text, size, bold)
    left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    return Box(left, y - ASCENT * size, left + width, y + DESCENT * size)


def _n(value: float) -> str:
    """A coordinate, short and deterministic."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class Canvas:
    """SVG elements in drawing order, and the box of every text drawn."""

    def __init__(self, width: float) -> None:
        self.width = width
        self.height = 0.0
        self.elements: list[str] = []
        self.texts: list[Box] = []

    def add(self, element: str) -> None:
        """Raw, already safe SVG markup."""
        self.elements.append(element)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        *,
        anchor: str = "start",
        bold: bool = False,
        color: str = TEXT_COLOR,
        cls: str = "",
        vertical: bool = False,
        halo: bool = False,
        title: str | None = None,
    ) -> Box:
        """Draw a text with its baseline at (x, y) (``vertical``: turned to read upwards, centred on (x, y))."""
        text = clean(text)
        attrs = f'x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}"'
        if anchor != "start":
            attrs += f' text-anchor="{anchor}"'
        if bold:
            attrs += ' font-weight="bold"'
        if color != TEXT_COLOR:
            attrs += f' fill="{color}"'
        if cls:
            attrs += f' class="{cls}"'
        if halo:
            attrs += ' stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'
        if vertical:
            attrs += f' transform="rotate(-90 {_n(x)} {_n(y)})"'
            width = text_width(text, size, bold)
            box = Box(x - ASCENT * size, y - width / 2, x + DESCENT * size, y + width / 2)
        else:
            box = text_box(x, y, text, size, anchor, bold)
        inner = esc(text) + (f"<title>{esc(title)}</title>" if title else "")
        self.add(f"<text {attrs}>{inner}</text>")
        self.texts.append(box)
        return box

    def line(
        self, x0: float, y0: float, x1: float, y1: float, color: str, width: float = 1.0, dash: str = ""
    ) -> None:
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(
            f'<path d="M{_n(x0)} {_n(y0)}L{_n(x1)} {_n(y1)}" stroke="{color}" stroke-width="{_n(width)}"{dashes}/>'
        )

    def polyline(
        self, points: list[tuple[float, float]], color: str, width: float = 1.0, dash: str = ""
    ) -> None:
        if len(points) < 2:
            return
        d = "M" + "L".join(f"{_n(x)} {_n(y)}" for x, y in points)
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="{_n(width)}"{dashes}/>')

    def polygon(self, points: list[tuple[float, float]], color: str, opacity: float) -> None:
        if len(points) < 3:
            return
        d = "M" + "L".join(f"{_n(x)} {_n(y)}" for x, y in points) + "Z"
        self.add(f'<path d="{d}" fill="{color}" fill-opacity="{_n(opacity)}" stroke="none"/>')

    def rect(
        self, box: Box, fill: str, *, stroke: str = "none", opacity: float = 1.0, title: str = ""
    ) -> None:
        extra = f' fill-opacity="{_n(opacity)}"' if opacity < 1 else ""
        inner = f"<title>{esc(title)}</title>" if title else ""
        self.add(
            f'<path d="M{_n(box.x0)} {_n(box.y0)}H{_n(box.x1)}V{_n(box.y1)}H{_n(box.x0)}Z" fill="{fill}"{extra} '
            f'stroke="{stroke}">{inner}</path>'
        )

    def marker(
        self,
        x: float,
        y: float,
        shape: str,
        color: str,
        *,
        size: float = 5.0,
        outline: str = "#ffffff",
        title: str = "",
    ) -> None:
        """A filled marker (``circle``, ``square``, ``triangle``, ``diamond``) centred on (x, y)."""
        self.add(
            f'<path d="{marker_path(x, y, shape, size)}" fill="{color}" stroke="{outline}" stroke-width="1">'
            + (f"<title>{esc(title)}</title>" if title else "")
            + "</path>"
        )

    def render(self, label: str, cls: str = "plot") -> str:
        """The whole ``<svg>``, sized to its content; ``label`` is its accessible name."""
        width, height = _n(self.width), _n(math.ceil(self.height))
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{esc(label)}" class="{cls}" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="{FONT_FAMILY}" '
            f'text-rendering="geometricPrecision">' + "".join(self.elements) + "</svg>"
        )


def marker_path(x: float, y: float, shape: str, size: float = 5.0) -> str:
    """The path of a marker of half-size ``size`` centred on (x, y)."""
    s = size
    if shape == "square":
        s *= 0.9
        return f"M{_n(x - s)} {_n(y - s)}H{_n(x + s)}V{_n(y + s)}H{_n(x - s)}Z"
    if shape == "triangle":
        return f"M{_n(x)} {_n(y - s * 1.15)}L{_n(x + s)} {_n(y + s * 0.8)}L{_n(x - s)} {_n(y + s * 0.8)}Z"
    if shape == "diamond":
        return (
            f"M{_n(x)} {_n(y - s * 1.2)}L{_n(x + s)} {_n(y)}L{_n(x)} {_n(y + s * 1.2)}L{_n(x - s)} {_n(y)}Z"
        )
    return f"M{_n(x - s)} {_n(y)}A{_n(s)} {_n(s)} 0 1 0 {_n(x + s)} {_n(y)}A{_n(s)} {_n(s)} 0 1 0 {_n(x - s)} {_n(y)}Z"
