"""Content-addressed cache of stage artifacts (fine-tuned teachers, distilled students, exports).

A stage's key is the SHA-256 of everything its output depends on: its configuration, the keys of
the stages it consumes, the data fingerprint, the seed and the versions of the libraries that
compute it. An entry is written into a temporary folder and renamed into place only when complete,
with a manifest of its files' sizes and hashes; a half-written or corrupted entry is never read
(it is detected, reported and recomputed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

MANIFEST = ".reusebench-entry.json"
# Library versions that change what a stage computes.
KEYED_PACKAGES = ("torch", "transformers", "optimum", "optimum-onnx", "onnx", "onnxruntime", "tokenizers")


def default_cache_dir() -> Path:
    """``$REUSEBENCH_CACHE``, else ``$XDG_CACHE_HOME/reusebench``, else ``~/.cache/reusebench``."""
    if os.environ.get("REUSEBENCH_CACHE"):
        return Path(os.environ["REUSEBENCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reusebench"


def library_versions() -> dict[str, str | None]:
    """The versions of the packages that stage outputs depend on."""
    versions: dict[str, str | None] = {}
    for name in KEYED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def stage_key(stage: str, payload: dict[str, Any]) -> str:
    """The content hash of a stage: its name, its inputs and the library versions."""
    canonical = json.dumps(
        {"stage": stage, "inputs": payload, "libraries": library_versions()}, sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def fingerprint_rows(rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> str:
    """A content hash of a data split (row by row, in order)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, default=str).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:32]


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class CacheEntry:
    """A complete entry: its folder and the metadata stored with it."""

    path: Path
    metadata: dict[str, Any]


class StageCache:
    """Stage artifacts under ``root/<stage>/<key>/``."""

    def __init__(self, root: str | Path | None = None, enabled: bool = True) -> None:
        self.root = Path(root) if root else default_cache_dir()
        self.enabled = enabled
        self.problems: list[str] = []

    def _folder(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def path_for(self, stage: str, key: str) -> Path:
        """Where the entry of ``key`` lives once written."""
        return self._folder(stage, key)

    def has(self, stage: str, key: str) -> bool:
        """Whether a written entry exists (without verifying its files, for planning)."""
        return self.enabled and (self._folder(stage, key) / MANIFEST).is_file()

    def peek_metadata(self, stage: str, key: str) -> dict[str, Any] | None:
        """The metadata of a written entry without verifying its files (for planning), or None."""
        if not self.has(stage, key):
            return None
        try:
            return json.loads((self._folder(stage, key) / MANIFEST).read_text()).get("metadata", {})
        except (OSError, ValueError):
            return None

    def lookup(self, stage: str, key: str) -> CacheEntry | None:
        """The complete, intact entry for ``key``, or None (a corrupted entry is removed and noted)."""
        if not self.enabled:
            return None
        folder = self._folder(stage, key)
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            if folder.exists():  # no manifest: not written to the end
                self._discard(folder, "incomplete entry")
            return None
        try:
            manifest = json.loads(manifest_path.read_text())
            for name, (size, digest) in manifest["files"].items():
                path = folder / name
                if path.stat().st_size != size or _file_digest(path) != digest:
                    raise ValueError(f"{name} does not match its manifest")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._discard(folder, f"corrupted entry ({exc})")
            return None
        return CacheEntry(folder, manifest.get("metadata", {}))

    def _discard(self, folder: Path, why: str) -> None:
        self.problems.append(f"{folder}: {why}; recomputing")
        shutil.rmtree(folder, ignore_errors=True)

    @contextmanager
    def write(self, stage: str, key: str) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Yield a temporary folder and a metadata dict; on success the folder becomes the entry.

        The entry appears with one ``rename``; a crash before it leaves only a temporary folder,
        which is ignored (and removed by :meth:`clean`).
        """
        final = self._folder(stage, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".tmp-{key}-"))
        meta: dict[str, Any] = {}
        try:
            yield tmp, meta
            files = {
                str(p.relative_to(tmp)): [p.stat().st_size, _file_digest(p)]
                for p in sorted(tmp.rglob("*"))
                if p.is_file()
            }
            manifest = {"stage": stage, "key": key, "created": time.time(), "files": files, "metadata": meta}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, default=str))
            if final.exists():  # another run finished the same stage first: keep theirs
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def size_bytes(self) -> int:
        """Bytes used by the cache."""
        if not self.root.exists():
            return 0
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def clean(self, older_than_days: float | None = None) -> int:
        """Remove temporary leftovers and entries older than ``older_than_days`` (all when None)."""
        removed = 0
        if not self.root.exists():
            return 0
        cutoff = time.time() - older_than_days * 86400 if older_than_days is not None else None
        for stage_dir in self.root.iterdir():
            if not stage_dir.is_dir():
                continue
            for entry in stage_dir.iterdir():
                # A temporary folder younger than an hour may belong to a run in progress.
                stale = entry.name.startswith(".tmp-") and entry.stat().st_mtime < time.time() - 3600
                if not entry.name.startswith(".tmp-") and (cutoff is None or entry.stat().st_mtime < cutoff):
                    stale = True
                if stale:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed += 1
        return removed
