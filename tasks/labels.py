"""Label names and label values: one rule for every data format.

**Label names** (a task's ``labels``) must be non-empty, without surrounding whitespace, control or invisible
characters (zero-width spaces, bidi marks, soft hyphens...), distinct once Unicode-normalised (NFKC: ``"é"`` and
``"e\\u0301"`` are one label), distinct as numbers (``"1"`` and ``"1.0"``) and at most one spelled ``true``
and one spelled ``false`` (in any case).

**Label values** (a cell of the label column, or one NER tag) map to a label index by their text, whatever
the file format, so that a CSV cell ``1``, a JSON number ``1`` and a JSON string ``"1"`` always mean the same:

1. text equal to a label name (NFC, surrounding whitespace ignored) is that label;
2. a number (an integer or float cell, or text spelling a number such as ``01`` or ``2.0``):
   * when any label name is itself a number (``labels: ["1", "2", "3"]``), the number is a *name*: it maps to
     the label with the same numeric value, and a number that is no label is an error, never an index;
   * otherwise it is an *index* into ``labels``: an integer from 0 to ``len(labels) - 1``;
3. a boolean (``true``/``false`` as JSON, CSV or Parquet reads it, in any case) maps to the label spelled so, if
   there is one; it is never an index. Where the labels spell booleans, an index 0 or 1 that would name another
   label than false or true (``labels: [true, false]``) is ambiguous and an error;
4. anything else (an unknown name, a missing value, NaN, a fraction used as an index, a list) is an error
   naming the file, the row, the column and the value.

A Hub column typed ``ClassLabel`` holds indices into its own names: they are turned into those names first, so
they must be the task's labels (not merely as many of them).
"""

from __future__ import annotations

import math
import numbers
import re
import reprlib
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import numpy as np

from tasks.errors import DataError

NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BOOLEANS = ("true", "false")
#: Shows label lists and values in messages without letting a huge one fill the terminal.
_SHORT = reprlib.Repr()
_SHORT.maxlist, _SHORT.maxstring, _SHORT.maxother = 40, 80, 80
#: Code points that show as nothing (or look like a space) but make two labels differ.
_INVISIBLE = {"\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u3164", "\uffa0"}


def invisible_characters(text: str) -> list[str]:
    """The control, format (zero-width, bidi) and other invisible code points of ``text``, as ``U+XXXX``."""
    found = []
    for char in text:
        category = unicodedata.category(char)
        if (
            category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
            or char in _INVISIBLE
            or "\ufe00" <= char <= "\ufe0f"  # variation selectors
            or "\U000e0100" <= char <= "\U000e01ef"
        ):
            found.append(f"U+{ord(char):04X}")
    return found


def _as_number(text: str) -> Decimal | None:
    if not NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only lets decimal literals through
        return None


def check_label_names(labels: list[str]) -> list[str]:
    """Refuse label lists a data file could not map unambiguously (see the module docstring); ``ValueError``."""
    if len(labels) < 2:
        raise ValueError("needs at least two labels")
    seen: dict[str, str] = {}
    numbers: dict[Decimal, str] = {}
    booleans: dict[str, str] = {}
    for label in labels:
        if not label or label != label.strip():
            raise ValueError(f"label {label!r} is empty or has surrounding whitespace")
        hidden = invisible_characters(label)
        if hidden:
            raise ValueError(f"label {ascii(label)} holds invisible or control characters ({', '.join(hidden)})")
        key = unicodedata.normalize("NFKC", label)
        if key in seen:
            if seen[key] == label:
                raise ValueError(f"labels must be unique, got {label!r} twice")
            raise ValueError(
                f"labels {ascii(seen[key])} and {ascii(label)} are the same text once Unicode-normalised (NFKC)"
            )
        seen[key] = label
        number = _as_number(label)
        if number is not None:
            if number in numbers:
                raise ValueError(f"labels {numbers[number]!r} and {label!r} are the same number")
            numbers[number] = label
        if label.lower() in _BOOLEANS:
            if label.lower() in booleans:
                raise ValueError(f"labels {booleans[label.lower()]!r} and {label!r} both read as a boolean")
            booleans[label.lower()] = label
    return labels


class LabelMap:
    """Maps label values to indices into ``labels`` by the rule of the module docstring."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = list(labels)
        self.shown = _SHORT.repr(self.labels)
        self.by_name = {unicodedata.normalize("NFC", name): i for i, name in enumerate(labels)}
        self.by_number = {n: i for i, name in enumerate(labels) if (n := _as_number(name)) is not None}
        self.by_boolean = {name.lower(): i for i, name in enumerate(labels) if name.lower() in _BOOLEANS}

    def index(self, value: Any, where: str, noun: str = "label") -> int:
        """The index of ``value``; errors start with ``where`` (``"FILE: row N: column 'c'"``) and ``has <noun>``."""
        try:
            return self._index(value)
        except _Refused as refused:
            raise DataError(f"{where} has {noun} {_SHORT.repr(value)}{refused}") from None

    def _index(self, value: Any) -> int:
        if isinstance(value, bool | np.bool_):
            return self._boolean(bool(value))
        if isinstance(value, numbers.Integral):
            return self._number(Decimal(int(value)))
        if isinstance(value, numbers.Real):
            number = float(value)
            if not math.isfinite(number):
                raise _Refused(f", not a finite number; allowed: {self.shown}")
            return self._number(Decimal(repr(number)))
        if isinstance(value, str):
            return self._text(value)
        if value is None:
            raise _Refused(f" (missing): every example needs one; allowed: {self.shown}")
        raise _Refused(f", a {type(value).__name__}, not a label name or index; allowed: {self.shown}")

    def _number(self, number: Decimal) -> int:
        if self.by_number:
            if number in self.by_number:
                return self.by_number[number]
            raise _Refused(f", not one of the labels {self.shown} (the label names are numbers, so a number is "
                           "read as a name, never as an index)")
        if number != number.to_integral_value():
            raise _Refused(f", neither a label name nor an index; allowed: {self.shown}")
        if 0 <= number < len(self.labels):
            index = int(number)
            if index in (0, 1) and self.by_boolean:
                self._same_as_boolean(index)
            return index
        raise _Refused(f" outside the label list (0..{len(self.labels) - 1}: {self.shown})")

    def _same_as_boolean(self, index: int) -> None:
        """0 and 1 also read as false and true: refuse them where that reading names another label."""
        key = "true" if index else "false"
        at_index = self.labels[index].lower()
        if self.by_boolean.get(key, index) != index or (at_index in _BOOLEANS and at_index != key):
            raise _Refused(f", ambiguous: index {index} is {self.labels[index]!r} but {index} also reads as the "
                           f"boolean {key}; write the label names in the file instead")

    def _boolean(self, flag: bool) -> int:
        key = "true" if flag else "false"
        if key in self.by_boolean:
            return self.by_boolean[key]
        raise _Refused(f", a boolean, and no label is named {key!r} (a boolean is never an index); "
                       f"allowed: {self.shown}")

    def _text(self, value: str) -> int:
        key = unicodedata.normalize("NFC", value.strip())
        if key in self.by_name:
            return self.by_name[key]
        number = _as_number(key)
        if number is not None:
            return self._number(number)
        if key.lower() in _BOOLEANS:
            return self._boolean(key.lower() == "true")
        raise _Refused(f"; allowed: {self.shown}")


class _Refused(Exception):
    """Why a label value maps to no label (the tail of the one-line :class:`DataError`)."""


@lru_cache(maxsize=64)
def label_map(labels: tuple[str, ...]) -> LabelMap:
    """The (cached) :class:`LabelMap` of a label list."""
    return LabelMap(labels)


def resolve_label(value: Any, labels: list[str], origin: str, row: int, column: str) -> int:
    """Map one label value to its index in ``labels`` (the module's rule), or fail naming file, row and value."""
    return label_map(tuple(labels)).index(value, f"{origin}: row {row}: column {column!r}")


def class_label_names(split: Any, column: str) -> list[str] | None:
    """The names of ``column`` when ``split`` types it (or its list items) as a ``ClassLabel``, else None."""
    features = getattr(split, "features", None) or {}
    feature = features.get(column) if hasattr(features, "get") else None
    inner = getattr(feature, "feature", None)  # List / Sequence of ClassLabel (NER tags)
    for candidate in (feature, inner):
        names = getattr(candidate, "names", None)
        if type(candidate).__name__ == "ClassLabel" and names:
            return list(names)
    return None


def class_label_value(value: Any, names: list[str] | None) -> Any:
    """A ``ClassLabel`` index turned into its name (other values, and out-of-range indices, unchanged)."""
    if names is not None and isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    return value
