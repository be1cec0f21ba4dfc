"""Field types and error formatting shared by the task and suite models of :mod:`tasks.spec`."""

from __future__ import annotations

import reprlib
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError

from tasks.labels import invisible_characters


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not the boolean {value}")
    return value


def no_control_characters(value: str) -> str:
    """``value`` unchanged, or ``ValueError`` when it holds control or invisible characters (named as U+XXXX)."""
    hidden = invisible_characters(value)
    if hidden:
        raise ValueError(f"{ascii(value)} holds control or invisible characters ({', '.join(hidden)})")
    return value


def no_repeats(values: list[Any] | None, what: str) -> list[Any] | None:
    """``values`` unchanged, or ``ValueError`` naming the entries that appear more than once."""
    if values is not None:
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"lists {what} more than once: {', '.join(repeated)} (each would run twice)")
    return values


#: An integer or a float that refuses ``true``/``false`` (pydantic would read them as 1 and 0).
Int = Annotated[int, BeforeValidator(_not_a_boolean)]
Float = Annotated[float, BeforeValidator(_not_a_boolean)]
#: A non-empty string of at most 4096 characters without control or invisible characters (a path, an id).
Text = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(no_control_characters)]

#: Error types whose message does not show the value at fault (the range and type errors).
_SHOW_INPUT = {
    "finite_number", "greater_than", "greater_than_equal", "less_than", "less_than_equal", "int_parsing",
    "int_from_float", "float_parsing", "int_type", "float_type", "too_short", "too_long", "string_too_short",
    "string_too_long", "bool_parsing", "string_type",
}


def format_validation_error(path: str, error: ValidationError) -> str:
    """One line: ``path: field 'a.b': message; ...`` for every error pydantic found."""
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "literal_error" and "expected" in item.get("ctx", {}):
            message = f"got {reprlib.repr(item.get('input'))}; allowed values: {item['ctx']['expected']}"
        elif item["type"] == "union_tag_invalid":
            tag = item.get("input", {}).get("source") if isinstance(item.get("input"), dict) else None
            message = f"got {reprlib.repr(tag)}; allowed values: builtin, local, hub"
        elif item["type"] == "extra_forbidden":
            message = "unknown field"
        elif item["type"] in _SHOW_INPUT:
            message = f"{message}, got {reprlib.repr(item.get('input'))}"
        parts.append(f"field '{field}': {message}")
    return f"{path}: " + "; ".join(parts)
