"""``reusebench ship``, and the question ``cache clean`` asks before it removes what stored runs still use.

Composition: the record is chosen with :func:`reports.recommend.recommend` (or by name), its folder checked and
copied by :mod:`harness.ship` / :mod:`harness.ship_files`, its card written by :mod:`reports.modelcard`; the
results store (:mod:`leaderboard.store`) says which cache entries stored runs refer to.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from harness.cli.parser import EXIT_OK
from tasks.errors import ReusebenchError

RECOMMENDED = "recommended"


def _command(args: argparse.Namespace, task: str, model: str, fmt: str) -> str:
    words = ["reusebench", "ship", str(args.run_dir), "--task", task, "--pick", args.pick]
    if args.pick != RECOMMENDED or args.format is not None:
        words += ["--format", fmt]
    return shlex.join([*words, "--out", str(args.out)])


def cmd_ship(args: argparse.Namespace) -> int:
    """Write one (model, format) of a run as a Hugging Face model folder with its model card (docs/cli.md)."""
    from harness.cli.version import package_version
    from harness.results import load_results
    from harness.ship import (
        artifact_folder,
        base_model,
        choose_task,
        find_record,
        model_names,
        ort_load_kwargs,
        pipeline_call,
        task_spec,
        usage_for,
    )
    from harness.ship_files import check_ship_out, write_ship
    from reports.modelcard import CardInputs, render_model_card
    from reports.recommend import recommend

    out = check_ship_out(args.out)  # before anything is read: a bad --out costs nothing
    source = str(args.run_dir)
    results = load_results(args.run_dir)
    task = choose_task(results, args.task, source)
    advice = recommend(results, task)
    advised = advice is not None and advice.record is not None
    if args.pick == RECOMMENDED:
        if not advised:
            why = advice.sentence if advice is not None else f"{task}: the run has no teacher record to compare with"
            raise ReusebenchError(f"{source}: no recommended model ({why}); pass --pick NAME (models: "
                                  f"{', '.join(model_names(results, task))})")
        model = str(advice.model)
    else:
        model = args.pick
    record = find_record(results, task, model, args.format, advice.format if advised else None, source)
    folder = artifact_folder(record, results)
    spec = task_spec(results, task)
    chosen = advised and (advice.model, advice.format) == (record.model, str(record.format))
    inputs = CardInputs(
        usage=usage_for(record, folder),
        call=pipeline_call(record, spec),
        ort_kwargs=ort_load_kwargs(record, folder),
        base=base_model(results, record),
        version=package_version(),
        command=_command(args, task, record.model, str(record.format)),
        recommendation=advice.sentence if chosen else None,
    )
    card = render_model_card(results, record, inputs)
    max_length = spec.get("max_length") if isinstance(spec.get("max_length"), int) else None
    names = write_ship(folder, out, card, max_length)
    size = sum((Path(out) / name).stat().st_size for name in names) / 1e6
    print(f"ship: {out}: {record.model} ({record.format}) for task {task}, {len(names)} files, {size:.1f} MB")
    if inputs.usage is not None:
        loader = inputs.usage.ort_class if record.format.is_onnx else "transformers.pipeline"
        print(f"  load it with {loader} (see {Path(out) / 'README.md'})")
    return EXIT_OK


# -- cache clean -------------------------------------------------------------------------------------------


def _store_artifacts(db: str | None) -> tuple[list[str], str]:
    """The ``artifact`` folders of every record in the results store, and the store's URL. A SQLite store
    that does not exist yet holds none (and is not created)."""
    from leaderboard.db import parse_url
    from leaderboard.store import Store

    url = parse_url(db)
    database = url.database
    if url.get_backend_name() == "sqlite" and database and database != ":memory:" and not database.startswith("file:"):
        if not Path(database).expanduser().exists():
            return [], url.render_as_string(hide_password=True)
    try:
        with Store(db) as store:
            runs = store.load_runs()
            label = store.url
    except ReusebenchError as exc:
        raise ReusebenchError(f"{exc}; 'cache clean' reads the results store to keep the models stored runs use: "
                              "pass --yes to clean without that check") from None
    return [r.artifact for run in runs for r in run.records if r.artifact], label


def _interactive() -> bool:
    """Whether stdin is a terminal a question can be asked on."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # a closed or detached stdin
        return False


def _ask(question: str) -> bool:
    print(question, end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except (OSError, EOFError):
        return False
    return answer.strip().lower() in ("y", "yes")


def confirm_clean(cache: Any, args: argparse.Namespace) -> bool:
    """Whether ``cache clean`` may go on: yes with ``--yes`` or when no entry it would remove is referenced by
    a stored run; else the question, on a terminal (no: nothing is removed). Without a terminal it refuses
    with a one-line error naming how many entries are referenced."""
    from harness.cache_refs import referenced_entries

    if getattr(args, "yes", False) or cache.check_root() in ("missing", "empty"):
        return True
    artifacts, store = _store_artifacts(getattr(args, "db", None))
    referenced = referenced_entries(cache.root, artifacts, args.older_than, time.time())
    if not referenced:
        return True
    count = len(referenced)
    what = (f"{cache.root}: {count} of the entries to remove {'is' if count == 1 else 'are'} still referenced by "
            f"runs in the results store {store} (their models, which 'reusebench ship' copies)")
    if not _interactive():
        raise ReusebenchError(f"{what}; pass --yes to remove them too; nothing was removed")
    return _ask(f"{what}. Remove them too? [y/N] ")
