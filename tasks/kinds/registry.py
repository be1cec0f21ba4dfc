"""The task-kind registry: a kind is one module whose :class:`~tasks.kinds.base.TaskKind` subclass is
decorated with :func:`register_kind`.

The built-in kinds are listed in :data:`BUILTIN_KINDS` (name -> module) and imported on first use, so that a
lookup imports only what it needs and the registration order never depends on import order. A kind defined
elsewhere (a plugin, a test) registers itself when its module is imported; :mod:`tasks.spec` validates a task
file's ``kind`` against :func:`kind_names` at validation time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, TypeVar

from tasks.errors import unknown_name_error

if TYPE_CHECKING:
    from tasks.kinds.base import TaskKind

#: The built-in kinds, in the order error messages list them: kind name -> the module that registers it.
#: Adding a built-in kind: its module (with ``@register_kind`` on the class) plus one line here.
BUILTIN_KINDS: dict[str, str] = {
    "classification": "tasks.kinds.classification",
    "similarity": "tasks.kinds.similarity",
    "ner": "tasks.kinds.ner",
    "qa": "tasks.kinds.qa",
    "generation": "tasks.kinds.generation",
}

K = TypeVar("K", bound="type[TaskKind]")

_registered: dict[str, type[TaskKind]] = {}


def register_kind(kind: K) -> K:
    """Class decorator: make ``kind`` available under its ``name`` (``get_kind(kind.name)``, ``kind: NAME``).

    Registering the same class twice is harmless; another class under a taken name is a programming error.
    """
    name = getattr(kind, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{kind!r}: a task kind needs a non-empty class attribute 'name'")
    existing = _registered.get(name)
    if existing is not None and existing is not kind:
        raise ValueError(f"task kind {name!r} is registered twice ({existing.__qualname__}, {kind.__qualname__})")
    _registered[name] = kind
    return kind


def unregister_kind(name: str) -> None:
    """Forget the kind registered under ``name`` (tests that register a toy kind clean up with this)."""
    _registered.pop(name, None)


def _import_builtin(name: str) -> None:
    if name not in _registered and name in BUILTIN_KINDS:
        importlib.import_module(BUILTIN_KINDS[name])


def kind_names() -> tuple[str, ...]:
    """Every registered kind: the built-ins in :data:`BUILTIN_KINDS` order, then the others as registered."""
    for name in BUILTIN_KINDS:
        _import_builtin(name)
    builtins = [name for name in BUILTIN_KINDS if name in _registered]
    return tuple(builtins + [name for name in _registered if name not in BUILTIN_KINDS])


def registered_kinds() -> dict[str, type[TaskKind]]:
    """A snapshot of the registry: kind name -> class, in :func:`kind_names` order."""
    return {name: _registered[name] for name in kind_names()}


def kind_class(name: str) -> type[TaskKind]:
    """The class registered under ``name``; an unknown name is a :class:`~tasks.errors.ConfigError` that
    lists the allowed values and suggests the closest one."""
    if isinstance(name, str):
        _import_builtin(name)
    if not isinstance(name, str) or name not in _registered:
        raise unknown_name_error("task kind", name, kind_names())
    return _registered[name]


def get_kind(name: str) -> TaskKind:
    """A fresh instance of the task kind registered under ``name``."""
    return kind_class(name)()
