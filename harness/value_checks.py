"""Checks of single values in a results file: names, free text, run ids and finite numbers (one-line
:class:`ReusebenchError` naming the field); :mod:`harness.result_checks` applies them to whole runs."""

from __future__ import annotations

import math
import re

from tasks.errors import ReusebenchError

#: Integers beyond this cannot be a measurement (and lose precision as JSON doubles).
MAX_INT = 2**53
#: Integers beyond this cannot be stored in a 64-bit database column at all.
MAX_ANY_INT = 2**63 - 1
MAX_NAME = 200
MAX_TEXT = 10_000
MAX_DEPTH = 64
#: How far a value may stray from a bound (float round-off of the metric libraries), relative to max(1, |x|).
TOLERANCE = 1e-6

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SURROGATES = "\ud800-\udfff"
_BAD_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}{_SURROGATES}]")
_BAD_ANYWHERE = re.compile(f"[\x00{_SURROGATES}]")  # cannot be stored (PostgreSQL) or encoded (UTF-8)
_BAD_IN_NAME = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}{_SURROGATES}\u2028\u2029]")

def short(value: object) -> str:
    """``repr`` of a value, cut to 60 characters (control characters come out escaped)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bad_char(match: re.Match[str]) -> str:
    return f"U+{ord(match.group()):04X}"


def check_text(value: str, where: str, *, limit: int = MAX_TEXT, shown: bool = True) -> None:
    """Free text (a reason, a path, a CPU name): bounded, no control or bidirectional-text characters. Text
    no report shows (``shown=False``: the echoed configuration, whose labels may be any language's) only
    needs to be storable: no NUL, no lone surrogate."""
    if len(value) > limit:
        raise ReusebenchError(f"{where}: a string of {len(value)} characters, more than the {limit} allowed")
    bad = (_BAD_IN_TEXT if shown else _BAD_ANYWHERE).search(value)
    if bad:
        raise ReusebenchError(f"{where}: contains control characters ({_bad_char(bad)} in {short(value)})")


def check_name(value: object, where: str) -> None:
    """A name shown in tables (run id, task, model, metric): a non-empty single line of at most
    :data:`MAX_NAME` characters without control or bidirectional-text characters."""
    if not isinstance(value, str):
        raise ReusebenchError(f"{where}: expected a string, got {short(value)}")
    if not value.strip():
        raise ReusebenchError(f"{where}: is empty")
    bad = _BAD_IN_NAME.search(value)
    if bad:
        raise ReusebenchError(f"{where}: contains control characters ({_bad_char(bad)} in {short(value)})")
    if len(value) > MAX_NAME:
        raise ReusebenchError(f"{where}: longer than {MAX_NAME} characters ({len(value)})")


def check_run_id(run_id: str, where: str) -> None:
    """A run id names a run folder: not empty, no path traversal (``..``), not an absolute path."""
    if not run_id.strip():
        raise ReusebenchError(f"{where}: field 'run_id' is empty")
    check_name(run_id, f"{where}: field 'run_id'")
    parts = re.split(r"[/\\]", run_id)
    if ".." in parts or run_id.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", run_id):
        raise ReusebenchError(f"{where}: field 'run_id' {short(run_id)} would leave its folder (no '..', no absolute path)")


def finite(value: object, where: str, *, low: float = -math.inf, high: float = math.inf) -> None:
    """A number (or None) that is finite, within 2**53 if an integer, and in [low, high] (within
    :data:`TOLERANCE`)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReusebenchError(f"{where}: not a finite number ({short(value)})")
    if isinstance(value, int) and abs(value) > MAX_INT:  # before float(): a huge int would overflow it
        raise ReusebenchError(f"{where}: {short(value)} is out of range")
    if not math.isfinite(value):
        raise ReusebenchError(f"{where}: not a finite number ({short(value)})")
    slack = TOLERANCE * max(1.0, abs(value))
    if value < low - slack:
        raise ReusebenchError(f"{where}: must be ≥ {low:g}, got {value!r}")
    if value > high + slack:
        raise ReusebenchError(f"{where}: must be ≤ {high:g}, got {value!r}")
