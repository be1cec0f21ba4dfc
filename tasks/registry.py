"""The catalogue of packaged task and suite definitions, with "did you mean" errors."""

from __future__ import annotations

import stat
from functools import cache
from pathlib import Path

from tasks.errors import ConfigError, did_you_mean
from tasks.spec import SuiteSpec, TaskSpec, load_suite_file, load_task_file

PACKAGE_DIR = Path(__file__).parent
TASK_DIR = PACKAGE_DIR / "definitions"
SUITE_DIR = PACKAGE_DIR / "suites"
#: A task or suite definition is a few hundred bytes; anything above this is not one.
MAX_DEFINITION_BYTES = 1_000_000


@cache
def task_files() -> dict[str, Path]:
    """Packaged task definitions by name (the file stem)."""
    return {p.stem: p for p in sorted(TASK_DIR.glob("*.yaml"))}


@cache
def suite_files() -> dict[str, Path]:
    """Packaged suite definitions by name (the file stem)."""
    return {p.stem: p for p in sorted(SUITE_DIR.glob("*.yaml"))}


def check_definition_file(path: str | Path) -> Path:
    """A task or suite file must be a regular file of at most :data:`MAX_DEFINITION_BYTES`.

    Reading is refused up front for a folder, a device (``/dev/zero`` would never end) or a FIFO.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path}: not a regular file (a task or suite definition is a YAML file)")
    if info.st_size > MAX_DEFINITION_BYTES:
        raise ConfigError(
            f"{path}: {info.st_size} bytes; a task or suite definition is at most {MAX_DEFINITION_BYTES} bytes"
        )
    return path


def _looks_like_path(value: str) -> bool:
    return value.endswith((".yaml", ".yml")) or "/" in value


def get_task(name_or_path: str) -> TaskSpec:
    """A packaged task by name, or a task YAML file by path."""
    if _looks_like_path(name_or_path):
        return load_task_file(check_definition_file(name_or_path))
    files = task_files()
    if name_or_path not in files:
        raise ConfigError(
            f"unknown task {name_or_path!r}{did_you_mean(name_or_path, list(files))}; "
            f"known tasks: {', '.join(files)}"
        )
    spec = load_task_file(files[name_or_path])
    if spec.name != name_or_path:
        raise ConfigError(f"{files[name_or_path]}: field 'name' is {spec.name!r} but the file is {name_or_path!r}")
    return spec


def get_suite(name_or_path: str) -> SuiteSpec:
    """A packaged suite by name, or a suite YAML file by path."""
    if _looks_like_path(name_or_path):
        return load_suite_file(check_definition_file(name_or_path))
    files = suite_files()
    if name_or_path not in files:
        raise ConfigError(
            f"unknown suite {name_or_path!r}{did_you_mean(name_or_path, list(files))}; "
            f"known suites: {', '.join(files)}"
        )
    return load_suite_file(files[name_or_path])
