"""Bad inputs to the stage cache and the ``run``/``cache`` command line, each driven through ``main``.

Every case must exit with code 2, print exactly one line on stderr naming the folder, flag or value,
show no traceback, train nothing, and change nothing on disk: the test snapshots the whole workspace (a
foreign folder with ``projects/`` and ``Documents/``, a stage cache holding an entry, an earlier run's
``results.json`` and ``scorecard.md``, the results store) before the command and compares it afterwards,
so a deleted decoy, a file written through a link, a marker written into a foreign folder or an empty
``runs/<id>/`` left behind all fail the case.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from fixture_runs import FIXTURE, fixture_dict
from test_bad_inputs import _stored, assert_one_line_error
from tiny_models import save_tiny_model

from harness.cache import CACHE_MARKER, MANIFEST, StageCache
from harness.cli import main
from harness.options import RunOptions
from harness.results import RunResults
from leaderboard.store import Store
from tasks.registry import get_suite, task_files

TASK = {
    "name": "cli-sentiment",
    "kind": "classification",
    "data": {"source": "builtin", "generator": "sentiment", "train_size": 16, "eval_size": 8},
    "columns": {"text": "text", "label": "label"},
    "labels": ["negative", "positive"],
    "max_length": 32,
    "primary_metric": "accuracy",
    "training": {"epochs": 1, "batch_size": 8},
    "distillation": {"epochs": 1},
}
SUITE = "name: tiny\ntasks: [{task}]\nstudents: ['layers=1']\nformats: [pytorch]\n"
IGNORED = ("datasets-cache",)  # the Hugging Face datasets cache of the test (not reusebench's)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT: a case that wrongly got past the checks would train for a second."""
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture()
def ws(tmp_path: Path, model: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The workspace: decoys, a marked stage cache with an entry, an earlier run, a store with one run."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets-cache")
    monkeypatch.setenv("REUSEBENCH_CACHE", str(tmp_path / "stage-cache"))
    db = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("REUSEBENCH_DB", db)
    cwd = tmp_path / "cwd"  # a run without --out would create cwd/runs/<id>
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    decoy = tmp_path / "decoy"
    for name, text in (("projects/code.py", "print('mine')\n"), ("Documents/letter.txt", "dear reader\n")):
        (decoy / name).parent.mkdir(parents=True, exist_ok=True)
        (decoy / name).write_text(text, encoding="utf-8")
    cache = StageCache(tmp_path / "cache")
    with cache.write("finetune", "0123456789abcdef0123456789abcdef") as (folder, meta):
        (folder / "model.safetensors").write_bytes(b"weights")
        meta["wall_s"] = 1.0
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    (out / "scorecard.md").write_text("# an earlier scorecard\n", encoding="utf-8")
    (tmp_path / "task.yaml").write_text(yaml.safe_dump(TASK, sort_keys=False), encoding="utf-8")
    (tmp_path / "suite.yaml").write_text(SUITE.format(task=tmp_path / "task.yaml"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("my notes, not a database\n" * 20, encoding="utf-8")
    with Store(db) as store:
        store.import_run(RunResults.model_validate(fixture_dict()))
    return {"root": str(tmp_path), "decoy": str(decoy), "cache": str(tmp_path / "cache"), "out": str(out),
            "suite": str(tmp_path / "suite.yaml"), "task": str(tmp_path / "task.yaml"), "model": str(model),
            "db": db, "fixture": str(FIXTURE), "sentiment_yaml": str(task_files()["sentiment"])}


def run_args(*extra: str, out: str | None = "{out}") -> list[str]:
    """A ``reusebench run`` of the tiny suite that would train for about a second if the input were good."""
    args = ["run", "--suite", "{suite}", "--teacher", "{model}", "--quiet", "--bootstrap", "10"]
    return args + (["--out", out] if out is not None else []) + list(extra)


# -- the catalogue ----------------------------------------------------------------------------------


def _link(name: str, target: str) -> Callable[[Path], None]:
    """A setup: ``root/name`` becomes a symbolic link to ``root/target``."""

    def setup(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            path.unlink()
        path.symlink_to(root / target)

    return setup


def _files(files: dict[str, str]) -> Callable[[Path], None]:
    """A setup: write ``files`` (relative paths; a name ending in ``/`` is a folder)."""

    def setup(root: Path) -> None:
        for name, text in files.items():
            path = root / name
            if name.endswith("/"):
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    return setup


def _fifo(name: str) -> Callable[[Path], None]:
    return lambda root: os.mkfifo(root / name)


ENTRY = f"finetune/0123456789abcdef0123456789abcdef/{MANIFEST}"


@dataclass(frozen=True)
class Case:
    """One bad input: an optional setup, the command line, and what the one-line message must name."""

    id: str
    argv: list[str]
    expect: list[str]
    setup: Callable[[Path], None] | None = None


CLEAN = ["cache", "clean", "--cache-dir"]
COMPARE = ["compare", "{fixture}", "{fixture}"]

CASES: list[Case] = [
    # --- 1. the cache: only a marked reusebench cache is touched, and only what reusebench wrote --------
    Case("clean-foreign-folder", [*CLEAN, "{decoy}"], ["{decoy}", "not a reusebench cache", CACHE_MARKER]),
    Case("info-foreign-folder", ["cache", "info", "--cache-dir", "{decoy}"], ["{decoy}", "not a reusebench cache"]),
    Case("clean-foreign-folder-older-than", [*CLEAN, "{decoy}", "--older-than", "0"], ["{decoy}", "not a reusebench"]),
    Case("clean-folder-holding-a-file", [*CLEAN, "{root}/notes-dir"], ["{root}/notes-dir", "'todo.txt'"],
         _files({"notes-dir/todo.txt": "buy milk\n"})),
    Case("clean-stage-named-folder-of-user-files", [*CLEAN, "{root}/look"], ["{root}/look", "'finetune'"],
         _files({"look/finetune/my-work/thesis.tex": "\\begin{document}\n"})),
    Case("clean-old-cache-plus-foreign-folder", [*CLEAN, "{root}/old"], ["{root}/old", "'Documents'"],
         _files({f"old/{ENTRY}": "{}", "old/Documents/cv.txt": "me\n"})),
    Case("clean-cache-dir-is-a-file", [*CLEAN, "{root}/notes.txt"], ["{root}/notes.txt", "not a folder"]),
    Case("clean-cache-dir-is-a-fifo", [*CLEAN, "{root}/pipe"], ["{root}/pipe", "not a folder"], _fifo("pipe")),
    Case("clean-marker-newer-format", [*CLEAN, "{root}/future"], ["{root}/future", "format 99", "newer"],
         _files({f"future/{CACHE_MARKER}": '{"format": 99}', f"future/{ENTRY}": "{}"})),
    Case("clean-marker-not-json", [*CLEAN, "{root}/odd"], [CACHE_MARKER, "not a valid reusebench cache marker"],
         _files({f"odd/{CACHE_MARKER}": "hello", "odd/Documents/cv.txt": "me\n"})),
    Case("clean-marker-is-a-symlink", [*CLEAN, "{root}/linked"], [CACHE_MARKER, "not a valid reusebench cache"],
         lambda root: (_files({"linked/Documents/cv.txt": "me\n"})(root),
                       _link(f"linked/{CACHE_MARKER}", f"cache/{CACHE_MARKER}")(root))),
    Case("clean-older-than-negative", [*CLEAN, "{cache}", "--older-than", "-1"], ["--older-than", "finite", "'-1'"]),
    Case("clean-older-than-nan", [*CLEAN, "{cache}", "--older-than", "nan"], ["--older-than", "'nan'"]),
    Case("clean-older-than-inf", [*CLEAN, "{cache}", "--older-than", "inf"], ["--older-than", "'inf'"]),
    Case("clean-older-than-minus-inf", [*CLEAN, "{cache}", "--older-than=-inf"], ["--older-than", "'-inf'"]),
    Case("clean-older-than-overflow", [*CLEAN, "{cache}", "--older-than", "1e999"], ["--older-than", "'1e999'"]),
    Case("clean-older-than-word", [*CLEAN, "{cache}", "--older-than", "soon"], ["--older-than", "'soon'"]),
    Case("info-with-older-than", ["cache", "info", "--cache-dir", "{cache}", "--older-than", "3"],
         ["--older-than", "'cache clean' only"]),
    Case("cache-dir-empty", [*CLEAN, ""], ["--cache-dir", "must not be empty"]),
    Case("run-cache-dir-foreign", run_args("--cache-dir", "{decoy}"), ["{decoy}", "not a reusebench cache"]),
    Case("plan-cache-dir-foreign", run_args("--cache-dir", "{decoy}", "--dry-run"), ["{decoy}", "not a reusebench"]),
    Case("run-cache-dir-is-a-file", run_args("--cache-dir", "{root}/notes.txt"), ["notes.txt", "not a folder"]),
    Case("run-cache-dir-under-a-file", run_args("--cache-dir", "{root}/notes.txt/cache"),
         ["{root}/notes.txt/cache", "cannot be created", "not a folder"]),
    Case("plan-out-is-a-symlink", run_args("--dry-run", out="{root}/link-out"), ["--out", "symbolic link"],
         _link("link-out", "decoy")),
    # --- 2. outputs: never through a link, never outside the folder asked for, nothing left behind --------
    Case("out-is-a-symlink", run_args(out="{root}/link-out"), ["--out {root}/link-out", "symbolic link"],
         _link("link-out", "decoy")),
    Case("out-is-a-file", run_args(out="{decoy}/Documents/letter.txt"), ["letter.txt", "not a folder"]),
    Case("out-is-a-fifo", run_args(out="{root}/pipe"), ["--out {root}/pipe", "not a folder"], _fifo("pipe")),
    Case("out-scorecard-is-a-symlink", run_args(), ["{out}/scorecard.md", "symbolic link"],
         _link("out/scorecard.md", "decoy/Documents/letter.txt")),
    Case("out-results-is-a-symlink", run_args(out="{root}/o2"), ["{root}/o2/results.json", "symbolic link"],
         _link("o2/results.json", "decoy/Documents/letter.txt")),
    Case("out-log-is-a-symlink", run_args(), ["{out}/run.log", "symbolic link"],
         _link("out/run.log", "decoy/Documents/letter.txt")),
    Case("out-report-is-a-folder", run_args(), ["{out}/report.html", "not a regular file"],
         _files({"out/report.html/": ""})),
    Case("out-artifacts-is-a-symlink", run_args(), ["{out}/artifacts", "symbolic link"],
         _link("out/artifacts", "decoy")),
    Case("out-own-cache-is-foreign", run_args("--no-cache"), ["{out}/cache", "not a reusebench cache"],
         _files({"out/cache/Documents/cv.txt": "me\n"})),
    Case("out-empty", run_args(out=""), ["--out", "must not be empty"]),
    Case("out-control-character", run_args(out="{root}/a\nb"), ["--out", "control character"]),
    Case("refused-run-new-out", run_args("--tasks", "{task},{root}/copy/task.yaml", out="{root}/fresh/run"),
         ["--tasks", "same task 'cli-sentiment'"], _files({"copy/task.yaml": yaml.safe_dump(TASK)})),
    Case("refused-run-default-out", run_args("--tasks", "sst3", out=None), ["unknown task 'sst3'"]),
    Case("refused-run-existing-out-writes-no-log", run_args("--tasks", "sst3"), ["unknown task 'sst3'"]),
    # --- 3. every numeric flag, checked as it is parsed -------------------------------------------------
    Case("seed-negative", run_args("--seed", "-1"), ["--seed", "0 to 4294967295", "'-1'"]),
    Case("seed-too-large", run_args("--seed", "4294967296"), ["--seed", "'4294967296'"]),
    Case("seed-fraction", run_args("--seed", "1.5"), ["--seed", "'1.5'"]),
    Case("seed-plus-repeats-too-large", run_args("--seed", "4294967295", "--repeat-seeds", "2"),
         ["--seed 4294967296", "--repeat-seeds"]),
    Case("repeat-seeds-zero", run_args("--repeat-seeds", "0"), ["--repeat-seeds", "'0'"]),
    Case("repeat-seeds-huge", run_args("--repeat-seeds", "100000"), ["--repeat-seeds", "'100000'"]),
    Case("threads-negative", run_args("--threads", "-1"), ["--threads", "'-1'"]),
    Case("threads-huge", run_args("--threads", "100000"), ["--threads", "'100000'"]),
    Case("threads-nan", run_args("--threads", "nan"), ["--threads", "'nan'"]),
    Case("bootstrap-zero", run_args("--bootstrap", "0"), ["--bootstrap", "'0'"]),
    Case("bootstrap-huge", run_args("--bootstrap", "1000000000"), ["--bootstrap", "'1000000000'"]),
    Case("max-train-nan", run_args("--max-train", "nan"), ["--max-train", "'nan'"]),
    Case("max-eval-float-notation", run_args("--max-eval", "1e3"), ["--max-eval", "'1e3'"]),
    Case("ray-cpus-nan", run_args("--ray-cpus-per-unit", "nan"), ["--ray-cpus-per-unit", "'nan'"]),
    Case("ray-cpus-inf", run_args("--ray-cpus-per-unit", "inf"), ["--ray-cpus-per-unit", "'inf'"]),
    Case("ray-cpus-negative", run_args("--ray-cpus-per-unit", "-2"), ["--ray-cpus-per-unit", "> 0"]),
    Case("ray-cpus-zero", run_args("--ray-cpus-per-unit", "0"), ["--ray-cpus-per-unit", "> 0"]),
    Case("ray-gpus-negative", run_args("--ray-gpus-per-unit", "-1"), ["--ray-gpus-per-unit", "'-1'"]),
    Case("ray-gpus-inf", run_args("--ray-gpus-per-unit", "inf"), ["--ray-gpus-per-unit", "'inf'"]),
    Case("compare-score-drop-negative", [*COMPARE, "--max-score-drop", "-0.5"], ["--max-score-drop", "'-0.5'"]),
    Case("compare-score-drop-inf", [*COMPARE, "--max-score-drop", "inf"], ["--max-score-drop", "'inf'"]),
    Case("compare-latency-nan", [*COMPARE, "--max-latency-increase", "nan"], ["--max-latency-increase", "'nan'"]),
    Case("compare-latency-negative", [*COMPARE, "--max-latency-increase", "-1"], ["--max-latency-increase"]),
    # --- 3. names, lists and choices ---------------------------------------------------------------------
    Case("tasks-only-a-comma", run_args("--tasks", ","), ["--tasks", "','"]),
    Case("tasks-empty", run_args("--tasks", ""), ["--tasks", "must not be empty"]),
    Case("tasks-empty-item", run_args("--tasks", "{task},,{task}"), ["--tasks", "empty task name"]),
    Case("tasks-leading-comma", run_args("--tasks", ",{task}"), ["--tasks", "empty task name"]),
    Case("tasks-repeated", run_args("--tasks", "sentiment,sentiment"), ["--tasks", "'sentiment'"]),
    Case("tasks-same-by-name-and-file", run_args("--tasks", "sentiment,{sentiment_yaml}"),
         ["--tasks", "same task 'sentiment'"]),
    Case("student-empty", run_args("--student", ""), ["--student", "must not be empty"]),
    Case("student-blank", run_args("--student", "   "), ["--student", "must not be empty"]),
    Case("teacher-empty", ["run", "--suite", "{suite}", "--teacher", "", "--out", "{out}"], ["--teacher", "empty"]),
    Case("teacher-nul-byte", ["run", "--suite", "{suite}", "--teacher", "a\x00b", "--out", "{out}"],
         ["--teacher", "control character"]),
    Case("suite-empty", ["run", "--suite", "", "--out", "{out}"], ["--suite", "must not be empty"]),
    Case("data-dir-empty", run_args("--data-dir", ""), ["--data-dir", "must not be empty"]),
    Case("device-unknown", run_args("--device", "tpu"), ["--device", "'tpu'"]),
    Case("device-wrong-case", run_args("--device", "CUDA"), ["--device", "'CUDA'"]),
    Case("force-unknown-stage", run_args("--force", "everything"), ["--force everything", "finetune"]),
    Case("force-empty", run_args("--force", ""), ["--force", "must not be empty"]),
    Case("executor-unknown", run_args("--executor", "slurm"), ["--executor", "'slurm'"]),
    Case("db-unknown-dialect", run_args("--db", "nosuchdb://host/x"), ["--db", "nosuchdb"]),
    Case("db-not-a-database", run_args("--db", "{root}/notes.txt"), ["--db", "notes.txt", "not a SQLite database"]),
    Case("db-is-a-folder", run_args("--db", "{decoy}"), ["--db", "{decoy}", "not a regular file"]),
    Case("db-empty", run_args("--db", ""), ["--db", "must not be empty"]),
]


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``reusebench argv`` in this process; argparse usage errors exit through SystemExit."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code) if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root``: a folder, a link (and its target) or a file (and its SHA-256)."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            rel = str(path.relative_to(root))
            if rel.split(os.sep)[0] in IGNORED or name.startswith("store.db"):
                continue
            if path.is_symlink():
                found[rel] = "link -> " + os.readlink(path)
            elif path.is_dir():
                found[rel] = "folder"
            elif path.is_file():
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[rel] = "special"
    return found


def test_the_catalogue_is_large_and_its_ids_are_distinct() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 25


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    case: Case, ws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(ws["root"])
    if case.setup is not None:
        case.setup(root)
    before, stored = snapshot(root), _stored(ws["db"])

    code, _, err = _cli([a.format(**ws) for a in case.argv], capsys)

    assert_one_line_error(code, err, [fragment.format(**ws) for fragment in case.expect])
    assert snapshot(root) == before  # nothing deleted, written through a link, marked or left behind
    assert _stored(ws["db"]) == stored


# -- what the cache does remove, and how ------------------------------------------------------------------


def _entry(cache: StageCache, stage: str, key: str) -> Path:
    with cache.write(stage, key) as (folder, _):
        (folder / "f").write_bytes(b"x" * 10)
    return cache.path_for(stage, key)


def test_clean_removes_only_what_reusebench_wrote_and_follows_no_link(ws, capsys) -> None:
    root, cache = Path(ws["root"]), StageCache(ws["cache"])
    decoy_before = snapshot(Path(ws["decoy"]))
    _entry(cache, "distill", "a" * 32)
    (cache.root / "finetune" / "linked-entry").symlink_to(ws["decoy"])  # a link where an entry would be
    (cache.root / "export").symlink_to(ws["decoy"])  # a whole stage folder that is a link
    (cache.root / "record").mkdir()
    (cache.root / "record" / "notes.txt").write_text("mine")  # not an entry: kept
    (cache.root / "record" / "mine").mkdir()  # a folder without a manifest: kept
    stale = cache.root / "distill" / ".tmp-abc-x1y2"
    stale.mkdir()
    os.utime(stale, (0, 0))
    (cache.root / "datasets").mkdir()
    (cache.root / "datasets" / "arrow-1").mkdir()
    (cache.root / "datasets" / "arrow-1" / "data.arrow").write_bytes(b"y" * 100)
    (cache.root / "datasets" / "linked").symlink_to(root / "decoy" / "Documents")

    code, out, err = _cli(["cache", "info", "--cache-dir", ws["cache"]], capsys)
    assert code == 0, err
    assert "datasets: 2 items" in out and "finetune: 1 entries" in out and "distill: 1 entries" in out

    code, out, err = _cli(["cache", "clean", "--cache-dir", ws["cache"]], capsys)
    assert code == 0, err
    assert "removed 5 entries" in out  # 2 entries, 1 stale temporary folder, 2 derived items
    assert snapshot(Path(ws["decoy"])) == decoy_before
    assert (cache.root / "finetune" / "linked-entry").is_symlink()
    assert (cache.root / "export").is_symlink()
    assert (cache.root / "record" / "notes.txt").read_text() == "mine" and (cache.root / "record" / "mine").is_dir()
    assert sorted(p.name for p in (cache.root / "datasets").iterdir()) == []
    assert (cache.root / CACHE_MARKER).is_file()


def test_a_cache_made_before_the_marker_is_adopted(tmp_path, capsys) -> None:
    legacy = StageCache(tmp_path / "old")
    _entry(legacy, "finetune", "b" * 32)
    _entry(legacy, "record", "c" * 32)
    (tmp_path / "old" / CACHE_MARKER).unlink()  # as an older reusebench left it
    code, out, err = _cli(["cache", "info", "--cache-dir", str(tmp_path / "old")], capsys)
    assert code == 0 and "made before the cache marker" in out, err
    assert not (tmp_path / "old" / CACHE_MARKER).exists()  # info writes nothing
    code, out, err = _cli(["cache", "clean", "--cache-dir", str(tmp_path / "old")], capsys)
    assert code == 0 and "removed 2 entries" in out, err
    assert json.loads((tmp_path / "old" / CACHE_MARKER).read_text())["format"] == 1


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_a_missing_or_empty_folder_is_an_empty_cache(tmp_path, capsys, folder) -> None:
    path = tmp_path / folder
    if folder == "empty":
        path.mkdir()
    for action in ("info", "clean"):
        code, out, err = _cli(["cache", action, "--cache-dir", str(path)], capsys)
        assert code == 0, err
        assert str(path) in out
    assert not path.exists() or list(path.iterdir()) == []  # neither creates nor marks anything


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"seed": -1}, "--seed -1"),
        ({"seed": 2**32}, "--seed 4294967296"),
        ({"seed": True}, "--seed True"),
        ({"extra_seeds": [2**32 + 5]}, "--seed 4294967301"),
        ({"threads": 0}, "--threads 0"),
        ({"bootstrap_resamples": -3}, "--bootstrap -3"),
        ({"max_train": 2.5}, "--max-train 2.5"),
        ({"ray_cpus_per_unit": float("nan")}, "--ray-cpus-per-unit nan"),
        ({"ray_gpus_per_unit": float("inf")}, "--ray-gpus-per-unit inf"),
        ({"device": "tpu"}, "--device 'tpu'"),
        ({"tasks": []}, "--tasks []"),
        ({"tasks": ["sentiment", "sentiment"]}, "listed twice"),
        ({"students": [""]}, "--student"),
    ],
)
def test_the_python_api_checks_the_same_values(changes, fragment) -> None:
    from tasks.errors import ReusebenchError

    options = RunOptions(suite=get_suite("quick"), **changes)
    with pytest.raises(ReusebenchError) as info:
        options.check()
    assert fragment in str(info.value)


@pytest.mark.slow
def test_a_good_run_marks_its_cache_logs_and_cleans(ws, capsys) -> None:
    """Trains the tiny teacher and student (16 examples): the cache is created with its marker, run.log starts
    at the checked inputs, and ``cache clean`` then removes every entry the run wrote and nothing else."""
    argv = [a.format(**ws) for a in run_args("--cache-dir", "{root}/fresh-cache", "--max-train", "8", "--max-eval", "4")]
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    cache_root = Path(ws["root"]) / "fresh-cache"
    assert json.loads((cache_root / CACHE_MARKER).read_text())["format"] == 1
    assert "inputs checked" in (Path(ws["out"]) / "run.log").read_text()
    assert (Path(ws["out"]) / "scorecard.md").read_text() != "# an earlier scorecard\n"
    (cache_root / "mine.txt").write_text("kept")
    # The stored run still uses its models: without a terminal, clean refuses unless --yes (tests/test_ship.py).
    code, out, err = _cli(["cache", "clean", "--cache-dir", str(cache_root)], capsys)
    assert code == 2 and "--yes" in err and [p for p in cache_root.rglob(MANIFEST)], err
    code, out, err = _cli(["cache", "clean", "--cache-dir", str(cache_root), "--yes"], capsys)
    assert code == 0 and "removed 0 entries" not in out, err
    assert (cache_root / "mine.txt").read_text() == "kept"
    assert not [p for p in cache_root.rglob(MANIFEST)]
