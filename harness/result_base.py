"""Base classes of the typed result records (:mod:`harness.result_models`): a str enum that reads as its
plain value, an open model that keeps unknown keys, and a block that writes back only the keys it was given."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer


class StrEnum(str, Enum):
    """A str enum that compares, hashes, prints and reprs as its plain value (``enum.StrEnum`` is 3.11+),
    so that code and messages written for the plain strings read the same."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    def __repr__(self) -> str:
        return repr(str(self.value))


# The custom serializers below would turn NaN and infinities into null in model_dump(mode="json") (where
# plain fields keep them) unless the model being dumped says "constants": save_results must still refuse
# them (allow_nan=False), never write null.
KEEP_NAN = ConfigDict(ser_json_inf_nan="constants")


class OpenModel(BaseModel):
    model_config = ConfigDict(extra="allow", **KEEP_NAN)


def without_unset(model: BaseModel, data: dict[str, Any], optional: frozenset[str]) -> dict[str, Any]:
    """``data`` without the ``optional`` fields the model was not given and never set: fields added after a
    file was written are not written into it when it is read and written back."""
    return {k: v for k, v in data.items() if k not in optional or k in model.model_fields_set}


class GivenKeys(OpenModel):
    """A JSON object with typed known keys: it writes back only the keys it was given (or that were set
    later), so a block read from an older file is written unchanged. Reads like the plain dict it once was
    (``get``, ``[]``, ``keys``, ``items``), for callers written against that."""

    @model_serializer(mode="wrap")
    def _given_keys_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        declared = type(self).model_fields
        return {k: v for k, v in handler(self).items() if k not in declared or k in self.model_fields_set}

    def as_dict(self) -> dict[str, Any]:
        """The keys it holds (given or set; extras included) with their typed values."""
        values = {k: getattr(self, k) for k in type(self).model_fields if k in self.model_fields_set}
        values.update(self.model_extra or {})
        return values

    def get(self, key: str, default: Any = None) -> Any:
        """``block.get("p50")``: the value of a key it holds, else ``default``."""
        return self.as_dict().get(key, default)

    def keys(self) -> list[str]:
        """The keys it holds."""
        return list(self.as_dict())

    def items(self) -> list[tuple[str, Any]]:
        """(key, value) of every key it holds."""
        return list(self.as_dict().items())

    def __getitem__(self, key: str) -> Any:
        values = self.as_dict()
        if key not in values:
            raise KeyError(key)
        return values[key]
