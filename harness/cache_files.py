"""File-system helpers of the stage cache that never follow a symbolic link: type checks by ``lstat``,
removal that unlinks a link instead of emptying its target, sizes that do not count what links point to,
and a small file written atomically."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any


def is_real_dir(path: Path, kind: Any = stat.S_ISDIR) -> bool:
    """Whether ``path`` is a folder (or what ``kind`` tests for) and not a symbolic link to one."""
    try:
        return bool(kind(path.lstat().st_mode))
    except OSError:
        return False


def is_real_file(path: Path) -> bool:
    """Whether ``path`` is a regular file and not a symbolic link to one."""
    return is_real_dir(path, stat.S_ISREG)


def remove_no_follow(path: Path) -> bool:
    """Remove ``path`` without following a symbolic link (a link is unlinked, its target kept); whether it is gone."""
    try:
        if is_real_dir(path):
            shutil.rmtree(path, ignore_errors=True)  # rmtree unlinks the links inside, never their targets
        else:
            path.unlink()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return not os.path.lexists(path)


def tree_bytes(path: Path) -> int:
    """Bytes of the regular files under ``path`` (symbolic links are neither followed nor counted)."""
    if is_real_file(path):
        return path.lstat().st_size
    total = 0
    for folder, _, files in os.walk(path, followlinks=False):
        total += sum(p.lstat().st_size for name in files if is_real_file(p := Path(folder, name)))
    return total


def modified_before(path: Path, cutoff: float | None) -> bool:
    """Whether ``path`` itself (not a link's target) was last modified before ``cutoff`` (always, when None)."""
    if cutoff is None:
        return True
    try:
        return path.lstat().st_mtime < cutoff
    except OSError:
        return False


def write_small_file_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (a link at ``path`` is replaced)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
