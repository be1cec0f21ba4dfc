"""Load a task's raw train and eval splits from the built-in generator, local files or the Hub.

Caps (``--max-train``, ``--max-eval``) keep a seeded random subset, so the same cap always
selects the same examples whatever the file order, and a smaller cap is a subset of a larger one.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import datasets

from tasks.errors import DataError
from tasks.files import regular_file_stat, resolve_inside
from tasks.spec import BuiltinSource, HubSource, LocalSource, TaskSpec

# Examples are selected with this seed whatever the training seed, so that changing the training
# seed never changes which examples are evaluated.
CAP_SEED = 0

_FORMAT_BY_SUFFIX = {
    ".jsonl": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".txt": "conll",
    ".conll": "conll",
}


@dataclass(frozen=True)
class RawSplits:
    """The two splits of a task before tokenization, and where they came from."""

    train: datasets.Dataset
    eval: datasets.Dataset
    train_origin: str
    eval_origin: str


def cap(dataset: datasets.Dataset, limit: int | None) -> datasets.Dataset:
    """Keep a seeded random subset of at most ``limit`` rows (all rows when ``limit`` is None)."""
    if limit is None or limit >= len(dataset):
        return dataset
    if limit <= 0:
        raise DataError(f"a cap must be a positive number of examples, got {limit}")
    # In memory: on a memory-mapped (Hub) dataset these steps would otherwise write cache files next to it.
    shuffled = dataset.shuffle(seed=CAP_SEED, keep_in_memory=True)
    return shuffled.select(range(limit), keep_in_memory=True).flatten_indices(keep_in_memory=True)


def _read_conll(path: Path) -> datasets.Dataset:
    """CoNLL column text: one token per line, the tag in the last column, blank lines between sentences."""
    tokens: list[list[str]] = []
    tags: list[list[str]] = []
    current_tokens: list[str] = []
    current_tags: list[str] = []
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8").strip()
                except UnicodeDecodeError as exc:
                    raise DataError(f"{path}:{number}: not UTF-8 text ({exc.reason})") from None
                if not line or line.startswith("-DOCSTART-"):
                    if current_tokens:
                        tokens.append(current_tokens)
                        tags.append(current_tags)
                        current_tokens, current_tags = [], []
                    continue
                columns = line.split()
                if len(columns) < 2:
                    raise DataError(f"{path}:{number}: expected 'TOKEN ... TAG' columns, got {line[:60]!r}")
                current_tokens.append(columns[0])
                current_tags.append(columns[-1])
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if current_tokens:
        tokens.append(current_tokens)
        tags.append(current_tags)
    return datasets.Dataset.from_dict({"tokens": tokens, "ner_tags": tags})


def read_local_file(path: Path, file_format: str = "auto") -> datasets.Dataset:
    """Read one local data file into an in-memory Dataset; the format comes from the suffix unless given.

    Only a regular file is read (a folder, FIFO or device is refused at once). Nothing is left behind: the
    Arrow copy ``datasets`` builds goes to a temporary folder that is removed once the rows are in memory, so
    neither the Hugging Face datasets cache nor any other folder grows by the file's size on each run.
    """
    size = regular_file_stat(path, DataError, "data file").st_size
    if file_format == "auto":
        file_format = _FORMAT_BY_SUFFIX.get(path.suffix.lower(), "")
        if not file_format:
            raise DataError(
                f"{path}: cannot tell the format from the suffix {path.suffix!r}; "
                f"allowed suffixes: {', '.join(_FORMAT_BY_SUFFIX)}"
            )
    if file_format == "conll":
        return _read_conll(path)
    if size == 0:
        raise DataError(f"{path}: the file is empty")
    if file_format == "jsonl":
        _check_json_lines(path)
    elif file_format == "json":
        _check_json_document(path)
    builder = {"jsonl": "json", "json": "json", "csv": "csv", "tsv": "csv", "parquet": "parquet"}[file_format]
    kwargs = {"delimiter": "\t"} if file_format == "tsv" else {}
    try:
        scratch = tempfile.TemporaryDirectory(prefix="reusebench-data-", ignore_cleanup_errors=True)
        with _quiet_datasets(), scratch as cache_dir:
            return datasets.load_dataset(
                builder, data_files=str(path), split="train", cache_dir=cache_dir, keep_in_memory=True, **kwargs
            )
    except Exception as exc:  # datasets raises many types for malformed files
        while "error occurred while generating the dataset" in str(exc) and exc.__cause__ is not None:
            exc = exc.__cause__  # datasets' DatasetGenerationError wraps the parser's own message
        message = " ".join(str(exc).split())[:300] if str(exc).strip() else type(exc).__name__
        if "corresponds to no data" in message:  # e.g. a CSV holding only its header line
            raise DataError(f"{path}: the file holds no data rows") from None
        raise DataError(f"{path}: cannot read as {file_format}: {message}") from None


def _check_json_lines(path: Path) -> None:
    """Every non-blank line must be one JSON object (pyarrow 26 crashes the process on a first line ``null``)."""
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
                except UnicodeDecodeError as exc:
                    raise DataError(f"{path}:{number}: not UTF-8 text ({exc.reason})") from None
                if not line:
                    continue
                try:
                    value = json.loads(line)
                except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
                    raise DataError(f"{path}:{number}: invalid JSON: {exc}") from None
                except RecursionError:
                    raise DataError(f"{path}:{number}: invalid JSON: nested too deeply") from None
                if not isinstance(value, dict):
                    raise DataError(
                        f"{path}:{number}: expected one JSON object per line, got {type(value).__name__} "
                        f"{line[:40]!r}"
                    )
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _check_json_document(path: Path) -> None:
    """A JSON file must start with an object or an array (a top-level ``null`` crashes pyarrow)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first not in (b"{", b"["):
        raise DataError(f"{path}: expected a JSON object or array (or JSON Lines), got {head[:20]!r}")


@contextlib.contextmanager
def _quiet_datasets() -> Iterator[None]:
    """No progress bars or error logs from ``datasets`` while reading a local file (errors are raised)."""
    was_enabled = datasets.is_progress_bar_enabled()
    verbosity = datasets.logging.get_verbosity()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)  # its "Failed to load JSON" log: we raise instead
    try:
        yield
    finally:
        datasets.logging.set_verbosity(verbosity)
        if was_enabled:
            datasets.enable_progress_bars()


def _load_builtin(source: BuiltinSource, task_name: str) -> RawSplits:
    from tasks.builtin import GENERATORS

    if source.generator not in GENERATORS:
        raise DataError(
            f"task {task_name!r}: field 'data.generator': unknown built-in generator {source.generator!r}; "
            f"allowed values: {', '.join(GENERATORS)}"
        )
    splits = GENERATORS[source.generator](source.train_size, source.eval_size, source.seed)
    origin = f"builtin:{source.generator}(seed={source.seed})"
    return RawSplits(
        train=datasets.Dataset.from_list(splits["train"]),
        eval=datasets.Dataset.from_list(splits["validation"]),
        train_origin=f"{origin}/train",
        eval_origin=f"{origin}/validation",
    )


def _load_local(source: LocalSource, data_dir: str | Path | None, task_name: str) -> RawSplits:
    if data_dir is None:
        raise DataError(f"task {task_name!r} reads local files: pass --data-dir (the folder holding {source.path}/)")
    root = Path(data_dir)
    folder = resolve_inside(root, source.path, DataError)
    if not folder.is_dir():
        raise DataError(f"{folder}: data folder for task {task_name!r} not found (check --data-dir)")
    train_path = resolve_inside(root, Path(source.path) / source.train, DataError)
    eval_path = resolve_inside(root, Path(source.path) / source.eval, DataError)
    return RawSplits(
        train=read_local_file(train_path, source.format),
        eval=read_local_file(eval_path, source.format),
        train_origin=str(train_path),
        eval_origin=str(eval_path),
    )


def _load_hub(source: HubSource) -> RawSplits:
    if Path(source.id).exists():  # datasets would read that folder or file instead of the Hub dataset
        raise DataError(f"hub dataset {source.id!r} is also a path here ({Path(source.id).resolve()}); "
                        "local files use source: local and --data-dir")

    def load(split: str) -> datasets.Dataset:
        try:
            return datasets.load_dataset(source.id, source.config, split=split, revision=source.revision)
        except Exception as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataError(f"hub dataset {source.id!r} split {split!r}: {message}") from None

    origin = f"hub:{source.id}" + (f"/{source.config}" if source.config else "")
    return RawSplits(load(source.train), load(source.eval), f"{origin}:{source.train}", f"{origin}:{source.eval}")


def load_splits(
    spec: TaskSpec,
    data_dir: str | Path | None = None,
    max_train: int | None = None,
    max_eval: int | None = None,
) -> RawSplits:
    """Load and cap a task's train and eval splits; empty splits are an error."""
    for flag, value in (("--max-train", max_train), ("--max-eval", max_eval)):
        if value is not None and value <= 0:
            raise DataError(f"{flag} must be a positive number of examples, got {value}")
    source = spec.data
    if isinstance(source, BuiltinSource):
        raw = _load_builtin(source, spec.name)
    elif isinstance(source, LocalSource):
        raw = _load_local(source, data_dir, spec.name)
    else:
        raw = _load_hub(source)
    train, evaluation = cap(raw.train, max_train), cap(raw.eval, max_eval)
    for name, split, origin in (("train", train, raw.train_origin), ("eval", evaluation, raw.eval_origin)):
        if len(split) == 0:
            raise DataError(f"{origin}: the {name} split of task {spec.name!r} is empty")
    return RawSplits(train, evaluation, raw.train_origin, raw.eval_origin)
