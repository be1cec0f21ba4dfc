"""The ``reusebench`` command.

This module is the composition root: it is the one place in ``harness`` that calls into
``reports`` (scorecards, Markdown) after the runner has produced its records.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import NoReturn

from tasks.errors import ReusebenchError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
# OS errors that are the machine's state, not a bug: reported on one line with exit code 2.
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}

log = logging.getLogger("reusebench")


def _offline_defaults() -> None:
    # Nothing is fetched at run time unless the user opts in by setting these to 0 themselves.
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text}")
    return value


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit code 2), like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = _Parser(prog="reusebench", description="How reusable is this model? Measured.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a suite (default: the embedded quick suite)")
    run.add_argument("--suite", default="quick", help="suite name or YAML file (default: quick)")
    run.add_argument("--tasks", help="comma-separated task names or YAML files (overrides the suite's)")
    run.add_argument("--teacher", action="append",
                     help="teacher: 'minilm' (packaged), a Hugging Face id or a local folder; repeatable "
                          "(a matrix: every teacher runs every task and student)")
    run.add_argument("--student", action="append", help="student spec: layers=3, layers=0,2,4 or model=ID; repeatable")
    run.add_argument("--data-dir", help="folder with the real data sets (layout of ../shared/data)")
    run.add_argument("--max-train", type=_positive_int, help="cap the training examples (seeded subset)")
    run.add_argument("--max-eval", type=_positive_int, help="cap the eval examples (seeded subset)")
    run.add_argument("--out", help="run directory (default: runs/<run-id>)")
    run.add_argument("--db", help="results store: SQLAlchemy URL or SQLite path (default: $REUSEBENCH_DB or the data dir)")
    run.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    run.add_argument("--seed", type=int, default=42)
    run.add_argument("--repeat-seeds", type=_positive_int, default=1, metavar="N",
                     help="train every model with N seeds (seed, seed+1, ...) and report score mean ± std")
    run.add_argument("--threads", type=_positive_int, help="threads for training and evaluation (default: all cores)")
    run.add_argument("--bootstrap", type=_positive_int, default=1000, help="bootstrap resamples for the score CI")
    run.add_argument("--quiet", action="store_true", help="no progress bars or stage logs")
    run.add_argument("--cache-dir", help="stage cache (default: $REUSEBENCH_CACHE or ~/.cache/reusebench)")
    run.add_argument("--no-cache", action="store_true", help="neither reuse nor keep stage results across runs")
    run.add_argument("--force", action="append", metavar="STAGE",
                     help="recompute STAGE and every later one: finetune, distill, export, record; repeatable")
    run.add_argument("--json", action="store_true", help="print a JSON summary (or the plan) instead of tables")
    run.add_argument("--dry-run", action="store_true", help="print the plan, what is cached and an estimated cost")
    run.add_argument("--energy", action="store_true", help="estimate training energy with codecarbon (extra 'energy')")
    run.add_argument("--trust-remote-code", action="store_true",
                     help="let models run their own Python code (transformers' trust_remote_code); off by default")
    run.add_argument("--executor", choices=["local", "ray"], default="local",
                     help="run the (task, teacher) units here one by one (default) or as Ray tasks")
    run.add_argument("--ray-address", help="Ray cluster to join (default: start a local Ray instance)")
    run.add_argument("--ray-cpus-per-unit", type=float, default=1.0, metavar="N",
                     help="CPUs Ray reserves for each unit (default 1)")
    run.add_argument("--ray-gpus-per-unit", type=_non_negative_float, default=0.0, metavar="N",
                     help="GPUs Ray reserves for each unit (default 0)")
    run.add_argument("--allow-pickle", action="store_true",
                     help="accept pickle checkpoints (pytorch_model.bin), which can run code when loaded; "
                          "by default only safetensors weights are loaded")

    commands.add_parser("tasks", help="list the packaged tasks and suites")

    cache = commands.add_parser("cache", help="show the stage cache's size, or clean it")
    cache.add_argument("action", choices=["info", "clean"])
    cache.add_argument("--cache-dir", help="stage cache (default: $REUSEBENCH_CACHE or ~/.cache/reusebench)")
    cache.add_argument("--older-than", type=float, metavar="DAYS", help="clean only entries older than DAYS")

    validate = commands.add_parser("validate", help="validate a task or suite definition")
    validate.add_argument("file")

    report = commands.add_parser("report", help="render a run's scorecard.md and report.html again")
    report.add_argument("run_dir")

    board = commands.add_parser("leaderboard", help="import runs into the results store and build the static site")
    board.add_argument("--db", help="results store: any SQLAlchemy URL or a SQLite file path "
                                    "(default: $REUSEBENCH_DB, else sqlite:///<data dir>/reusebench/results.db)")
    board.add_argument("--add", action="append", default=[], metavar="RESULTS_JSON",
                       help="a results.json (or run directory) to import first; repeatable; idempotent")
    board.add_argument("--out", default="leaderboard-site", help="site folder (default: leaderboard-site)")

    compare = commands.add_parser("compare", help="compare two runs; exit 1 on a regression")
    compare.add_argument("baseline", help="baseline run directory or results.json")
    compare.add_argument("candidate", help="candidate run directory or results.json")
    compare.add_argument("--max-score-drop", type=_non_negative_float, default=0.01, metavar="X",
                         help="largest allowed significant drop of the primary score, absolute (default 0.01)")
    compare.add_argument("--max-latency-increase", type=_non_negative_float, default=0.10, metavar="Y",
                         help="largest allowed p50 latency increase beyond the baseline's p90, relative (default 0.10)")
    compare.add_argument("--allow-missing", action="store_true",
                         help="a baseline record missing from the candidate is not a regression")
    compare.add_argument("--markdown", metavar="FILE",
                         help="also write the verdict as Markdown (e.g. \"$GITHUB_STEP_SUMMARY\")")

    history = commands.add_parser("history", help="a task's trend over the stored runs")
    history.add_argument("task")
    history.add_argument("--db", help="results store URL (default as for 'leaderboard')")
    history.add_argument("--out", metavar="FILE.html", help="also write an HTML page with plots")
    return parser


def _setup_logging(run_dir: Path | None, quiet: bool) -> None:
    log.setLevel(logging.INFO)
    log.handlers.clear()
    log.propagate = False
    if not quiet:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        log.addHandler(console)
    if run_dir is not None:
        handler = logging.FileHandler(run_dir / "run.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)


def _prepare_run_dir(out: str | None, run_id: str) -> Path:
    run_dir = Path(out) if out else Path("runs") / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ReusebenchError(f"{run_dir}: output directory is not writable: {exc.strerror or exc}") from None
    if run_dir.name in ("", ".", ".."):  # the run id is the folder's name: never '' or '..'
        run_dir = run_dir.resolve()
    return run_dir


def cmd_run(args: argparse.Namespace) -> int:
    from harness.cache import StageCache
    from harness.results import save_results
    from harness.runner import RunOptions, forced_stages, new_run_id, run
    from reports.html import write_report
    from reports.markdown import render_scorecard_md
    from reports.scorecard import attach_scorecards
    from tasks.registry import get_suite

    suite = get_suite(args.suite)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    options = RunOptions(
        suite=suite,
        tasks=tasks,
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
    )
    if not args.no_cache:
        options.cache = StageCache(args.cache_dir)
    if args.dry_run:
        return _print_plan(options, args.json)
    run_dir = _prepare_run_dir(args.out, new_run_id())
    _setup_logging(run_dir, args.quiet)  # the runner logs the run directory once every input is checked
    results = attach_scorecards(run(options, run_dir))
    save_results(results, run_dir / "results.json")
    markdown = render_scorecard_md(results)
    (run_dir / "scorecard.md").write_text(markdown, encoding="utf-8")
    report = write_report(results, run_dir)
    if args.json:
        print(json.dumps({"run_dir": str(run_dir), "results": str(run_dir / "results.json"), "report": str(report),
                          "wall_s": results.wall_s, "scorecards": [c.model_dump(mode="json") for c in results.scorecards]}))
    elif not args.quiet:
        print(markdown)
        print(f"results: {run_dir / 'results.json'}\nreport: {report}")
    else:
        print(run_dir / "results.json")
    _store_run(results, args.db)
    return EXIT_OK


def _print_plan(options: object, as_json: bool) -> int:
    """``--dry-run``: the stages, what the cache already holds, and an estimated cost."""
    import tempfile

    from harness.runner import plan

    with tempfile.TemporaryDirectory(prefix="reusebench-plan-") as scratch:
        rows = plan(options, Path(scratch))  # type: ignore[arg-type]
    if as_json:
        print(json.dumps(rows))
        return EXIT_OK
    print("| task | stage | model | cached | estimated s |\n|---|---|---|---|---|")
    for row in rows:
        cached = "yes" if row["cached"] else "no"
        print(f"| {row['task']} | {row['stage']} | {row['model']} | {cached} | {row['estimate_s']:.0f} |")
    total = sum(row["estimate_s"] for row in rows)
    print(f"\nestimated time: {total:.0f} s on the reference 2-core CPU (an upper bound: "
          "evaluation and measurement records may also be cached)")
    return EXIT_OK


def cmd_cache(args: argparse.Namespace) -> int:
    from harness.cache import StageCache

    cache = StageCache(args.cache_dir)
    if args.action == "clean":
        removed = cache.clean(args.older_than)
        print(f"{cache.root}: removed {removed} entries; {cache.size_bytes() / 1e6:.1f} MB left")
    else:
        print(f"{cache.root}: {cache.size_bytes() / 1e6:.1f} MB")
        for stage_dir in sorted(p for p in cache.root.glob("*") if p.is_dir()):
            print(f"  {stage_dir.name}: {sum(1 for e in stage_dir.iterdir() if not e.name.startswith('.'))} entries")
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


def cmd_tasks(_: argparse.Namespace) -> int:
    from tasks.registry import get_suite, get_task, suite_files, task_files

    print("tasks:")
    for name in task_files():
        spec = get_task(name)
        print(f"  {name:<18} {spec.kind:<15} {spec.description}")
    print("suites:")
    for name in suite_files():
        suite = get_suite(name)
        print(f"  {name:<18} tasks: {', '.join(suite.tasks)}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from tasks.registry import check_definition_file
    from tasks.spec import is_suite, load_yaml, parse_suite, parse_task

    data = load_yaml(check_definition_file(args.file))
    if is_suite(data):
        suite = parse_suite(data, args.file)
        print(f"{args.file}: valid suite {suite.name!r} ({len(suite.tasks)} tasks)")
    else:
        task = parse_task(data, args.file)
        print(f"{args.file}: valid task {task.name!r} (kind {task.kind})")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from harness.results import load_results
    from reports.html import write_report
    from reports.markdown import render_scorecard_md
    from reports.scorecard import attach_scorecards

    results = attach_scorecards(load_results(args.run_dir))
    markdown = render_scorecard_md(results)
    run_dir = Path(args.run_dir)
    print(markdown)
    if run_dir.is_dir():  # a run directory gets its files rendered again; a bare results.json only prints
        (run_dir / "scorecard.md").write_text(markdown, encoding="utf-8")
        print(f"report: {write_report(results, run_dir)}")
    return EXIT_OK


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from leaderboard.site import build_site
    from leaderboard.store import Store
    from reports.inputs import load_run

    runs = [load_run(path) for path in args.add]  # every file is checked before anything is stored
    with Store(args.db) as store:
        for outcome in store.import_runs(runs):
            where = "" if outcome.stored_run_id == outcome.source_run_id else f" as {outcome.stored_run_id}"
            print(f"{outcome.status}: run {outcome.source_run_id}{where}")
        stored = store.load_runs()
        files = build_site(stored, args.out, db_label=store.url)
    print(f"leaderboard: {files.index} ({len(stored)} runs, {len(files.task_pages)} task pages), "
          f"{files.csv.name}, {files.markdown.name}")
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from reports.compare import Thresholds, compare_runs, render_markdown
    from reports.inputs import load_run

    baseline, candidate = load_run(args.baseline), load_run(args.candidate)
    if not baseline.records:
        raise ReusebenchError(f"{args.baseline}: the baseline has no records to compare")
    thresholds = Thresholds(args.max_score_drop, args.max_latency_increase)
    comparison = compare_runs(baseline, candidate, thresholds, allow_missing=args.allow_missing)
    markdown = render_markdown(comparison)
    if args.markdown:
        try:
            Path(args.markdown).write_text(markdown, encoding="utf-8")
        except OSError as exc:
            raise ReusebenchError(f"--markdown {args.markdown}: cannot write: {exc.strerror or exc}") from None
    print(markdown)
    return EXIT_FAILURE if comparison.regressed else EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from leaderboard.history import render_history_html, render_history_markdown, task_history
    from leaderboard.store import Store
    from reports.page import write_text_atomic

    with Store(args.db) as store:
        rows = task_history(store, args.task)
    print(render_history_markdown(args.task, rows))
    if args.out:
        out = Path(args.out)
        try:
            write_text_atomic(out, render_history_html(args.task, rows))
        except OSError as exc:
            raise ReusebenchError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
        print(f"history: {out}")
    return EXIT_OK


COMMANDS = {
    "run": cmd_run,
    "tasks": cmd_tasks,
    "validate": cmd_validate,
    "report": cmd_report,
    "cache": cmd_cache,
    "leaderboard": cmd_leaderboard,
    "compare": cmd_compare,
    "history": cmd_history,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``reusebench`` console script."""
    _offline_defaults()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ReusebenchError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"reusebench: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("reusebench: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.errno not in _ENVIRONMENT_ERRNOS:
            return _failed(exc, args.debug)
        if args.debug:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        hint = " (free some space and run again)" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
        print(f"reusebench: error: {where}{exc.strerror or exc}{hint}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # a bug or an environment failure: one line unless --debug
        return _failed(exc, args.debug)


def _one_line(text: str, limit: int = 1000) -> str:
    """A message on one line, at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _failed(exc: BaseException, debug: bool) -> int:
    """Report an unexpected failure: the traceback with ``--debug``, else one line."""
    if debug:
        traceback.print_exc()
    else:
        print(f"reusebench: failed: {type(exc).__name__}: {_one_line(str(exc), 500)} (run with --debug for the traceback)",
              file=sys.stderr)
    return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
