"""``reusebench run``: check the inputs, run the suite (or print its plan), write and store the results.

Every input is checked before anything is written: the options, the stage cache's folder, the results
store's URL and the run directory (never a symbolic link, never a file; its output files are regular files
or absent), then everything the runner checks (tasks, models, every task's data: :func:`harness.runner.prepare`).
The run directory is created only then, so a run refused for bad input leaves no folder behind (one refused
later, while it is still empty, removes it again); ``run.log`` is written only once the runner reports that
every input is checked.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.cli.parser import EXIT_OK
from tasks.errors import ReusebenchError

log = logging.getLogger("reusebench")

#: The files a run writes into its directory (``artifacts/`` is its scratch folder).
OUTPUT_FILES = ("results.json", "scorecard.md", "report.html", "run.log")
#: Log records held before the runner reports that the inputs are checked (a refused run writes no run.log).
_MAX_PENDING = 10_000


class _RunLogHandler(logging.Handler):
    """``RUN_DIR/run.log``: records are held in memory until one carries ``inputs_checked`` (the runner's
    "training starts" line), then appended to the file, which is opened without following a link."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.pending: list[logging.LogRecord] | None = []
        self.stream: Any = None
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        """Hold ``record``, or write it (and everything held) once the inputs are checked."""
        if self.pending is not None:
            if len(self.pending) < _MAX_PENDING:
                self.pending.append(record)
            if not getattr(record, "inputs_checked", False):
                return
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
            self.stream = os.fdopen(os.open(self.path, flags, 0o644), "a", encoding="utf-8")
            pending, self.pending = self.pending, None
            for held in pending:
                self._write(held)
            return
        self._write(record)

    def _write(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
            self.stream.flush()
        except Exception:  # a log line must never fail the run
            self.handleError(record)

    def close(self) -> None:
        """Close the file (records still held are dropped: the run was refused)."""
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        super().close()


def _setup_logging(run_dir: Path | None, quiet: bool) -> None:
    _close_logging()
    log.setLevel(logging.INFO)
    log.propagate = False
    if not quiet:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        log.addHandler(console)
    if run_dir is not None:
        log.addHandler(_RunLogHandler(run_dir / "run.log"))


def _close_logging() -> None:
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def check_out_dir(out: str | None) -> None:
    """Refuse a ``--out`` that is a symbolic link or not a folder, and a run directory whose output files are
    links or not regular files (outputs are never written through a link); writes nothing."""
    if not out:
        return
    path = Path(out)
    if path.is_symlink():
        raise ReusebenchError(f"--out {out}: is a symbolic link; name the folder itself (outputs are never "
                              "written through a link)")
    if os.path.lexists(path) and not path.is_dir():
        raise ReusebenchError(f"--out {out}: exists and is not a folder")
    if not path.is_dir():
        return
    for name in OUTPUT_FILES:
        target = path / name
        if os.path.lexists(target) and (target.is_symlink() or not stat.S_ISREG(target.lstat().st_mode)):
            kind = "a symbolic link" if target.is_symlink() else "not a regular file"
            raise ReusebenchError(f"{target}: is {kind}; a run never writes through it: remove it or choose "
                                  "another --out")
    for scratch in (path / "artifacts", path / "cache"):  # scratch files; the run's own cache with --no-cache
        if os.path.lexists(scratch) and (scratch.is_symlink() or not scratch.is_dir()):
            raise ReusebenchError(f"{scratch}: is a symbolic link or not a folder; remove it or choose another --out")
    if (path / "cache").is_dir():
        from harness.cache import StageCache

        StageCache(path / "cache").check_root()


def _run_dir_path(out: str | None, run_id: str) -> Path:
    """The run directory ``--out`` (default ``runs/<run_id>``) names; its name is the run id, so never '' or
    '..' (``.`` and ``a/..`` are taken as the folder they are)."""
    run_dir = Path(out) if out else Path("runs") / run_id
    return run_dir.resolve() if run_dir.name in ("", ".", "..") else run_dir


def _check_creatable(run_dir: Path) -> None:
    """Refuse a run directory that could not be created or written, creating nothing (the run folder is made
    only once every input is checked)."""
    existing = run_dir if run_dir.exists() else _nearest_folder(run_dir)
    if not existing.is_dir():
        raise ReusebenchError(f"{run_dir}: output directory is not writable: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ReusebenchError(f"{run_dir}: output directory is not writable: permission denied on {existing}")


def _make_run_dir(run_dir: Path) -> list[Path]:
    """Create the run directory and probe that it takes a file; returns the folders this call created
    (deepest first), which a refused run removes again while they are empty."""
    created = [p for p in (run_dir, *run_dir.parents) if not os.path.lexists(p)]
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=run_dir, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        _remove_if_empty(created)
        raise ReusebenchError(f"{run_dir}: output directory is not writable: {exc.strerror or exc}") from None
    return created


def _prepare_run_dir(out: str | None, run_id: str) -> Path:
    """Check ``--out`` and create the run directory (default ``runs/<run_id>``)."""
    check_out_dir(out)
    run_dir = _run_dir_path(out, run_id)
    _make_run_dir(run_dir)
    return run_dir


def _remove_if_empty(folders: list[Path]) -> None:
    """Remove the folders a refused run created, deepest first, as long as they are still empty."""
    for folder in folders:
        try:
            folder.rmdir()  # only ever removes an empty folder
        except OSError:
            return


def _check_store_url(db: str | None) -> None:
    """Refuse a ``--db`` that no run could be stored in, before anything runs (reads, never writes)."""
    from sqlalchemy.exc import NoSuchModuleError

    from leaderboard.db import parse_url

    url = parse_url(db)
    label = url.render_as_string(hide_password=True)
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise ReusebenchError(f"--db: no SQLAlchemy dialect for {label!r}") from None
    except ImportError as exc:
        raise ReusebenchError(f"--db: cannot use {label!r}: {exc}") from None
    database = url.database if url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    if os.path.lexists(path) and not path.is_file():
        raise ReusebenchError(f"--db {label}: {path} is not a regular file")
    if path.is_file() and path.stat().st_size:
        with path.open("rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                raise ReusebenchError(f"--db {label}: {path} is not a SQLite database")
    # A store that exists must take this run's records: a read-only file or folder is refused now, not after
    # the training (the probe writes nothing: a no-op update, rolled back).
    if path.is_file() and path.stat().st_size:
        from leaderboard.store import Store

        with Store(db) as store:
            store.check_writable()
    elif not path.exists() and not os.access(_nearest_folder(path), os.W_OK):
        raise ReusebenchError(f"--db {label}: cannot create {path}: its folder is not writable")


def _nearest_folder(path: Path) -> Path:
    """The closest existing ancestor of ``path``."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def _options(args: argparse.Namespace) -> Any:
    """The run's options from the command line, checked."""
    from harness.options import RunOptions
    from harness.stages import forced_stages
    from tasks.registry import get_suite, parse_task_list

    options = RunOptions(
        suite=get_suite(args.suite),
        tasks=parse_task_list(args.tasks) if args.tasks is not None else None,
        teachers=args.teacher,
        students=args.student,
        data_dir=args.data_dir,
        max_train=args.max_train,
        max_eval=args.max_eval,
        device=args.device,
        seed=args.seed,
        progress=not args.quiet,
        bootstrap_resamples=args.bootstrap,
        threads=args.threads,
        trust_remote_code=args.trust_remote_code,
        allow_pickle=args.allow_pickle,
        energy=args.energy,
        force=forced_stages(args.force),
        extra_seeds=[args.seed + i for i in range(1, args.repeat_seeds)],
        executor=args.executor,
        ray_address=args.ray_address,
        ray_cpus_per_unit=args.ray_cpus_per_unit,
        ray_gpus_per_unit=args.ray_gpus_per_unit,
        training_lanes=args.training_lanes,
    )
    options.check()
    return options


def cmd_run(args: argparse.Namespace) -> int:
    """``reusebench run``: check everything, then create the run folder, run, write and store the results.

    stdout carries only what the command promises (the scorecard and paths, ``--json``'s one JSON document, or
    ``--quiet``'s results path): progress and logs go to stderr, and so does anything a library prints while
    the run is under way."""
    from harness.cache import StageCache
    from harness.options import new_run_id
    from harness.results import save_results
    from harness.runner import execute, prepare
    from reports.markdown import render_scorecard_md
    from reports.scorecard import attach_scorecards

    options = _options(args)
    if not args.no_cache:
        options.cache = StageCache(args.cache_dir)
        options.cache.check_for_run()  # a folder that is not a reusebench cache is refused, untouched
    _check_store_url(args.db)
    check_out_dir(args.out)
    if args.dry_run:
        return _print_plan(options, args.json)
    run_dir = _run_dir_path(args.out, new_run_id())
    _check_creatable(run_dir)
    created: list[Path] = []
    try:
        _setup_logging(run_dir, args.quiet)  # run.log appears once the runner has checked every input
        with contextlib.redirect_stdout(sys.stderr):  # a library's print() is a log line, never output
            prepared = prepare(options, run_dir)  # every check and every task's data: nothing written yet
            created = _make_run_dir(run_dir)  # so a run refused for bad input leaves no folder behind
            results = attach_scorecards(execute(prepared))
            save_results(results, run_dir / "results.json")
            markdown = render_scorecard_md(results)
            report = _write_outputs(results, markdown, run_dir)
    except BaseException:
        _close_logging()
        _remove_if_empty(created)  # a run refused after the folder was made removes it while still empty
        raise
    _print_summary(results, markdown, run_dir, report, args)
    _store_run(results, args.db)
    _close_logging()
    return EXIT_OK


def _write_outputs(results: Any, markdown: str, run_dir: Path) -> Path:
    """``scorecard.md`` and ``report.html``, each replaced atomically (a link there is replaced, not followed)."""
    from reports.html import write_report
    from reports.page import write_text_atomic

    write_text_atomic(run_dir / "scorecard.md", markdown)
    return write_report(results, run_dir)


def _print_summary(results: Any, markdown: str, run_dir: Path, report: Path, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps({"run_dir": str(run_dir), "results": str(run_dir / "results.json"), "report": str(report),
                          "run_id": results.run_id, "suite": results.suite, "wall_s": results.wall_s,
                          "scorecards": [c.model_dump(mode="json") for c in results.scorecards]}))
    elif not args.quiet:
        print(markdown)
        print(f"results: {run_dir / 'results.json'}\nreport: {report}")
    else:
        print(run_dir / "results.json")


def _print_plan(options: object, as_json: bool) -> int:
    """``--dry-run``: the stages, what the cache already holds, and an estimated cost."""
    from harness.progress import clock
    from harness.runner import plan_with_estimate

    with contextlib.redirect_stdout(sys.stderr), tempfile.TemporaryDirectory(prefix="reusebench-plan-") as scratch:
        # stdout: only the plan below
        rows, wall_s, how = plan_with_estimate(options, Path(scratch))  # type: ignore[arg-type]
    if as_json:
        print(json.dumps(rows))
        return EXIT_OK
    print(f"plan for {options.label()}\n")  # type: ignore[attr-defined]  # what would run: suite or --tasks
    print("| task | stage | model | cached | estimated s |\n|---|---|---|---|---|")
    for row in rows:
        cached = "yes" if row["cached"] else "no"
        print(f"| {row['task']} | {row['stage']} | {row['model']} | {cached} | {row['estimate_s']:.0f} |")
    total = sum(row["estimate_s"] for row in rows if not row["cached"])
    print(f"\nestimated time: ~{clock(wall_s)} on the reference 2-core CPU{how}; the stages above sum to {total:.0f} s "
          "one after another (cached stages take none; a stage after one that runs is never cached: a new training "
          "is a new build)")
    return EXIT_OK


def _store_run(results: object, db: str | None) -> None:
    """Add a finished run to the results store; a store problem is a warning, the run's files stay."""
    from leaderboard.store import record_run

    try:
        record_run(results, db)
    except Exception as exc:  # the run's files are already written: never fail the run over the store
        print(f"reusebench: warning: run not added to the results store: {exc}", file=sys.stderr)
    else:
        log.info("stored run %s in the results store", getattr(results, "run_id", "?"))
