"""Building blocks of reusebench's self-contained HTML pages: the page shell, tables, figures, escaping.

Every page opens offline: CSS and JavaScript are inline, plots are inline SVG, the favicon is a
``data:`` URL (so Chromium asks the network for nothing), and a Content-Security-Policy forbids any
external load. Every string that came from a user (model, task and path names, run ids) passes through
:func:`esc` (``html.escape`` after :func:`reports.escape.printable`, so no control or bidirectional-text
character reaches a page); the small script only reads ``textContent`` and never writes markup. Pages are
written with :func:`write_text_atomic` (a temporary file renamed over the target: never through a link).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.safe_files import write_text_atomic
from reports.escape import printable

__all__ = [
    "CSP", "PAGE_SIGNATURE", "Cell", "CellLike", "esc", "figure", "figures", "num", "page", "table", "write_text_atomic",
]

#: What every page reusebench writes holds near its start: an existing page without it is not overwritten.
PAGE_SIGNATURE = b"<title>reusebench"

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

CSS = """
:root { --fg: #1d232a; --muted: #5b6570; --line: #d9dee3; --head: #f3f5f7; --accent: #2f6fb0; --bad: #b3261e;
        --good: #1b7f3b; --warn: #9a6700; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0;
       padding: 1.5rem 2rem 3rem; max-width: 1400px; }
h1 { font-size: 1.5rem; margin: 0 0 .3rem; } h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom:
     1px solid var(--line); padding-bottom: .2rem; } h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
p, li { max-width: 75rem; } .muted { color: var(--muted); } code { font-size: .92em; background: var(--head);
       padding: 0 .25em; border-radius: 3px; }
nav { margin-bottom: 1rem; } nav a { margin-right: 1rem; }
a { color: var(--accent); }
.table-wrap { overflow-x: auto; margin: .4rem 0 1rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: .28rem .5rem; text-align: left; vertical-align: top; }
td { white-space: nowrap; } td.wrap { white-space: normal; min-width: 14rem; max-width: 30rem; }
th { background: var(--head); white-space: nowrap; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " \\2195"; color: #a0a8b0; font-size: .8em; }
table.sortable th[aria-sort="ascending"]::after { content: " \\2191"; color: var(--fg); }
table.sortable th[aria-sort="descending"]::after { content: " \\2193"; color: var(--fg); }
td.num { text-align: right; white-space: nowrap; }
tr.bad td { background: #fdecea; } tr.good td { background: #eaf6ee; }
.badge { display: inline-block; font-size: .78em; padding: 0 .4em; border-radius: 3px; background: var(--head);
         border: 1px solid var(--line); margin-left: .3em; }
.badge.tie { border-color: var(--warn); color: var(--warn); } .badge.bad { border-color: var(--bad); color: var(--bad); }
.filter { margin: .2rem 0; padding: .25rem .4rem; width: 22rem; max-width: 100%; }
.filter-count { color: var(--muted); margin-left: .6rem; font-size: .9em; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; flex: 1 1 440px; max-width: 640px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: .9em; }
.formula { background: var(--head); border-left: 3px solid var(--accent); padding: .5rem .8rem; }
"""

# Sortable and filterable tables. Reads cell text or data-sort only; never writes markup.
SCRIPT = """
(function () {
  "use strict";
  function key(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var value = cell.getAttribute("data-sort");
    return value !== null ? value : cell.textContent.trim();
  }
  function isNumber(text) { return text !== "" && isFinite(Number(text)); }
  function sortBy(table, index, header) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var headers = table.tHead.rows[0].cells;
    for (var i = 0; i < headers.length; i++) { headers[i].removeAttribute("aria-sort"); }
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, index), y = key(b, index);
      if (x === "" || y === "") { return x === y ? 0 : (x === "" ? 1 : -1); }
      var order = isNumber(x) && isNumber(y) ? Number(x) - Number(y) : x.localeCompare(y);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
      header.tabIndex = 0;
      header.title = "sort";
      header.addEventListener("click", function () { sortBy(table, index, header); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(table, index, header); }
      });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("input.filter"), function (input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    var count = document.getElementById(input.getAttribute("data-table") + "-count");
    if (!table) { return; }
    function apply() {
      var terms = input.value.toLowerCase().split(/\\s+/).filter(function (t) { return t !== ""; });
      var rows = table.tBodies[0].rows, shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var text = rows[i].textContent.toLowerCase();
        var keep = terms.every(function (t) { return text.indexOf(t) !== -1; });
        rows[i].hidden = !keep;
        if (keep) { shown++; }
      }
      if (count) { count.textContent = shown + " of " + rows.length + " rows"; }
    }
    input.addEventListener("input", apply);
    apply();
  });
})();
"""


def esc(value: object) -> str:
    """HTML-escape any value (quotes included), for text and attribute values alike; control and
    bidirectional-text characters become U+FFFD (:func:`reports.escape.printable`)."""
    return html.escape(printable(value), quote=True)


@dataclass(frozen=True)
class Cell:
    """A table cell: ``text`` is escaped unless ``markup`` is true (then it must be pre-escaped HTML)."""

    text: str
    sort: float | str | None = None
    title: str | None = None
    numeric: bool = False
    markup: bool = False
    wrap: bool = False


CellLike = Cell | str | float | int | None


def num(value: float | None, digits: int = 3, suffix: str = "") -> Cell:
    """A right-aligned number cell that sorts by its value; ``–`` (sorted last) when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return Cell("–", sort="", numeric=True)
    return Cell(f"{value:.{digits}f}{suffix}", sort=repr(float(value)), numeric=True)


def _cell_html(cell: CellLike) -> str:
    if cell is None:
        return '<td data-sort="">–</td>'
    if isinstance(cell, bool):
        cell = Cell("yes" if cell else "no")
    elif isinstance(cell, int | float):
        cell = num(float(cell), 0 if isinstance(cell, int) else 3)
    elif isinstance(cell, str):
        cell = Cell(cell)
    attrs = ""
    if cell.sort is not None:
        attrs += f' data-sort="{esc(cell.sort)}"'
    if cell.title:
        attrs += f' title="{esc(cell.title)}"'
    classes = " ".join(c for c, on in (("num", cell.numeric), ("wrap", cell.wrap)) if on)
    if classes:
        attrs += f' class="{classes}"'
    body = cell.text if cell.markup else esc(cell.text)
    return f"<td{attrs}>{body}</td>"


def table(
    table_id: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[CellLike]],
    *,
    row_classes: Sequence[str] | None = None,
    filterable: bool = True,
    sortable: bool = True,
) -> str:
    """A table with a filter box (optional); clicking a header sorts by that column (numbers numerically)."""
    parts = []
    if filterable:
        parts.append(
            f'<div><input class="filter" type="search" placeholder="filter rows…" aria-label="filter rows" '
            f'data-table="{esc(table_id)}"><span class="filter-count" id="{esc(table_id)}-count"></span></div>'
        )
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    body_rows = []
    for index, row in enumerate(rows):
        cls = row_classes[index] if row_classes and row_classes[index] else ""
        cls_attr = f' class="{esc(cls)}"' if cls else ""
        body_rows.append(f"<tr{cls_attr}>" + "".join(_cell_html(c) for c in row) + "</tr>")
    cls = ' class="sortable"' if sortable else ""
    parts.append(
        f'<div class="table-wrap"><table id="{esc(table_id)}"{cls}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body_rows)}</tbody></table></div>"
    )
    return "\n".join(parts)


def figure(svg: str, caption: str) -> str:
    """An inline SVG plot with an (escaped) caption."""
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


def figures(items: Sequence[str]) -> str:
    """Lay several figures out side by side."""
    return '<div class="figures">' + "".join(items) + "</div>" if items else ""


def page(title: str, body: str, *, nav: Sequence[tuple[str, str]] = ()) -> str:
    """A whole self-contained HTML document. ``title`` is escaped; ``body`` must already be safe HTML.

    ``nav`` holds (relative href, label) pairs; both are escaped.
    """
    links = "".join(f'<a href="{esc(href)}">{esc(label)}</a>' for href, label in nav)
    nav_html = f"<nav>{links}</nav>" if links else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{nav_html}\n{body}\n"
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )
