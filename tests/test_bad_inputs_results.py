"""Issue #21 for results files and everything that reads them or writes pages from them.

A catalogue of bad inputs driven through the command line (``report``, ``compare``, ``leaderboard``,
``history``): results files taken on trust (values out of their metric's range, a score outside its own
interval or unequal to its metric, negative counts and times, unordered percentiles, huge strings, control and
bidirectional-text characters, duplicate JSON keys), special files (devices, FIFOs, folders, oversized files),
outputs that are symbolic links, folders, devices or empty paths, and stores that are read-only or another
application's. Every case must exit with code 2 and one stderr line naming the file, field or value, and leave
every file already there (a run folder, a built site, the store, the inputs, the targets of links) as it was,
with nothing new created.

Below the catalogue: the files reusebench writes still load, the metric ranges match ``tasks.metrics``, every
writer neutralises what a store written before these checks may still hold, and (hypothesis) no mutation of a
results file fails other than with a one-line error.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fixture_runs import FIXTURE, fixture_dict, write_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bad_inputs import Case, Workspace, _cli, _digest, _results, _set, _stored, assert_one_line_error

from harness.result_checks import KIND_METRICS, MAX_NAME, MAX_TEXT, METRIC_RANGES
from harness.results import RunResults, load_results
from leaderboard.site import task_slug
from leaderboard.store import Store
from reports.escape import csv_cell, md, md_code, printable
from reports.page import esc
from tasks.errors import ReusebenchError

ROOT = Path(__file__).resolve().parents[1]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
UNPRINTABLE = ["\u202e", "\u2066", "\u200f", "\x85", "\x9b", "\x1b", "\x07", "\x00", "\u2028"]
PRECIOUS = "a file that is not reusebench's: it must never change\n"


# -- the workspace: a run folder, a built site and a store, all of which must survive every case ---------


@pytest.fixture()
def rws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Workspace:
    """A run folder rendered by ``report``, a site built by ``leaderboard``, a store holding the fixture run,
    and a file of the user's (``precious.txt``) that links may point at."""
    space = Workspace(tmp_path)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    space.paths = {
        "root": str(tmp_path),
        "run": str(tmp_path / "run"),
        "site": str(tmp_path / "site"),
        "db": db,
        "fixture": str(FIXTURE),
        "precious": str(tmp_path / "precious.txt"),
    }
    monkeypatch.setenv("REUSEBENCH_DB", db)
    write_run(tmp_path / "run", fixture_dict())
    (tmp_path / "precious.txt").write_text(PRECIOUS, encoding="utf-8")
    assert _cli(["report", space.paths["run"]], capsys)[0] == 0
    assert _cli(["leaderboard", "--db", db, "--add", str(FIXTURE), "--out", space.paths["site"]], capsys)[0] == 0
    return space


@dataclass(frozen=True)
class RCase(Case):
    """A :class:`test_bad_inputs.Case` with a set-up step for what cannot be written as file contents
    (FIFOs, links, sparse files, permissions), given the workspace root."""

    setup: Callable[[Path], None] | None = None
    as_user: bool = False  # needs a user that file permissions apply to (skipped as root)


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` (but the store and SQLite's side files) with its digest or link target."""
    seen = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if name.startswith("store.db") or name.endswith((".db-wal", ".db-shm", ".db-journal")):
            continue  # the store is compared by its contents; SQLite's side files come and go with readers
        if path.is_symlink():
            seen[name] = "link:" + os.readlink(path)
        elif path.is_file():
            seen[name] = _digest(path)
        else:
            seen[name] = "folder" if path.is_dir() else "special"
    return seen


@pytest.fixture()
def no_hang() -> Iterator[None]:
    """A read that blocks (a FIFO) fails the test after 30 s instead of hanging the suite."""

    def expired(*_: Any) -> None:
        raise TimeoutError("the command blocked")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# -- results files: what each mutation of the fixture run does ------------------------------------------


def _all(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(data)

    return mutate


def _score(index: int, value: float) -> Callable[[dict[str, Any]], None]:
    """Set a record's score and its primary metric together (consistent but for the value itself)."""
    return _all(_set(f"records.{index}.score", value), _set(f"records.{index}.metrics.accuracy", value))


def _nest(depth: int) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        value: Any = 1
        for _ in range(depth):
            value = {"deeper": value}
        data["config"]["nested"] = value

    return mutate


def _raw(text: str) -> Callable[[Path], None]:
    """Write ``r.json`` as raw text (JSON the standard writer would not produce)."""
    return lambda root: (root / "r.json").write_text(text, encoding="utf-8")


def _fifo(name: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(root / name)

    return make


def _link(name: str, target: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if (root / name).exists() or (root / name).is_symlink():
            (root / name).unlink()
        (root / name).symlink_to(target.format(root=root))

    return make


def _folder(name: str) -> Callable[[Path], None]:
    return lambda root: (root / name).mkdir(parents=True)


def _sparse(name: str, size: int) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        with open(root / name, "wb") as handle:
            handle.truncate(size)

    return make


def _chmod(name: str, mode: int) -> Callable[[Path], None]:
    return lambda root: os.chmod(root / name, mode)


def _foreign_db(root: Path) -> None:
    import sqlite3

    connection = sqlite3.connect(root / "notes.db")
    connection.execute("CREATE TABLE runs (note TEXT)")
    connection.execute("INSERT INTO runs VALUES ('my own data')")
    connection.commit()
    connection.close()


def _read_only_store(root: Path) -> None:
    (root / "ro").mkdir()
    with Store(f"sqlite:///{root / 'ro' / 'results.db'}"):
        pass


COMPARE = ["compare", "{fixture}"]
ADD = ["leaderboard", "--add", "{root}/r.json", "--out", "{site}"]
NEW_RUN = _results(_set("run_id", "a-new-run"))
ADD_NEW = ["leaderboard", "--add", "{root}/new.json"]
DEEP = 70

CASES: list[RCase] = [
    # --- class 1: values no measurement can produce ---------------------------------------------------
    RCase("accuracy-above-one", ADD, ["{root}/r.json", "records[0].metrics.accuracy", "≤ 1", "1.7"],
          {"r.json": _results(_score(0, 1.7))}),
    RCase("accuracy-negative", [*COMPARE, "{root}/r.json"], ["records[2].metrics.accuracy", "≥ 0", "-0.3"],
          {"r.json": _results(_score(2, -0.3))}),
    RCase("report-accuracy-above-one", ["report", "{root}/bad-run"], ["bad-run/results.json", "accuracy"],
          {"bad-run/results.json": _results(_score(1, 1.7))}),
    RCase("mcc-above-one", ADD, ["records[3].metrics.mcc", "≤ 1"], {"r.json": _results(_set("records.3.metrics.mcc", 1.5))}),
    RCase("score-outside-its-interval", ADD, ["records[0].score", "outside its own interval"],
          {"r.json": _results(_score(0, 0.2))}),
    RCase("score-is-not-its-metric", [*COMPARE, "{root}/r.json"], ["records[4].score", "metrics.accuracy"],
          {"r.json": _results(_set("records.4.score", 0.7))}),
    RCase("interval-beyond-the-range", ADD, ["records[1].score_ci[1]", "≤ 1"],
          {"r.json": _results(_set("records.1.score_ci", [0.6, 1.3]))}),
    RCase("primary-metric-of-another-kind", ADD, ["records[0].primary_metric", "'bleu'", "classification"],
          {"r.json": _results(_set("records.0.primary_metric", "bleu"))}),
    RCase("eval-examples-negative", ADD, ["records[0].eval_examples", "≥ 0"],
          {"r.json": _results(_set("records.0.eval_examples", -200))}),
    RCase("run-wall-time-negative", [*COMPARE, "{root}/r.json"], ["wall_s", "≥ 0", "-5"],
          {"r.json": _results(_set("wall_s", -5.0))}),
    RCase("train-wall-time-negative", ADD, ["records[2].train.wall_s", "≥ 0"],
          {"r.json": _results(_set("records.2.train.wall_s", -1.0))}),
    RCase("throughput-negative", ADD, ["records[1].throughput_per_s", "≥ 0"],
          {"r.json": _results(_set("records.1.throughput_per_s", -3.0))}),
    RCase("percentiles-out-of-order", [*COMPARE, "{root}/r.json"], ["records[0].latency_ms.batch_1", "p90", "p99"],
          {"r.json": _results(_set("records.0.latency_ms.batch_1.p99", 12.1))}),
    RCase("agreement-above-one", ["report", "{root}/bad-run"], ["records[3].parity.prediction_agreement", "≤ 1"],
          {"bad-run/results.json": _results(_set("records.3.parity.prediction_agreement", 2.0))}),
    RCase("speedup-negative", ADD, ["scorecards[0].speedup", "≥ 0"],
          {"r.json": _results(_set("scorecards.0.speedup", -1.9))}),
    RCase("baseline-above-one", ADD, ["baselines.tiny-sentiment.metrics.accuracy", "≤ 1"],
          {"r.json": _results(_set("baselines", {"tiny-sentiment": {"name": "majority", "metrics": {"accuracy": 1.5},
                                                                     "score": 1.5}}))}),
    RCase("seed-scores-mismatch", ADD, ["records[0].seed_scores", "2 seeds but 1 scores"],
          {"r.json": _results(_set("records.0.seed_scores", {"seeds": [1, 2], "scores": [0.7], "mean": 0.7, "std": 0.0}))}),
    RCase("created-at-not-a-time", ADD, ["'created_at'", "ISO-8601", "yesterday"],
          {"r.json": _results(_set("created_at", "yesterday"))}),
    RCase("environment-versions-not-an-object", ["report", "{root}/bad-run"], ["environment.versions", "dict"],
          {"bad-run/results.json": _results(_set("environment.versions", ["torch 2"]))}),
    RCase("measure-settings-not-an-object", ["report", "{root}/bad-run"], ["config.suite.measure", "dict"],
          {"bad-run/results.json": _results(_set("config.suite.measure", "fast"))}),
    RCase("empty-model-name", ADD, ["records[2].model", "empty"], {"r.json": _results(_set("records.2.model", " "))}),
    RCase("model-name-20-mb", ADD, ["records[0].model", "20000000 characters"],
          {"r.json": _results(_set("records.0.model", "m" * 20_000_000))}),
    RCase("model-name-too-long", [*COMPARE, "{root}/r.json"], ["records[0].model", f"longer than {MAX_NAME}"],
          {"r.json": _results(_set("records.0.model", "m" * (MAX_NAME + 1)))}),
    RCase("status-reason-too-long", ADD, ["records[4].status_reason", f"more than the {MAX_TEXT}"],
          {"r.json": _results(_set("records.4.status_reason", "why " * 3000))}),
    RCase("right-to-left-override-in-a-model", ADD, ["records[2].model", "U+202E"],
          {"r.json": _results(_set("records.2.model", "student\u202etxt.exe"))}),
    RCase("bidi-isolate-in-a-task", [*COMPARE, "{root}/r.json"], ["records[0].task", "U+2067"],
          {"r.json": _results(_set("records.0.task", "\u2067sentiment"))}),
    RCase("c1-control-in-a-run-id", ADD, ["run_id", "U+009B"], {"r.json": _results(_set("run_id", "run\x9b31m"))}),
    RCase("c1-control-in-the-environment", ["report", "{root}/bad-run"], ["environment.cpu", "U+0085"],
          {"bad-run/results.json": _results(_set("environment.cpu", "AMD\x85EPYC"))}),
    RCase("escape-sequence-in-a-reason", ADD, ["records[4].status_reason", "U+001B"],
          {"r.json": _results(_set("records.4.status_reason", "\x1b[2Jcleared"))}),
    RCase("lone-surrogate", [*COMPARE, "{root}/r.json"], ["environment.python", "U+D800"],
          {"r.json": _results(_set("environment.python", "\ud800"))}),
    RCase("control-character-in-a-metric-key", ADD, ["records[0].metrics", "control characters"],
          {"r.json": _results(_set("records.0.metrics.f1\x07", 0.5))}),
    RCase("nan-in-the-environment", ADD, ["environment.seed", "not a finite number", "nan"], setup=_raw(
        json.dumps(fixture_dict()).replace('"seed": 1', '"seed": NaN', 1))),
    RCase("huge-integer-in-the-environment", ADD, ["environment.threads", "out of range"],
          {"r.json": _results(_set("environment.threads", 10**20))}),
    RCase("nested-too-deep", ADD, ["config.nested", f"more than {64} levels"], {"r.json": _results(_nest(DEEP))}),
    RCase("duplicate-json-key", [*COMPARE, "{root}/r.json"], ["{root}/r.json", "duplicate key 'score'"], setup=_raw(
        json.dumps(fixture_dict()).replace('"score": 0.705,', '"score": 0.705, "score": 0.1,', 1))),
    # --- class 2: special files and sizes -------------------------------------------------------------
    RCase("compare-dev-zero", [*COMPARE, "/dev/zero"], ["/dev/zero", "not a regular file", "character device"]),
    RCase("compare-fifo", [*COMPARE, "{root}/pipe.json"], ["{root}/pipe.json", "not a regular file", "FIFO"],
          setup=_fifo("pipe.json")),
    RCase("leaderboard-add-fifo", ["leaderboard", "--add", "{root}/pipe.json", "--out", "{site}"],
          ["{root}/pipe.json", "FIFO"], setup=_fifo("pipe.json")),
    RCase("report-results-is-a-fifo", ["report", "{root}/fifo-run"], ["fifo-run/results.json", "FIFO"],
          setup=_fifo("fifo-run/results.json")),
    RCase("results-link-to-a-device", [*COMPARE, "{root}/r.json"], ["{root}/r.json", "character device"],
          setup=_link("r.json", "/dev/zero")),
    RCase("results-json-is-a-folder", [*COMPARE, "{root}/odd-run"], ["odd-run/results.json", "a folder"],
          setup=_folder("odd-run/results.json")),
    RCase("results-file-too-large", [*COMPARE, "{root}/r.json"], ["{root}/r.json", "bytes, more than"],
          setup=_sparse("r.json", 65 * 1024 * 1024)),
    # --- class 3: outputs ----------------------------------------------------------------------------------
    RCase("report-through-a-linked-scorecard", ["report", "{run}"], ["{run}/scorecard.md", "symbolic link"],
          setup=_link("run/scorecard.md", "{root}/precious.txt")),
    RCase("report-through-a-linked-page", ["report", "{run}"], ["{run}/report.html", "symbolic link"],
          setup=_link("run/report.html", "{root}/precious.txt")),
    RCase("report-into-a-linked-folder", ["report", "{root}/run-link"], ["{root}/run-link", "symbolic link"],
          setup=_link("run-link", "{root}/run")),
    RCase("report-page-is-a-folder", ["report", "{run}"], ["{run}/report.html", "a folder"],
          setup=lambda root: ((root / "run" / "report.html").unlink(), (root / "run" / "report.html").mkdir())),
    RCase("leaderboard-out-empty", [*ADD_NEW, "--out", ""], ["--out", "''"], {"new.json": NEW_RUN}),
    RCase("leaderboard-out-is-a-file", [*ADD_NEW, "--out", "{precious}"], ["--out", "precious.txt", "not a folder"],
          {"new.json": NEW_RUN}),
    RCase("leaderboard-out-is-a-link", [*ADD_NEW, "--out", "{root}/site-link"], ["{root}/site-link", "symbolic link"],
          {"new.json": NEW_RUN}, setup=_link("site-link", "{root}/site")),
    RCase("leaderboard-out-below-a-file", [*ADD_NEW, "--out", "{precious}/site"], ["{precious}/site", "not a folder"],
          {"new.json": NEW_RUN}),
    RCase("leaderboard-page-is-a-link", [*ADD_NEW, "--out", "{site}"], ["{site}/index.html", "symbolic link"],
          {"new.json": NEW_RUN}, setup=_link("site/index.html", "{root}/precious.txt")),
    RCase("leaderboard-task-page-is-a-link", [*ADD_NEW, "--out", "{site}"], ["{site}/task-new-task", "symbolic link"],
          {"new.json": _results(_all(_set("run_id", "a-new-run"), *[_set(f"records.{i}.task", "new task")
                                                                     for i in range(5)]))},
          setup=lambda root: _link(f"site/{task_slug('new task')}.html", "{root}/precious.txt")(root)),
    RCase("leaderboard-csv-is-a-folder", [*ADD_NEW, "--out", "{site}"], ["{site}/leaderboard.csv", "a folder"],
          {"new.json": NEW_RUN}, setup=lambda root: ((root / "site" / "leaderboard.csv").unlink(),
                                                     (root / "site" / "leaderboard.csv").mkdir())),
    RCase("report-over-a-scorecard-of-the-users", ["report", "{run}"], ["{run}/scorecard.md", "not written by reusebench"],
          {"run/scorecard.md": "# my notes on this run\n"}),
    RCase("leaderboard-over-a-page-of-the-users", [*ADD_NEW, "--out", "{root}/docs"],
          ["{root}/docs/index.html", "not written by reusebench"],
          {"new.json": NEW_RUN, "docs/index.html": "<html><title>My project</title></html>\n"}),
    RCase("compare-markdown-over-a-file-of-the-users", [*COMPARE, "{fixture}", "--markdown", "{precious}"],
          ["--markdown", "precious.txt", "not written by reusebench"]),
    RCase("history-over-a-page-of-the-users", ["history", "tiny-sentiment", "--out", "{root}/mine.html"],
          ["{root}/mine.html", "not written by reusebench"], {"mine.html": "<p>mine</p>\n"}),
    RCase("compare-markdown-empty", [*COMPARE, "{fixture}", "--markdown", ""], ["--markdown", "''"]),
    RCase("compare-markdown-is-a-link", [*COMPARE, "{fixture}", "--markdown", "{root}/summary.md"],
          ["{root}/summary.md", "symbolic link"], setup=_link("summary.md", "{root}/precious.txt")),
    RCase("compare-markdown-is-a-folder", [*COMPARE, "{fixture}", "--markdown", "{run}"], ["--markdown", "a folder"]),
    RCase("compare-markdown-is-a-device", [*COMPARE, "{fixture}", "--markdown", "/dev/null"],
          ["--markdown /dev/null", "character device"]),
    RCase("compare-markdown-ends-with-a-slash", [*COMPARE, "{fixture}", "--markdown", "{root}/new/"],
          ["--markdown", "names a folder"]),
    RCase("history-out-is-a-link", ["history", "tiny-sentiment", "--out", "{root}/h.html"],
          ["{root}/h.html", "symbolic link"], setup=_link("h.html", "{root}/precious.txt")),
    RCase("history-out-is-a-folder", ["history", "tiny-sentiment", "--out", "{site}"], ["--out", "a folder"]),
    RCase("history-out-empty", ["history", "tiny-sentiment", "--out", ""], ["--out", "''"]),
    # --- class 4: stores ------------------------------------------------------------------------------------
    RCase("store-opened-read-only", [*ADD_NEW, "--db", "sqlite:///file:{root}/store.db?mode=ro&uri=true",
                                     "--out", "{site}"], ["--db", "store.db", "not writable", "nothing was stored"],
          {"new.json": NEW_RUN}),
    RCase("store-file-read-only", [*ADD_NEW, "--db", "sqlite:///{root}/ro/results.db", "--out", "{site}"],
          ["--db", "results.db", "not writable"], {"new.json": NEW_RUN},
          setup=lambda root: (_read_only_store(root), _chmod("ro/results.db", 0o444)(root)), as_user=True),
    RCase("store-folder-read-only", [*ADD_NEW, "--db", "sqlite:///{root}/ro/results.db", "--out", "{site}"],
          ["--db", "results.db"], {"new.json": NEW_RUN},
          setup=lambda root: (_read_only_store(root), _chmod("ro", 0o555)(root)), as_user=True),
    RCase("store-of-another-application", [*ADD_NEW, "--db", "{root}/notes.db", "--out", "{site}"],
          ["notes.db", "not a reusebench results store", "runs"], {"new.json": NEW_RUN}, setup=_foreign_db),
    RCase("store-is-a-folder", [*ADD_NEW, "--db", "{run}", "--out", "{site}"], ["--db", "{run}", "a folder"],
          {"new.json": NEW_RUN}),
    RCase("store-is-a-fifo", ["history", "tiny-sentiment", "--db", "{root}/db-pipe"], ["{root}/db-pipe", "FIFO"],
          setup=_fifo("db-pipe")),
    RCase("store-is-a-device", [*ADD_NEW, "--db", "/dev/null", "--out", "{site}"], ["/dev/null", "character device"],
          {"new.json": NEW_RUN}),
]


def test_the_catalogue_is_large_and_its_ids_are_distinct() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 70


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_bad_results_input_exits_2_with_one_line_and_changes_nothing(
    case: RCase, rws: Workspace, capsys: pytest.CaptureFixture[str], no_hang: None
) -> None:
    if case.as_user and IS_ROOT:
        pytest.skip("file permissions do not apply to root")
    rws.write(case.files)
    if case.setup:
        case.setup(rws.root)
    before, stored = _snapshot(rws.root), _stored(rws.paths["db"])
    try:
        code, _, err = _cli([rws.fmt(a) for a in case.argv], capsys)
    finally:
        for folder in (rws.root / "ro",):
            if folder.exists():
                os.chmod(folder, 0o755)
    line = assert_one_line_error(code, err, [rws.fmt(fragment) for fragment in case.expect])
    assert len(line) < 2000
    assert _snapshot(rws.root) == before  # nothing changed, nothing new: inputs, run folder, site, link targets
    assert _stored(rws.paths["db"]) == stored
    assert (rws.root / "precious.txt").read_text(encoding="utf-8") == PRECIOUS


# -- what is sound still works ---------------------------------------------------------------------------


def test_sound_outputs_are_written_again_and_again(rws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """Its own files are rewritten; an empty file (``$GITHUB_STEP_SUMMARY``) is written; a folder below a link
    is fine (only the output itself may not be a link)."""
    root, db = rws.root, rws.paths["db"]
    summary = root / "summary.md"
    summary.write_text("", encoding="utf-8")
    (root / "elsewhere").mkdir()
    (root / "via").symlink_to(root / "elsewhere")
    for _ in range(2):
        assert _cli(["report", rws.paths["run"]], capsys)[0] == 0
        assert _cli(["leaderboard", "--db", db, "--add", str(FIXTURE), "--out", rws.paths["site"]], capsys)[0] == 0
        assert _cli(["compare", str(FIXTURE), str(FIXTURE), "--markdown", str(summary)], capsys)[0] == 0
        assert _cli(["history", "tiny-sentiment", "--out", str(root / "h.html")], capsys)[0] == 0
        assert _cli(["leaderboard", "--out", str(root / "via" / "site")], capsys)[0] == 0
    assert summary.read_text(encoding="utf-8").startswith("## reusebench compare")
    assert (root / "elsewhere" / "site" / "index.html").is_file()
    assert not any(p.name.endswith(".tmp") for p in root.rglob("*"))  # no temporary file left behind
    assert (root / "precious.txt").read_text(encoding="utf-8") == PRECIOUS


def test_a_read_only_store_can_still_be_read(rws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///file:{rws.root / 'store.db'}?mode=ro&uri=true"
    code, out, err = _cli(["leaderboard", "--db", url, "--out", str(rws.root / "ro-site")], capsys)
    assert code == 0, err
    assert (rws.root / "ro-site" / "index.html").is_file()
    code, out, err = _cli(["history", "tiny-sentiment", "--db", url], capsys)
    assert code == 0 and "History of tiny-sentiment" in out


# -- what reusebench writes still loads ------------------------------------------------------------------


def _committed_results() -> list[str]:
    files = subprocess.run(["git", "ls-files", "*.json"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    return [f for f in files if '"records"' in (ROOT / f).read_text(encoding="utf-8")] or [str(FIXTURE)]


@pytest.mark.parametrize("name", _committed_results())
def test_every_committed_results_file_passes_the_checks(name: str) -> None:
    load_results(ROOT / name)


def test_a_record_built_the_way_the_runner_builds_it_passes_the_checks(tmp_path: Path) -> None:
    from harness.results import save_results

    results = RunResults.model_validate(fixture_dict())
    save_results(results, tmp_path / "results.json")
    assert load_results(tmp_path).model_dump(mode="json") == results.model_dump(mode="json")


def test_the_metric_ranges_cover_every_key_of_the_built_in_metrics() -> None:
    from tasks.kinds.registry import get_kind
    from tasks.metrics import bootstrap

    for name in ("classification", "regression", "seqeval", "squad", "generation"):
        assert set(bootstrap.KEYS[name]) <= set(METRIC_RANGES), name
    assert set(KIND_METRICS["ner"]) == set(bootstrap.KEYS["seqeval"])
    assert set(KIND_METRICS["qa"]) == set(bootstrap.KEYS["squad"])
    assert set(KIND_METRICS["generation"]) == set(bootstrap.KEYS["generation"])
    assert set(KIND_METRICS["classification"]) == set(bootstrap.KEYS["classification"])
    assert set(KIND_METRICS["similarity"]) == set(bootstrap.KEYS["regression"]) | set(bootstrap.KEYS["classification"])
    for kind in KIND_METRICS:
        assert get_kind(kind) is not None


def test_the_metric_scales_are_those_the_metrics_compute() -> None:
    from tasks.metrics import compute

    perfect = compute("generation", ["the cat sat on the mat"], [["the cat sat on the mat"]])
    assert perfect["bleu"] == pytest.approx(100) and perfect["chrf"] == pytest.approx(100)
    assert perfect["rouge1"] == pytest.approx(1)
    assert compute("squad", ["a b"], [["a b"]]) == {"exact_match": 1.0, "f1": 1.0}
    assert compute("regression", [1.0, 2.0, 3.0], [3.0, 2.0, 1.0])["pearson"] == pytest.approx(-1)


def test_a_custom_kind_keeps_its_own_scale(tmp_path: Path) -> None:
    data = fixture_dict()
    for record in data["records"]:
        record["kind"] = "my-kind"
        record["metrics"]["accuracy"] = record["score"] = record["score"] * 100
        record["score_ci"] = [bound * 100 for bound in record["score_ci"]]
    load_results(write_run(tmp_path, data))


# -- every writer neutralises what a store may still hold ------------------------------------------------


@pytest.mark.parametrize("char", UNPRINTABLE)
def test_the_escapes_neutralise_control_and_bidi_characters(char: str) -> None:
    text = f"a{char}b"
    for out in (md(text), md_code(text), csv_cell(text), esc(text), printable(text)):
        assert char not in out and "a" in out and "b" in out


@pytest.mark.parametrize("name", ["=cmd|' /C calc'!A0", "+1", "-2+3", "@SUM(1)", "\t=1", "\r=1", " =1", "\uff1d1"])
def test_a_csv_cell_never_starts_a_formula(name: str) -> None:
    cell = csv_cell(name)
    assert cell.startswith("'") and "\t" not in cell and "\r" not in cell


def test_a_hostile_run_stored_before_the_checks_is_written_inert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hostile = "\u202eevil\x85\x1b[31m"
    data = fixture_dict()
    data["run_id"] = "hostile"
    data["environment"]["cpu"] = hostile
    for record in data["records"]:
        record["model"] = f"=HYPERLINK({hostile})" if record["role"] == "student" else f"@{hostile}"
    db = f"sqlite:///{tmp_path / 'old.db'}"
    with Store(db) as store:  # what an older reusebench let in
        store.import_run(RunResults.model_validate(data))
    site = tmp_path / "site"
    assert _cli(["leaderboard", "--db", db, "--out", str(site)], capsys)[0] == 0
    assert _cli(["history", "tiny-sentiment", "--db", db, "--out", str(tmp_path / "h.html")], capsys)[0] == 0
    written = [*site.iterdir(), tmp_path / "h.html"]
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert not any(char in text for char in UNPRINTABLE), path.name
    rows = (site / "leaderboard.csv").read_text(encoding="utf-8").splitlines()[1:]
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.split(","))


# -- hypothesis: no mutation of a results file fails other than with a one-line error -----------------


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
    st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _leaves(value, (*path, index))
    return found


_PATHS = [p for p in _leaves(fixture_dict()) if p and p[0] not in ("config",)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from(_PATHS), _VALUES), min_size=1, max_size=3))
def test_a_mutated_results_file_loads_and_renders_or_fails_with_one_line(
    changes: list[tuple[tuple[Any, ...], Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    from reports.compare import compare_runs, render_markdown
    from reports.html import render_report
    from reports.markdown import render_scorecard_md
    from reports.scorecard import attach_scorecards

    data = fixture_dict()
    for path, value in changes:
        node: Any = data
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = copy.deepcopy(value)
        except (KeyError, IndexError, TypeError):
            continue
    file = tmp_path_factory.mktemp("fuzz") / "results.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    try:
        results = load_results(file)
    except ReusebenchError as exc:
        assert "\n" not in str(exc) and str(file) in str(exc)
        return
    reference = load_results(FIXTURE)
    render_scorecard_md(attach_scorecards(results))
    render_report(results)
    render_markdown(compare_runs(reference, results))
    render_markdown(compare_runs(results, reference))
