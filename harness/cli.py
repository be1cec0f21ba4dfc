"""The ``reusebench`` command.

This module is the composition root: it is the one place in ``harness`` that calls into
``reports`` (scorecards, Markdown) after the runner has produced its records.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from pathlib import Path

from tasks.errors import ReusebenchError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2

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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="reusebench", description="How reusable is this model? Measured.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a suite (default: the embedded quick suite)")
    run.add_argument("--suite", default="quick", help="suite name or YAML file (default: quick)")
    run.add_argument("--tasks", help="comma-separated task names or YAML files (overrides the suite's)")
    run.add_argument("--teacher", help="teacher: 'minilm' (packaged), a Hugging Face id or a local folder")
    run.add_argument("--student", action="append", help="student spec: layers=3, layers=0,2,4 or model=ID; repeatable")
    run.add_argument("--data-dir", help="folder with the real data sets (layout of ../shared/data)")
    run.add_argument("--max-train", type=_positive_int, help="cap the training examples (seeded subset)")
    run.add_argument("--max-eval", type=_positive_int, help="cap the eval examples (seeded subset)")
    run.add_argument("--out", help="run directory (default: runs/<run-id>)")
    run.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    run.add_argument("--seed", type=int, default=42)
    run.add_argument("--threads", type=_positive_int, help="threads for training and evaluation (default: all cores)")
    run.add_argument("--bootstrap", type=_positive_int, default=1000, help="bootstrap resamples for the score CI")
    run.add_argument("--quiet", action="store_true", help="no progress bars or stage logs")

    commands.add_parser("tasks", help="list the packaged tasks and suites")

    validate = commands.add_parser("validate", help="validate a task or suite definition")
    validate.add_argument("file")

    report = commands.add_parser("report", help="render a run's scorecard again")
    report.add_argument("run_dir")
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
    return run_dir


def cmd_run(args: argparse.Namespace) -> int:
    from harness.results import save_results
    from harness.runner import RunOptions, new_run_id, run
    from reports.markdown import render_scorecard_md
    from reports.scorecard import attach_scorecards
    from tasks.registry import get_suite

    suite = get_suite(args.suite)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    options = RunOptions(
        suite=suite,
        tasks=tasks,
        teacher=args.teacher,
        students=args.student,
        data_dir=args.data_dir,
        max_train=args.max_train,
        max_eval=args.max_eval,
        device=args.device,
        seed=args.seed,
        progress=not args.quiet,
        bootstrap_resamples=args.bootstrap,
        threads=args.threads,
    )
    run_dir = _prepare_run_dir(args.out, new_run_id())
    _setup_logging(run_dir, args.quiet)
    log.info("run directory: %s", run_dir)
    results = attach_scorecards(run(options, run_dir))
    save_results(results, run_dir / "results.json")
    markdown = render_scorecard_md(results)
    (run_dir / "scorecard.md").write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"results: {run_dir / 'results.json'}")
    return EXIT_OK


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
    from tasks.spec import is_suite, load_yaml, parse_suite, parse_task

    data = load_yaml(args.file)
    if is_suite(data):
        suite = parse_suite(data, args.file)
        print(f"{args.file}: valid suite {suite.name!r} ({len(suite.tasks)} tasks)")
    else:
        task = parse_task(data, args.file)
        print(f"{args.file}: valid task {task.name!r} (kind {task.kind})")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from harness.results import load_results
    from reports.markdown import render_scorecard_md
    from reports.scorecard import attach_scorecards

    results = attach_scorecards(load_results(args.run_dir))
    markdown = render_scorecard_md(results)
    run_dir = Path(args.run_dir)
    if run_dir.is_dir():
        (run_dir / "scorecard.md").write_text(markdown, encoding="utf-8")
    print(markdown)
    return EXIT_OK


COMMANDS = {"run": cmd_run, "tasks": cmd_tasks, "validate": cmd_validate, "report": cmd_report}


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
        print(f"reusebench: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("reusebench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or an environment failure: one line unless --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(f"reusebench: failed: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
