"""Content-addressed cache of stage artifacts (fine-tuned teachers, distilled students, exports).

A stage's key is the SHA-256 of everything its output depends on: its configuration, the keys of
the stages it consumes, the data fingerprint, the seed and the versions of the libraries that
compute it. An entry is written into a temporary folder and renamed into place only when complete,
with a manifest of its files' sizes and hashes; a half-written or corrupted entry is never read
(it is detected, reported and recomputed).

A cache root carries a marker file (:data:`CACHE_MARKER`, with a format version), written when
reusebench creates the root or first writes into an empty folder, and nothing is written into or removed
from a folder without it: ``cache clean --cache-dir ~`` refuses instead of emptying the home folder. A
cache made before the marker existed is recognised by its layout (every top-level entry a stage folder
holding only reusebench's entries) and marked then. ``clean`` removes only what reusebench wrote: entry
folders with a manifest, ``.tmp-<key>-`` folders, and the contents of its derived caches
(:data:`DERIVED_DIRS`); it never follows a symbolic link.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.cache_files import (
    is_real_dir,
    is_real_file,
    modified_before,
    remove_no_follow,
    tree_bytes,
    write_small_file_atomic,
)
from tasks.errors import ReusebenchError

MANIFEST = ".reusebench-entry.json"
#: The file that proves a folder is a reusebench stage cache, and its format version.
CACHE_MARKER = ".reusebench-cache"
#: the marker's temporary file while it is written (:func:`harness.cache_files.write_small_file_atomic`)
MARKER_TMP = re.compile(re.escape(CACHE_MARKER) + r"\.[0-9A-Za-z_]+\.tmp")
CACHE_FORMAT = 1
#: The stage folders reusebench writes (the names of ``harness.stages.STAGES``; a test keeps them equal).
KNOWN_STAGES = ("estimate", "finetune", "distill", "adapt", "export", "record")
#: Derived caches reusebench may keep under its root (removed by ``clean``, listed by ``info``).
DERIVED_DIRS = ("datasets",)
#: A temporary entry folder: ``.tmp-<key>-<random suffix>`` (see :meth:`StageCache.write`).
TMP_ENTRY = re.compile(r"\.tmp-[0-9A-Za-z_]+-[0-9A-Za-z_]+")
TMP_GRACE_S = 3600  # a temporary folder younger than this may belong to a run in progress
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


def file_digest(path: Path) -> str:
    """The sha256 of a file (hex), read in 1 MiB blocks: what a cache manifest records per file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_entry(path: Path) -> bool:
    """Whether ``path`` is a folder reusebench wrote: a complete entry (its manifest inside) or a temporary one."""
    return is_real_dir(path) and (bool(TMP_ENTRY.fullmatch(path.name)) or is_real_file(path / MANIFEST))


@dataclass
class CacheEntry:
    """A complete entry: its folder and the metadata stored with it."""

    path: Path
    metadata: dict[str, Any]


class StageCache:
    """Stage artifacts under ``root/<stage>/<key>/``; the root carries :data:`CACHE_MARKER`."""

    def __init__(self, root: str | Path | None = None, enabled: bool = True) -> None:
        self.root = Path(root) if root else default_cache_dir()
        self.enabled = enabled
        self.problems: list[str] = []
        self._state: str | None = None  # what check_root found last

    def _folder(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    # -- the root and its marker ----------------------------------------------------------------------

    def check_root(self) -> str:
        """What the root is: ``missing``, ``empty``, ``marked`` or ``legacy`` (a cache made before the marker).

        Raises :class:`ReusebenchError` for anything else: not a folder, a folder holding anything reusebench
        did not write, or a marker that is not reusebench's or is of a newer format. Writes nothing.
        """
        root = self.root
        if not os.path.lexists(root):
            return "missing"
        if not root.is_dir():
            raise ReusebenchError(f"{root}: not a folder; the stage cache must be a folder")
        try:
            names = sorted(p.name for p in root.iterdir())
        except OSError as exc:
            raise ReusebenchError(f"{root}: cannot read the stage cache: {exc.strerror or exc}") from None
        if not names:
            return "empty"
        if CACHE_MARKER in names:
            self._check_marker(root / CACHE_MARKER)
            return "marked"
        # another process's marker, half-written as its temporary file, is reusebench's: the root is as good as empty
        names = [name for name in names if not MARKER_TMP.fullmatch(name)]
        if not names:
            return "empty"
        foreign = [name for name in names if not self._is_legacy_stage(root / name)]
        if foreign:
            raise ReusebenchError(
                f"{root}: not a reusebench cache (no {CACHE_MARKER} marker, and it holds {foreign[0]!r}, which "
                "reusebench did not write); refusing to write into or remove anything from it: name an empty "
                "or new folder"
            )
        return "legacy"

    def check_for_run(self) -> str:
        """:meth:`check_root`, and for a root that does not exist yet, that it can be created (its nearest
        existing parent is a writable folder): a run learns it before training, not when storing a model."""
        state = self.check_root()
        if state == "missing":
            parent = next(p for p in self.root.absolute().parents if os.path.lexists(p))
            if not parent.is_dir():
                raise ReusebenchError(f"{self.root}: cannot be created: {parent} is not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise ReusebenchError(f"{self.root}: cannot be created: {parent} is not writable")
        return state

    @staticmethod
    def _is_legacy_stage(path: Path) -> bool:
        """A stage folder of a cache made before the marker: a known stage holding only reusebench's entries."""
        if path.name not in KNOWN_STAGES or not is_real_dir(path):
            return False
        try:
            return all(_is_entry(entry) for entry in path.iterdir())
        except OSError:
            return False

    @staticmethod
    def _check_marker(path: Path) -> None:
        """Refuse a marker that is not a small regular file holding reusebench's JSON of a known format."""
        try:
            if not is_real_file(path) or path.lstat().st_size > 4096:
                raise ValueError("not a small regular file")
            data = json.loads(path.read_text(encoding="utf-8"))
            version = data["format"] if isinstance(data, dict) else None
            if not isinstance(version, int) or isinstance(version, bool):
                raise ValueError("no format version")
        except (OSError, ValueError, KeyError) as exc:
            raise ReusebenchError(f"{path}: not a valid reusebench cache marker ({exc})") from None
        if version > CACHE_FORMAT:
            raise ReusebenchError(
                f"{path}: cache format {version} was written by a newer reusebench (this one reads format "
                f"{CACHE_FORMAT}); upgrade reusebench or name another --cache-dir"
            )

    def _verify(self) -> str:
        """:meth:`check_root`, asked again until the root is marked (another process may create it meanwhile)."""
        if self._state != "marked":
            self._state = self.check_root()
        return self._state

    def claim(self) -> None:
        """Before anything is written: create the root (or adopt an empty or pre-marker one) and mark it."""
        if self._verify() == "marked":
            return
        self.root.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"reusebench_cache": True, "format": CACHE_FORMAT, "created": time.time()})
        write_small_file_atomic(self.root / CACHE_MARKER, body + "\n")
        self._state = "marked"

    # -- entries ----------------------------------------------------------------------------------------

    def path_for(self, stage: str, key: str) -> Path:
        """Where the entry of ``key`` lives once written."""
        return self._folder(stage, key)

    def has(self, stage: str, key: str) -> bool:
        """Whether a written entry exists (without verifying its files, for planning)."""
        folder = self._folder(stage, key)
        return self.enabled and is_real_dir(folder) and is_real_file(folder / MANIFEST)

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
        return self.read_written(stage, key)

    def read_written(self, stage: str, key: str) -> CacheEntry | None:
        """:meth:`lookup`, also in a cache that does not reuse entries across runs (``enabled`` false): how a
        run reads back what it wrote itself (its training pass's models, :mod:`harness.training_pass`)."""
        if self._verify() == "missing":
            return None
        folder = self._folder(stage, key)
        if folder.is_symlink() or (os.path.lexists(folder) and not is_real_dir(folder)):
            self.problems.append(f"{folder}: not a folder reusebench wrote (a link or a file); ignored, recomputing")
            return None
        manifest_path = folder / MANIFEST
        if not is_real_file(manifest_path):
            if folder.exists():  # no manifest: not written to the end
                self._discard(folder, "incomplete entry")
            return None
        try:
            manifest = json.loads(manifest_path.read_text())
            for name, (size, digest) in manifest["files"].items():
                path = folder / name
                if path.is_symlink() or path.stat().st_size != size or file_digest(path) != digest:
                    raise ValueError(f"{name} does not match its manifest")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._discard(folder, f"corrupted entry ({exc})")
            return None
        return CacheEntry(folder, manifest.get("metadata", {}))

    def _discard(self, folder: Path, why: str) -> None:
        self.problems.append(f"{folder}: {why}; recomputing")
        remove_no_follow(folder)

    @contextmanager
    def write(self, stage: str, key: str, *, replace: bool = False) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Yield a temporary folder and a metadata dict; on success the folder becomes the entry.

        The entry appears with one ``rename``; a crash before it leaves only a temporary folder,
        which is ignored (and removed by :meth:`clean`). The root is marked first (:meth:`check_root`).
        An entry already there (another run finished the same stage first) is kept, unless ``replace``
        (``--force``: the user asked for this stage to be made again, so the new result replaces it).
        """
        self.claim()
        final = self._folder(stage, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".tmp-{key}-"))
        meta: dict[str, Any] = {}
        try:
            yield tmp, meta
            files = {
                str(p.relative_to(tmp)): [p.stat().st_size, file_digest(p)]
                for p in sorted(tmp.rglob("*"))
                if p.is_file()
            }
            manifest = {"stage": stage, "key": key, "created": time.time(), "files": files, "metadata": meta}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, default=str))
            if is_real_dir(final) and not replace:  # another run finished the same stage first: keep theirs
                shutil.rmtree(tmp, ignore_errors=True)
            elif is_real_dir(final):  # forced: the old entry moves aside (a temporary name), the new one takes its place
                old = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".tmp-{key}-old-"))
                os.replace(final, old / "entry")
                os.replace(tmp, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                if os.path.lexists(final):  # a link or a file where the entry goes: replace it, never follow it
                    final.unlink()
                os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    # -- derived caches, size, clean-up ---------------------------------------------------------------------

    def derived_dir(self, name: str) -> Path:
        """A derived cache folder (one of :data:`DERIVED_DIRS`) under the marked root; ``clean`` empties it."""
        if name not in DERIVED_DIRS:
            raise ValueError(f"unknown derived cache {name!r}; known: {', '.join(DERIVED_DIRS)}")
        self.claim()
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        return folder

    def trim_derived(self, name: str, max_bytes: int) -> int:
        """Remove the oldest items of a derived cache until it holds at most ``max_bytes``; how many went."""
        folder = self.root / name
        if name not in DERIVED_DIRS or not is_real_dir(folder) or self._verify() not in ("marked", "legacy"):
            return 0
        items = sorted(folder.iterdir(), key=lambda p: p.lstat().st_mtime)
        total, removed = sum(tree_bytes(p) for p in items), 0
        for item in items:
            if total <= max_bytes:
                break
            size = tree_bytes(item)
            if remove_no_follow(item):
                total, removed = total - size, removed + 1
        return removed

    def summary(self) -> list[tuple[str, int, int]]:
        """``(folder, items, bytes)`` for each stage folder and derived cache under the (checked) root."""
        if self.check_root() in ("missing", "empty"):
            return []
        rows = []
        for child in sorted(self.root.iterdir()):
            if not is_real_dir(child) or child.name not in (*KNOWN_STAGES, *DERIVED_DIRS):
                continue
            if child.name in DERIVED_DIRS:
                count = sum(1 for _ in child.iterdir())
            else:
                count = sum(1 for e in child.iterdir() if _is_entry(e) and not TMP_ENTRY.fullmatch(e.name))
            rows.append((child.name, count, tree_bytes(child)))
        return rows

    def size_bytes(self) -> int:
        """Bytes held in the stage folders and derived caches (symbolic links are not followed)."""
        return sum(size for _, _, size in self.summary())

    def clean(self, older_than_days: float | None = None) -> int:
        """Remove what reusebench wrote: entries older than ``older_than_days`` (all when None), temporary
        folders older than an hour, and the derived caches' items. Returns how many were removed.

        Refuses (:class:`ReusebenchError`) a root that is not a reusebench cache (:meth:`check_root`) and a
        negative, NaN or infinite age; a pre-marker cache is marked first.
        """
        if older_than_days is not None and not (math.isfinite(older_than_days) and older_than_days >= 0):
            raise ReusebenchError(f"--older-than {older_than_days}: must be a finite number of days ≥ 0")
        state = self.check_root()
        if state in ("missing", "empty"):
            return 0
        self.claim()
        now = time.time()
        cutoff = now - older_than_days * 86400 if older_than_days is not None else None
        removed = 0
        for child in sorted(self.root.iterdir()):
            if not is_real_dir(child):
                continue
            if child.name in KNOWN_STAGES:
                removed += self._clean_stage(child, cutoff, now)
            elif child.name in DERIVED_DIRS:
                items = sorted(child.iterdir())
                removed += sum(1 for item in items if modified_before(item, cutoff) and remove_no_follow(item))
        return removed

    @staticmethod
    def _clean_stage(stage_dir: Path, cutoff: float | None, now: float) -> int:
        """Remove a stage folder's stale entries (only folders reusebench wrote; links are never followed)."""
        removed = 0
        for entry in sorted(stage_dir.iterdir()):
            if not _is_entry(entry):
                continue
            if TMP_ENTRY.fullmatch(entry.name):
                stale = modified_before(entry, now - TMP_GRACE_S)
            else:
                stale = modified_before(entry, cutoff)
            if stale and remove_no_follow(entry):
                removed += 1
        return removed

