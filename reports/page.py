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
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from harness.safe_files import write_text_atomic
from reports.escape import printable

__all__ = [
    "CSP",
    "PAGE_SIGNATURE",
    "Cell",
    "CellLike",
    "esc",
    "figure",
    "figures",
    "num",
    "page",
    "table",
    "write_text_atomic",
]

#: What every page reusebench writes holds near its start: an existing page without it is not overwritten.
PAGE_SIGNATURE = b"<title>reusebench"

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

CSS = """
:root { --fg: #1d232a; --muted: #5b6570; --line: #d9dee3; --head: #f3f5f7; --accent: #2f6fb0; --bad: #b3261e;
        --good: #1b7f3b; --warn: #8a5a00; --warn-bg: #fff7e0; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0;
       padding: 1rem clamp(.6rem, 2.2vw, 2.5rem) 3rem; overflow-wrap: break-word; }
h1 { font-size: 1.5rem; margin: 0 0 .3rem; } h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom:
     1px solid var(--line); padding-bottom: .2rem; } h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
p, li, dd { max-width: 80rem; } .muted { color: var(--muted); } .small { font-size: .88em; }
code { font-size: .92em; background: var(--head); padding: 0 .25em; border-radius: 3px; overflow-wrap: anywhere; }
nav { margin-bottom: 1rem; display: flex; flex-wrap: wrap; gap: .2rem 1rem; } nav a { overflow-wrap: anywhere; }
a { color: var(--accent); }
.table-tools { display: flex; flex-wrap: wrap; align-items: center; gap: .3rem .8rem; margin: .2rem 0; }
.table-wrap { overflow-x: auto; max-width: 100%; margin: .4rem 0 1rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: .28rem .45rem; text-align: left; vertical-align: top; }
td { white-space: nowrap; } td.wrap { white-space: normal; min-width: 12rem; max-width: 30rem; }
th { background: var(--head); vertical-align: bottom; font-weight: 600; white-space: nowrap; }
th.long { white-space: normal; min-width: 6rem; }
th.help { text-decoration: underline dotted #a0a8b0; text-underline-offset: 3px; cursor: help; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " \\2195"; color: #a0a8b0; font-size: .8em; }
table.sortable th[aria-sort="ascending"]::after { content: " \\2191"; color: var(--fg); }
table.sortable th[aria-sort="descending"]::after { content: " \\2193"; color: var(--fg); }
td.num { text-align: right; white-space: nowrap; }
td .sub { display: block; color: var(--muted); font-size: .84em; white-space: nowrap; }
td .note { display: block; color: var(--warn); font-size: .82em; white-space: normal; min-width: 9rem;
           max-width: 18rem; text-align: left; }
table:not(.all-cols) .extra { display: none; }
tr.bad td { background: #fdecea; } tr.good td { background: #eaf6ee; } tr.best td { background: #eef5fc; }
.badge { display: inline-block; font-size: .78em; padding: 0 .4em; border-radius: 3px; background: var(--head);
         border: 1px solid var(--line); margin-left: .3em; }
.badge.tie { border-color: var(--warn); color: var(--warn); } .badge.bad { border-color: var(--bad); color: var(--bad); }
.filter { padding: .25rem .4rem; width: 22rem; max-width: 100%; }
.filter-count { color: var(--muted); font-size: .9em; }
button.cols { font: inherit; font-size: .9em; padding: .15rem .6rem; border: 1px solid var(--line);
              border-radius: 4px; background: #fff; color: var(--accent); cursor: pointer; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 540px), 1fr));
           gap: 1rem 1.5rem; align-items: start; }
figure { margin: 0; min-width: 0; }
figure svg { width: 100%; max-width: 760px; height: auto; display: block; }
figcaption { color: var(--muted); font-size: .9em; max-width: 760px; }
.formula { background: var(--head); border-left: 3px solid var(--accent); padding: .5rem .8rem; }
.callout { border: 1px solid var(--line); border-left: 4px solid var(--accent); border-radius: 4px;
           padding: .4rem .9rem; margin: .6rem 0 1rem; max-width: 80rem; }
.callout.warn { border-left-color: var(--warn); background: var(--warn-bg); }
.callout ul { margin: .3rem 0; padding-left: 1.2rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 19rem), 1fr)); gap: .8rem;
         margin: .6rem 0 1rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; background: #fbfcfd; min-width: 0; }
.card h3 { margin: 0 0 .2rem; font-size: 1rem; } .card .pick { font-weight: 600; overflow-wrap: anywhere; }
.card .fmt { white-space: nowrap; }
.card .nums { display: flex; flex-wrap: wrap; gap: .3rem 1.1rem; margin: .4rem 0; }
.card .nums div { display: flex; flex-direction: column; } .card .big { font-size: 1.3rem; font-weight: 650; }
.card .nums span:last-child { color: var(--muted); font-size: .82em; }
.card p { margin: .3rem 0 0; font-size: .9em; }
.card.none { background: var(--head); }
details.glossary { margin: 2rem 0 1rem; max-width: 80rem; }
details.glossary summary, details.more summary { cursor: pointer; font-weight: 600; }
details.more { margin: 1.5rem 0; }
details.glossary dl { display: grid; grid-template-columns: minmax(7rem, max-content) 1fr; gap: .25rem 1rem; }
details.glossary dt { font-weight: 600; } details.glossary dd { margin: 0; }
@media (max-width: 600px) { details.glossary dl { grid-template-columns: 1fr; } details.glossary dd { margin: 0 0 .4rem; } }
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
      header.title = header.title ? header.title + " (click to sort)" : "click to sort";
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
  Array.prototype.forEach.call(document.querySelectorAll("button.cols"), function (button) {
    var table = document.getElementById(button.getAttribute("data-table"));
    if (!table) { return; }
    var closed = button.textContent, open = button.getAttribute("data-open");
    button.addEventListener("click", function () {
      var shown = table.classList.toggle("all-cols");
      button.setAttribute("aria-pressed", shown ? "true" : "false");
      button.textContent = shown ? open : closed;
    });
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


def _cell_html(cell: CellLike, cls: str = "") -> str:
    if cell is None:
        cell = Cell("–", sort="")
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
    classes = " ".join(c for c, on in (("num", cell.numeric), ("wrap", cell.wrap), (cls, bool(cls))) if on)
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
    extra: Collection[int] = (),
    titles: Sequence[str | None] | None = None,
) -> str:
    """A table with a filter box (optional); clicking a header sorts by that column (numbers numerically).

    ``extra`` holds the indices of less important columns, hidden until the reader presses "show all
    columns" (so that the table fits the page); ``titles`` are header tooltips (escaped)."""
    tools = []
    if filterable:
        tools.append(
            f'<input class="filter" type="search" placeholder="filter rows…" aria-label="filter rows" '
            f'data-table="{esc(table_id)}"><span class="filter-count" id="{esc(table_id)}-count"></span>'
        )
    extra = {i for i in extra if 0 <= i < len(headers)}
    if extra:
        names = ", ".join(headers[i] for i in sorted(extra))
        tools.append(
            f'<button type="button" class="cols" data-table="{esc(table_id)}" aria-pressed="false" '
            f'title="{esc(names)}" data-open="Hide the extra columns">Show all columns (+{len(extra)})</button>'
        )
    parts = [f'<div class="table-tools">{"".join(tools)}</div>'] if tools else []
    head_cells = []
    for index, header in enumerate(headers):
        title = titles[index] if titles and index < len(titles) else None
        attrs = f' title="{esc(title)}"' if title else ""
        flags = (("extra", index in extra), ("long", len(header) > 14), ("help", bool(title)))
        classes = " ".join(c for c, on in flags if on)
        attrs += f' class="{classes}"' if classes else ""
        head_cells.append(f'<th scope="col"{attrs}>{esc(header)}</th>')
    body_rows = []
    for index, row in enumerate(rows):
        cls = row_classes[index] if row_classes and row_classes[index] else ""
        cls_attr = f' class="{esc(cls)}"' if cls else ""
        cells = "".join(_cell_html(c, "extra" if i in extra else "") for i, c in enumerate(row))
        body_rows.append(f"<tr{cls_attr}>{cells}</tr>")
    cls = ' class="sortable"' if sortable else ""
    parts.append(
        f'<div class="table-wrap"><table id="{esc(table_id)}"{cls}><thead><tr>{"".join(head_cells)}</tr></thead>'
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
