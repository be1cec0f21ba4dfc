"""``reusebench run``: check the inputs, run the suite (or print its plan), write and store the results."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from harness.cli.parser import EXIT_OK
from tasks.errors import ReusebenchError

log = logging.getLogger("reusebench")


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
    from harness.options import RunOptions, new_run_id
    from harness.results import save_results
    from harness.runner import run
    from harness.stages import forced_stages
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
    print(f"\nestimated time: {total:.0f} s on the reference 2-core CPU (cached stages take none; "
          "a stage after one that runs is never cached: a new training is a new build)")
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
