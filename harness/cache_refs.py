"""Which stage-cache entries stored runs still refer to: a record's ``artifact`` is the folder of its (model,
format), an entry of the cache (``<root>/<stage>/<key>``) or a folder inside one (``<root>/export/<key>/onnx``).
``cache clean`` asks before it removes such an entry (``reusebench ship`` and a later report need it)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from harness.cache import KNOWN_STAGES, MANIFEST, TMP_ENTRY
from harness.cache_files import is_real_dir, is_real_file, modified_before


def _absolute(path: Path) -> Path:
    """``path`` made absolute and normalised, its links resolved where it exists."""
    try:
        return path.resolve() if os.path.lexists(path) else Path(os.path.normpath(path.absolute()))
    except (OSError, RuntimeError):
        return Path(os.path.normpath(path.absolute()))


def entry_of(artifact: str | os.PathLike[str], root: Path) -> Path | None:
    """The cache entry (``root/<stage>/<key>``, as under ``root``) holding ``artifact``, or None when the
    artifact is not inside a stage folder of this cache."""
    base = _absolute(Path(root))
    try:
        parts = _absolute(Path(artifact)).relative_to(base).parts
    except ValueError:
        return None
    if len(parts) < 2 or parts[0] not in KNOWN_STAGES:
        return None
    return Path(root) / parts[0] / parts[1]


def removable_entries(root: Path, older_than_days: float | None, now: float) -> list[Path]:
    """The complete entries ``StageCache.clean`` would remove (all, or those older than the age)."""
    cutoff = now - older_than_days * 86400 if older_than_days is not None else None
    found = []
    for stage in KNOWN_STAGES:
        folder = Path(root) / stage
        if not is_real_dir(folder):
            continue
        for entry in sorted(folder.iterdir()):
            if TMP_ENTRY.fullmatch(entry.name) or not is_real_dir(entry) or not is_real_file(entry / MANIFEST):
                continue
            if modified_before(entry, cutoff):
                found.append(entry)
    return found


def referenced_entries(
    root: Path, artifacts: Iterable[str], older_than_days: float | None, now: float
) -> list[Path]:
    """The entries a clean of ``root`` would remove that hold one of ``artifacts`` (records' folders)."""
    wanted = {entry for artifact in artifacts if (entry := entry_of(artifact, root)) is not None}
    wanted = {_absolute(e) for e in wanted}
    return [e for e in removable_entries(root, older_than_days, now) if _absolute(e) in wanted]
