"""A small named registry with "did you mean" errors, for the harness's extension points.

Executors, student builders and stages each keep one :class:`Registry`; adding one is a call to
:meth:`Registry.register` in the module that defines it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from tasks.errors import ReusebenchError, unknown_name_error

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (``what`` names the kind in error messages, e.g. ``--executor``)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@REGISTRY.register("local")`` adds the decorated object under ``name``."""

        def add(entry: T) -> T:
            self.add(name, entry)
            return entry

        return add

    def add(self, name: str, entry: T) -> None:
        """Add ``entry`` under ``name``; a second entry under the same name is a programming error."""
        if name in self._entries and self._entries[name] is not entry:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self._entries[name] = entry

    def remove(self, name: str) -> None:
        """Forget ``name`` (tests that register a toy entry clean up with this)."""
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        """The entry for ``name``; an unknown name is a one-line error with the allowed values."""
        if name not in self._entries:
            raise unknown_name_error(self.what, name, self.names(), error=ReusebenchError)
        return self._entries[name]

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)
