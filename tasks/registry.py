"""The catalogue of packaged task and suite definitions, with "did you mean" errors."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from tasks.errors import ConfigError, did_you_mean
from tasks.files import regular_file_stat
from tasks.spec import (
    SuiteSpec,
    TaskSpec,
    is_suite,
    load_suite_file,
    load_task_file,
    load_yaml,
    parse_suite,
    parse_task,
)
from tasks.yamlfile import MAX_DEFINITION_BYTES

PACKAGE_DIR = Path(__file__).parent
TASK_DIR = PACKAGE_DIR / "definitions"
SUITE_DIR = PACKAGE_DIR / "suites"


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

    Reading is refused up front, from ``stat`` alone, for a folder, a device (``/dev/zero`` would never end) or
    a FIFO; :func:`tasks.yamlfile.load_yaml` checks again on the descriptor it reads.
    """
    path = Path(path)
    info = regular_file_stat(path, ConfigError, "task or suite file")
    if info.st_size > MAX_DEFINITION_BYTES:
        raise ConfigError(
            f"{path}: {info.st_size} bytes; a task or suite definition is at most {MAX_DEFINITION_BYTES} bytes"
        )
    return path


def parse_task_list(text: str, flag: str = "--tasks") -> list[str]:
    """The task names or paths of a comma-separated ``--tasks`` value, refusing empty items and repeats.

    ``"sst2, ag_news"`` gives ``["sst2", "ag_news"]``; ``","``, ``""``, ``"sst2,,ag_news"`` and ``"sst2,sst2"``
    are refused with a :class:`ConfigError` naming the flag and the value (no list must mean "the default suite").
    """
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        raise ConfigError(f"{flag} {text!r}: names no task; give one or more task names or files, comma-separated")
    if not all(items):
        raise ConfigError(f"{flag} {text!r}: an empty task name (two commas, or one at an end)")
    repeated = sorted({item for item in items if items.count(item) > 1})
    if repeated:
        raise ConfigError(f"{flag} {text!r}: lists {', '.join(map(repr, repeated))} more than once (it would run twice)")
    return items


def get_tasks(names: Sequence[str], where: str = "--tasks") -> list[TaskSpec]:
    """The task specs of ``names`` (packaged names or files), refusing two that define the same task name.

    ``sentiment`` and ``tasks/definitions/sentiment.yaml`` are one task: run twice, it would write duplicate
    records into the results store.
    """
    specs: list[TaskSpec] = []
    first: dict[str, str] = {}
    for name in names:
        spec = get_task(name)
        if spec.name in first:
            raise ConfigError(
                f"{where}: {first[spec.name]!r} and {name!r} are the same task {spec.name!r} (it would run twice)"
            )
        first[spec.name] = name
        specs.append(spec)
    return specs


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


def get_definition(name_or_path: str) -> TaskSpec | SuiteSpec:
    """A task or a suite, resolved as ``run --tasks`` and ``run --suite`` resolve theirs: a packaged task or suite
    by name (:func:`get_task`, :func:`get_suite`), or a YAML file by path, a suite when it lists ``tasks``
    (and has no ``kind``), else a task. Errors are the ones those functions raise."""
    if _looks_like_path(name_or_path):
        path = check_definition_file(name_or_path)
        data = load_yaml(path)
        return parse_suite(data, str(path)) if is_suite(data) else parse_task(data, str(path))
    tasks, suites = task_files(), suite_files()
    if name_or_path in tasks:
        return get_task(name_or_path)
    if name_or_path in suites:
        return get_suite(name_or_path)
    raise ConfigError(
        f"unknown task or suite {name_or_path!r}{did_you_mean(name_or_path, [*tasks, *suites])}; "
        f"known tasks: {', '.join(tasks)}; known suites: {', '.join(suites)} (a file: a path ending in .yaml)"
    )


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
