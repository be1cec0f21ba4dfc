"""Reading and writing the files a user names, without surprises.

* **Reading** (:func:`read_regular_file`): only a regular file (a symbolic link to one is fine), never a
  device (``/dev/zero`` would be read until memory runs out), a FIFO (which would block forever), a socket or
  a folder, and at most ``limit`` bytes. The file is opened with ``O_NONBLOCK`` and checked again on the open
  descriptor, so that a file swapped for a FIFO between the two checks cannot hang the read.
* **Writing** (:func:`write_text_atomic`): a temporary file in the target's own folder, renamed over the
  target. The rename replaces whatever the name was (a symbolic link included) and never writes through it
  onto the link's target; a reader never sees a half-written file.
* **Checking outputs first** (:func:`check_output_dir`, :func:`check_output_file`): what a command will
  write is checked before it stores or writes anything, so that a bad output path costs nothing. An output
  that is a symbolic link, a device, an empty path, or a file where a folder is expected (or the reverse) is
  refused with one line naming the option and the path, and so is an existing file that reusebench did not
  write (it lacks the signature reusebench puts at the start of that kind of file).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from tasks.errors import ReusebenchError
from tasks.files import describe_mode, read_bounded

#: The largest results file any reader accepts (committed runs are under 100 kB).
MAX_RESULTS_BYTES = 64 * 1024 * 1024

def file_kind(mode: int) -> str:
    """What a ``st_mode`` describes, in words (``a FIFO``, ``a character device``...)."""
    return "a symbolic link" if stat.S_ISLNK(mode) else describe_mode(mode)


def read_regular_file(path: Path, *, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; a one-line :class:`ReusebenchError` for a
    missing or unreadable file, anything that is not a regular file, or a larger file. ``what`` names the
    file in messages (``results file``). The one bounded reader is :func:`tasks.files.read_bounded`."""
    return read_bounded(Path(path), limit, ReusebenchError, what)


def _nonempty(text: str | os.PathLike[str] | None, flag: str) -> Path:
    value = "" if text is None else os.fspath(text)
    if not value.strip():
        raise ReusebenchError(f"{flag} {value!r}: an empty path names no output")
    if "\x00" in value:
        raise ReusebenchError(f"{flag} {value!r}: a path cannot hold a NUL character")
    return Path(value)


def _nearest_existing(path: Path, flag: str) -> Path:
    """The closest ancestor of a path that does not exist yet; it must be a writable folder."""
    parent = path.absolute().parent
    while not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ReusebenchError(f"{flag} {path}: cannot be created, {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReusebenchError(f"{flag} {path}: cannot be created, {parent} is not writable")
    return parent


def _existing_output(path: Path, flag: str, hint: str = "") -> os.stat_result | None:
    """The ``lstat`` of an output that exists (never a symbolic link), or None when it can be created."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        _nearest_existing(path, flag)
        return None
    except OSError as exc:
        raise ReusebenchError(f"{flag} {path}: cannot be used: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        raise ReusebenchError(
            f"{flag} {path}: is a symbolic link (to {os.readlink(path)}){hint}; outputs are never written through a link"
        )
    return info


def check_output_dir(text: str | os.PathLike[str] | None, flag: str) -> Path:
    """An output folder, checked before anything is written: an existing real folder that is writable, or
    a path that can be created. Never an empty path, a symbolic link or a file."""
    path = _nonempty(text, flag)
    info = _existing_output(path, flag, "; name the folder itself")
    if info is None:
        return path
    if not stat.S_ISDIR(info.st_mode):
        raise ReusebenchError(f"{flag} {path}: not a folder ({file_kind(info.st_mode)})")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ReusebenchError(f"{flag} {path}: the folder is not writable")
    return path


def _written_by_us(path: Path, signature: bytes) -> bool:
    """Whether an existing file is empty or holds ``signature`` near its start (a file reusebench wrote)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return not head.strip() or signature in head


def check_output_file(text: str | os.PathLike[str] | None, flag: str, *, signature: bytes | None = None) -> Path:
    """An output file, checked before anything is written: absent (its folder can be created) or an existing
    regular file in a writable folder. Never an empty path, a folder, a device, a FIFO or a symbolic link.

    With ``signature`` (what reusebench writes near the start of such a file, e.g. ``b"<title>reusebench"``),
    an existing file must be empty or hold it: a file of the user's is never overwritten."""
    path = _nonempty(text, flag)
    if os.fspath(text).endswith(("/", os.sep)):
        raise ReusebenchError(f"{flag} {path}: names a folder, expected a file")
    info = _existing_output(path, flag)
    if info is None:
        return path
    if not stat.S_ISREG(info.st_mode):
        raise ReusebenchError(f"{flag} {path}: not a regular file ({file_kind(info.st_mode)})")
    if not os.access(path.absolute().parent, os.W_OK | os.X_OK):
        raise ReusebenchError(f"{flag} {path}: its folder is not writable")
    if signature is not None and not _written_by_us(path, signature):
        raise ReusebenchError(
            f"{flag} {path}: exists and was not written by reusebench; it is left as it is (remove it or "
            "choose another path)"
        )
    return path


def write_text_atomic(path: Path, text: str, *, fsync: bool = False) -> None:
    """Write a text file so that a reader (or a browser) never sees it half-written: a temporary file in the
    same folder, renamed over ``path``. A symbolic link at ``path`` is replaced, never written through; a
    folder at ``path`` is refused."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        raise ReusebenchError(f"{path}: is a folder, cannot write a file there")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results and reports are meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
