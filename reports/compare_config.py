"""Per-metric tolerances of ``compare``: ``--tolerance METRIC=VALUE`` and ``--tolerances FILE.yaml``.

A value is an absolute tolerance in the metric's own units (``accuracy=0.005``, ``bleu=1.5``) or a relative
one (``f1=2%``); a YAML file gives both at once::

    tolerances:
      accuracy: {absolute: 0.005}
      bleu: {absolute: 1.0, relative: 0.02}   # the larger of the two applies

The file is read with the safe YAML loader; unknown keys and negative or non-finite values are one-line errors
naming the file and the field.
"""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reports.compare_scores import Tolerance
from tasks.errors import ReusebenchError
from tasks.fieldtypes import format_validation_error
from tasks.files import read_bounded
from tasks.yamlfile import parse_yaml_text

MAX_TOLERANCE_FILE = 1_000_000


class _ToleranceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    absolute: float | None = Field(None, ge=0, allow_inf_nan=False)
    relative: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)


class _ToleranceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tolerances: dict[str, _ToleranceEntry]


def parse_tolerance(text: str) -> tuple[str, Tolerance]:
    """``METRIC=VALUE`` (absolute) or ``METRIC=VALUE%`` (relative) → (metric, tolerance)."""
    metric, sep, value = text.partition("=")
    metric, value = metric.strip(), value.strip()
    if not sep or not metric or not value:
        raise ReusebenchError(f"--tolerance {text!r}: expected METRIC=VALUE, e.g. accuracy=0.005 or f1=2%")
    relative = value.endswith("%")
    try:
        number = float(value[:-1] if relative else value)
    except ValueError:
        raise ReusebenchError(f"--tolerance {text!r}: {value!r} is not a number") from None
    if not math.isfinite(number) or number < 0 or (relative and number > 100):
        bound = "from 0% to 100%" if relative else "a finite number ≥ 0"
        raise ReusebenchError(f"--tolerance {text!r}: must be {bound}, got {value!r}")
    return metric, Tolerance(relative=number / 100) if relative else Tolerance(absolute=number)


def load_tolerances(path: str | Path) -> dict[str, Tolerance]:
    """The ``tolerances:`` of a YAML file (see the module docstring)."""
    path = Path(path)
    text = read_bounded(path, MAX_TOLERANCE_FILE, ReusebenchError, "tolerances file").decode("utf-8", "replace")
    data = parse_yaml_text(text, path)
    try:
        parsed = _ToleranceFile.model_validate(data)
    except ValidationError as exc:
        raise ReusebenchError(format_validation_error(str(path), exc)) from None
    return {key: Tolerance(entry.absolute, entry.relative) for key, entry in parsed.tolerances.items()}
