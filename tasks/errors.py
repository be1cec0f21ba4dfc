"""Error types shared by every package.

Every error a user can cause (bad task file, bad data, bad model path, bad flag) is a
:class:`ReusebenchError`. The command line prints its message on one line and exits with code 2;
anything else is a bug and exits with code 1.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TypeVar


class ReusebenchError(Exception):
    """A problem with the user's input: configuration, data, model or command-line value."""


class ConfigError(ReusebenchError):
    """A task or suite definition is malformed or names something that does not exist."""


class DataError(ReusebenchError):
    """A data file or split is missing, empty, or does not match its task definition."""


class ModelError(ReusebenchError):
    """A model path or id cannot be loaded, or does not fit the task."""


def did_you_mean(name: object, choices: Iterable[str]) -> str:
    """A ``" (did you mean 'x'?)"`` hint naming the closest of ``choices``, or ``""`` when none is close."""
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


E = TypeVar("E", bound=Exception)


def unknown_name_error(
    what: str, name: object, allowed: Iterable[str], *, where: str = "", error: type[E] = ConfigError
) -> E:
    """The one-line error for a name that no registry knows, with a "did you mean" hint.

    ``unknown_name_error("task kind", "clasification", ["classification", "ner"])`` gives
    ``ConfigError("unknown task kind 'clasification' (did you mean 'classification'?); allowed values:
    classification, ner")``; ``where`` (a file, a flag) is put in front with ``": "``, and ``error`` chooses the
    exception class (e.g. :class:`ModelError`, or ``ValueError`` for a programming error). Returned, not raised,
    so that the caller's ``raise`` shows where it came from.
    """
    allowed = list(allowed)
    prefix = f"{where}: " if where else ""
    return error(
        f"{prefix}unknown {what} {name!r}{did_you_mean(name, allowed)}; allowed values: {', '.join(allowed)}"
    )
