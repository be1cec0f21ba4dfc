"""Opening the files a user names, safely: regular files only, bounded reads, paths that stay in their folder.

A task or suite file, or a data file, may be a folder, a FIFO (reading it would hang), ``/dev/zero`` (reading
never ends) or another device; each is refused before it is read, from its ``stat`` (never by reading the
stream). A data path under ``--data-dir`` must still be inside it once its symbolic links are resolved.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TypeVar

from tasks.errors import ReusebenchError

E = TypeVar("E", bound=ReusebenchError)


def describe_mode(mode: int) -> str:
    """What a non-regular file is, in words (``a folder``, ``a FIFO``, ``a character device``...)."""
    for test, words in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return words
    return "not a regular file"


def regular_file_stat(path: Path, error: type[E], what: str = "file") -> os.stat_result:
    """``stat`` of ``path`` (following links) when it is a regular file; else ``error`` naming it and what it is."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL byte
        raise error(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path}: not a regular file ({describe_mode(info.st_mode)}); a {what} must be a regular file")
    return info


def read_bounded(path: Path, max_bytes: int, error: type[E], what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, refused (one line) if it is anything else or over ``max_bytes``.

    The file is opened without blocking (a FIFO swapped in after a ``stat`` cannot hang the open), checked with
    ``fstat`` on the open descriptor, and read at most ``max_bytes + 1`` bytes (a file that grows is refused too).
    """
    regular_file_stat(path, error, what)  # the usual "not found" / "not a regular file" message first
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: not a regular file ({describe_mode(info.st_mode)}); a {what} must be a regular file")
        if info.st_size > max_bytes:
            raise error(f"{path}: {info.st_size} bytes, more than the {max_bytes} bytes a {what} may have")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(descriptor, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(descriptor)
    if size > max_bytes:
        raise error(f"{path}: {size} bytes or more, more than the {max_bytes} bytes a {what} may have")
    return b"".join(chunks)


def resolve_inside(root: Path, relative: str | Path, error: type[E], flag: str = "--data-dir") -> Path:
    """``root / relative``, refused when its symbolic links lead outside ``root`` (resolved too).

    Returns the joined path as the user would name it (not the resolved one), so messages stay readable.
    """
    joined = root / relative
    try:
        base, target = root.resolve(), joined.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a symlink loop on older Pythons
        raise error(f"{joined}: cannot resolve the path: {getattr(exc, 'strerror', None) or exc}") from None
    if target != base and base not in target.parents:
        raise error(f"{joined}: points to {target}, outside {flag} {root} (data paths may not leave it)")
    return joined
