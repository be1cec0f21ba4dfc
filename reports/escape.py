"""Escaping of user strings (model, task and path names) for Markdown, CSV and HTML output.

Every writer first passes a user string through :func:`printable`: control characters (C0 but tab, newline
and carriage return; DEL; C1), bidirectional-text controls (which can make a name read backwards, e.g.
U+202E), line and paragraph separators and lone surrogates become U+FFFD, so that nothing a results file
holds can reorder, hide or break what a page, a terminal or a spreadsheet shows. HTML escaping is
:func:`reports.page.esc` (``html.escape`` after :func:`printable`).
"""

from __future__ import annotations

import html
import re

# An underscore between two letters or digits (``ag_news``) cannot open or close emphasis in CommonMark, so
# it stays as it is: names read the same in a terminal and on a page.
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
# Cells a spreadsheet would read as a formula (OWASP "CSV injection"), full-width forms included.
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                          "\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LINE_BREAKS = re.compile("[\t\n\r]")
REPLACEMENT = "\ufffd"


def printable(text: object, *, one_line: bool = False) -> str:
    """``str(text)`` with every control, bidirectional-text control and lone surrogate replaced by U+FFFD;
    with ``one_line``, tabs and line breaks become spaces too."""
    value = _UNPRINTABLE.sub(REPLACEMENT, "" if text is None else str(text))
    return _LINE_BREAKS.sub(" ", value) if one_line else value


def md(text: object) -> str:
    """Make a user string inert in Markdown: no markup, no HTML, no table break, one line, printable."""
    value = " ".join(printable(text).split())  # newlines would end a table row
    value = html.escape(value, quote=False)  # < > & (GitHub renders raw HTML in Markdown)
    return _MD_SPECIAL.sub(r"\\\1", value)


def md_code(text: object) -> str:
    """A user string as an inline Markdown code span, shown literally (a code span renders no markup and
    no HTML): fenced by more backticks than any run inside it, on one line, printable."""
    value = " ".join(printable(text).split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def csv_cell(text: object) -> str:
    """A user string for a CSV cell: printable, on one line, and a cell that a spreadsheet would run as a
    formula (starting, after any spaces, with ``= + - @``) is prefixed with ``'`` so that it stays text."""
    value = printable(text, one_line=True)
    return "'" + value if value.lstrip(" ").startswith(_CSV_FORMULA_START) else value
