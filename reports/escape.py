"""Escaping of user strings (model, task and path names) for Markdown and CSV output.

HTML escaping is :func:`html.escape` (see :func:`reports.page.esc`).
"""

from __future__ import annotations

import html
import re

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def md(text: object) -> str:
    """Make a user string inert in Markdown: no markup, no HTML, no table break, one line."""
    value = " ".join(str(text).split())  # newlines would end a table row
    value = html.escape(value, quote=False)  # < > & (GitHub renders raw HTML in Markdown)
    return _MD_SPECIAL.sub(r"\\\1", value)


def csv_cell(text: object) -> str:
    """A user string for a CSV cell: a leading ``= + - @`` is quoted so spreadsheets never run it as a formula."""
    value = str(text)
    return "'" + value if value.startswith(_CSV_FORMULA_START) else value
