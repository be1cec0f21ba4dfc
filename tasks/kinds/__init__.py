"""Task kinds behind one protocol (:class:`tasks.kinds.base.TaskKind`), found through a registry.

A kind is one module whose class is decorated with :func:`register_kind`; the built-ins are listed in
:data:`tasks.kinds.registry.BUILTIN_KINDS` and imported on first lookup (:func:`get_kind`, :func:`kind_names`).
"""

from __future__ import annotations

from typing import Any

from tasks.kinds.base import EvalOutput, TaskKind
from tasks.kinds.predictor import Predictor
from tasks.kinds.registry import (
    BUILTIN_KINDS,
    get_kind,
    kind_class,
    kind_names,
    register_kind,
    registered_kinds,
    unregister_kind,
)


def __getattr__(name: str) -> Any:
    # ``KINDS`` (name -> class) was a module-level dict; it is now a snapshot of the registry, built on access
    # so that the built-in kinds load only when someone asks for them.
    if name == "KINDS":
        return registered_kinds()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BUILTIN_KINDS",
    "KINDS",
    "EvalOutput",
    "Predictor",
    "TaskKind",
    "get_kind",
    "kind_class",
    "kind_names",
    "register_kind",
    "registered_kinds",
    "unregister_kind",
]
