"""Escaping of user strings (model, task and path names) for Markdown and CSV output.

HTML escaping is :func:`html.escape` (see :func:`reports.page.esc`).
"""

from __future__ import annotations

import html
import re

# An underscore between two letters or digits (``ag_news``) cannot open or close emphasis in CommonMark, so
# it stays as it is: names read the same in a terminal and on a page.
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def md(text: object) -> str:
    """Make a user string inert in Markdown: no markup, no HTML, no table break, one line."""
    value = " ".join(str(text).split())  # newlines would end a table row
    value = html.escape(value, quote=False)  # < > & (GitHub renders raw HTML in Markdown)
    return _MD_SPECIAL.sub(r"\\\1", value)


def md_code(text: object) -> str:
    """A user string as an inline Markdown code span, shown literally (a code span renders no markup and
    no HTML): fenced by more backticks than any run inside it, on one line."""
    value = " ".join(str(text).split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def csv_cell(text: object) -> str:
    """A user string for a CSV cell: a leading ``= + - @`` is quoted so spreadsheets never run it as a formula."""
    value = str(text)
    return "'" + value if value.startswith(_CSV_FORMULA_START) else value
