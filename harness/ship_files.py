"""The folder ``reusebench ship`` writes: the model's files in the Hugging Face layout plus its model card.

* **What is copied** from the record's folder: the weights (``*.safetensors``, or the ``.onnx`` graphs named as
  optimum's ``ORTModelFor…`` classes look for them: ``model.onnx``, or ``encoder_model.onnx`` and
  ``decoder_model.onnx`` / ``decoder_model_merged.onnx`` for generation), ``config.json``,
  ``generation_config.json``, the tokenizer files, and for ONNX ``ort_config.json`` / ``quantization.json``.
  Nothing else (the stage cache's manifest stays behind). The tokenizer's ``model_max_length`` becomes the
  task's ``max_length``, so that a pipeline truncates inputs where the evaluation did.
* **Where**: ``--out`` must be absent, an empty folder, or a previous ship output (its ``README.md`` holds
  :data:`SHIP_SIGNATURE` and every file in it is one ship writes). Anything else is refused, untouched.
* **How**: into a temporary folder next to ``--out``, renamed into place when complete; a previous ship
  output is swapped out only then (and removed), so a failed ship leaves what was there.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import tempfile
from pathlib import Path

from harness.cache_files import is_real_dir, is_real_file
from harness.safe_files import check_output_dir
from tasks.errors import ReusebenchError

#: Written into every model card a ship writes; how a previous ship output is recognised.
SHIP_SIGNATURE = "<!-- written by reusebench ship -->"
CARD_FILE = "README.md"
WEIGHT_PATTERNS = ("*.safetensors", "model.safetensors.index.json", "*.onnx", "*.onnx_data", "*.onnx.data")
SIDE_FILES = (
    "config.json",
    "generation_config.json",
    "ort_config.json",
    "quantization.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
)
TOKENIZER_CONFIG = "tokenizer_config.json"


def _shipped_name(name: str) -> bool:
    return name in SIDE_FILES or name == CARD_FILE or any(fnmatch.fnmatch(name, p) for p in WEIGHT_PATTERNS)


def files_to_ship(folder: Path) -> list[str]:
    """The names of ``folder``'s files that a ship copies (regular files only, sorted)."""
    return sorted(p.name for p in folder.iterdir() if is_real_file(p) and p.name != CARD_FILE
                  and _shipped_name(p.name))


def is_previous_ship(folder: Path) -> bool:
    """Whether ``folder`` is a ship output: its README.md carries :data:`SHIP_SIGNATURE`."""
    card = folder / CARD_FILE
    if not is_real_file(card):
        return False
    try:
        with card.open("rb") as handle:
            return SHIP_SIGNATURE.encode() in handle.read(8192)
    except OSError:
        return False


def check_ship_out(text: str) -> Path:
    """``--out``, checked before anything is read or written: absent, an empty folder, or a previous ship
    output holding only the files a ship writes. Anything else is a one-line error; nothing is touched."""
    out = check_output_dir(text, "--out")
    if not is_real_dir(out):
        return out
    try:
        names = sorted(p.name for p in out.iterdir())
    except OSError as exc:
        raise ReusebenchError(f"--out {out}: cannot read the folder: {exc.strerror or exc}") from None
    if not names:
        return out
    if not is_previous_ship(out):
        raise ReusebenchError(
            f"--out {out}: the folder is not empty ({names[0]!r}...) and is not an earlier 'reusebench ship' "
            "output; it is left as it is: name a new or empty folder"
        )
    foreign = [n for n in names if not (_shipped_name(n) and is_real_file(out / n))]
    if foreign:
        raise ReusebenchError(
            f"--out {out}: an earlier ship output, but it also holds {foreign[0]!r}, which 'reusebench ship' did "
            "not write; it is left as it is: move that file or name another folder"
        )
    return out


def write_ship(source: Path, out: Path, card: str, max_length: int | None) -> list[str]:
    """Copy the model files of ``source`` and write ``card`` as README.md into ``out`` (checked by
    :func:`check_ship_out`), atomically. Returns the names written."""
    names = files_to_ship(source)
    out = Path(out)
    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.ship-"))
    try:
        for name in names:
            shutil.copyfile(source / name, tmp / name)
            os.chmod(tmp / name, 0o644)
        if max_length and TOKENIZER_CONFIG in names:
            _set_max_length(tmp / TOKENIZER_CONFIG, max_length)
        (tmp / CARD_FILE).write_text(card, encoding="utf-8")
        os.chmod(tmp / CARD_FILE, 0o644)
        os.chmod(tmp, 0o755)
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [*names, CARD_FILE]


def _set_max_length(path: Path, max_length: int) -> None:
    """Make the tokenizer truncate where the evaluation did (pipelines read ``model_max_length``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(data, dict):
        data["model_max_length"] = int(max_length)
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished folder to ``out``: over nothing, an empty folder, or a previous ship output (which is
    moved aside first and removed once the new one is in place)."""
    if not os.path.lexists(out):
        os.rename(tmp, out)
        return
    if not any(out.iterdir()):
        os.replace(tmp, out)  # an empty folder is replaced by the rename
        return
    old = Path(tempfile.mkdtemp(dir=out.absolute().parent, prefix=f".{out.name}.old-"))
    os.rmdir(old)
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
