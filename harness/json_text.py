"""JSON text that stays readable and small: objects and lists of objects are indented two spaces, as
``json.dumps(indent=2)`` writes them, but a list of plain values (or of lists of plain values) is written on one
line. Per-example predictions, scores and latency samples are such lists; one element per line made a results
file of a few thousand eval examples several megabytes of indentation."""

from __future__ import annotations

import json
from typing import Any

_INDENT = "  "


def _is_flat(value: list | tuple) -> bool:
    return not any(isinstance(item, dict | list | tuple) for item in value)


def _is_leaf_list(value: list | tuple) -> bool:
    """A list whose items are scalars or flat lists of scalars (NER's per-word tags): written on one line."""
    return all(not isinstance(item, dict) and (not isinstance(item, list | tuple) or _is_flat(item)) for item in value)


def _scalar(value: Any) -> str:
    return json.dumps(value, allow_nan=False, default=str)


def _key(key: Any) -> str:
    """An object key as ``json.dumps`` writes it (an int, float, bool or None key becomes its JSON text)."""
    return _scalar(key if isinstance(key, str) else next(iter(json.loads(json.dumps({key: None})))))


def _encode(value: Any, depth: int) -> str:
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = _INDENT * (depth + 1)
        items = (f"{inner}{_key(key)}: {_encode(item, depth + 1)}" for key, item in value.items())
        return "{\n" + ",\n".join(items) + "\n" + _INDENT * depth + "}"
    if isinstance(value, list | tuple):
        value = list(value)
        if not value:
            return "[]"
        if _is_leaf_list(value):
            return json.dumps(value, allow_nan=False, default=str)
        inner = _INDENT * (depth + 1)
        return "[\n" + ",\n".join(inner + _encode(item, depth + 1) for item in value) + "\n" + _INDENT * depth + "]"
    return _scalar(value)


def dumps_readable(payload: Any) -> str:
    """``payload`` as JSON text: indented objects, one-line lists of plain values; NaN and infinities refused
    (``ValueError``), values JSON does not know written as their ``str``."""
    return _encode(payload, 0)
