"""The ``reusebench`` sub-commands other than ``run``: tasks, validate, report, cache, leaderboard,
compare and history."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.parser import EXIT_FAILURE, EXIT_OK
from tasks.errors import ReusebenchError


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
