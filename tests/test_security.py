"""Hostile input: YAML code tags, script tags in names, path traversal, remote code, pickles, the network.

Nothing here trains a model: every refusal happens before training starts.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixture_runs import FIXTURE, rename_model, variant, write_run
from tiny_models import save_remote_code_model, save_tiny_model

from harness import models, students
from harness.cli import _prepare_run_dir, build_parser, main
from leaderboard.site import task_slug
from leaderboard.store import Store
from tasks.errors import ConfigError, ModelError

REPO = Path(__file__).resolve().parents[1]
XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
STUDENT = "all-MiniLM-L6-v2-layers3"
TINY_SUITE = "name: tiny\ntasks: [sentiment]\nstudents: ['layers=1']\nformats: [pytorch]\n"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the command line in this process."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = int(exc.code) if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str) -> str:
    """Assert exit 2 with one stderr line and no traceback; return the line."""
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err.strip()


@pytest.fixture(autouse=True)
def _own_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs refused here would never reach the caches; if one did, it writes to the test's folder."""
    import datasets

    monkeypatch.setenv("REUSEBENCH_CACHE", str(tmp_path / "stage-cache"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets-cache")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT with safetensors weights."""
    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


# -- YAML is loaded safely ----------------------------------------------------------------------------

CODE_TAGS = [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/apply:subprocess.call [['touch', '{marker}']]",
    "!!python/object/new:os.system ['touch {marker}']",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:pathlib.Path {{}}",
]


def _task_with(tag: str, marker: Path) -> str:
    return (
        f"name: {tag.format(marker=marker)}\nkind: classification\n"
        "data: {source: builtin, generator: sentiment}\nlabels: [a, b]\nprimary_metric: accuracy\n"
    )


@pytest.mark.parametrize("tag", CODE_TAGS, ids=[t.split()[0] for t in CODE_TAGS])
def test_a_code_tag_in_a_task_file_is_an_error_and_never_runs(tmp_path, capsys, tag):
    marker = tmp_path / "pwned"
    task = tmp_path / "evil.yaml"
    task.write_text(_task_with(tag, marker), encoding="utf-8")
    for argv in (["validate", task], ["run", "--tasks", task, "--out", tmp_path / "out", "--quiet"]):
        line = one_line_error(*cli(capsys, *argv)[::2])
        assert "evil.yaml" in line and "invalid YAML" in line
    assert not marker.exists()


def test_a_code_tag_in_a_suite_file_is_an_error_and_never_runs(tmp_path, capsys):
    marker = tmp_path / "pwned"
    suite = tmp_path / "evil-suite.yaml"
    suite.write_text(f"name: s\ntasks: [sentiment]\nteacher: !!python/object/apply:os.system ['touch {marker}']\n")
    for argv in (["validate", suite], ["run", "--suite", suite, "--out", tmp_path / "out", "--quiet"]):
        line = one_line_error(*cli(capsys, *argv)[::2])
        assert "evil-suite.yaml" in line and "invalid YAML" in line and "python/object/apply" in line
    assert not marker.exists()


def test_the_real_command_refuses_a_code_tag_in_a_fresh_process(tmp_path):
    """As a user would run it: a separate process, real stderr, nothing captured or patched."""
    marker = tmp_path / "pwned"
    task = tmp_path / "evil.yaml"
    task.write_text(_task_with(CODE_TAGS[0], marker), encoding="utf-8")
    suite = tmp_path / "evil-suite.yaml"
    suite.write_text(f"name: s\ntasks: !!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8")
    for path in (task, suite):
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli", "validate", str(path)],
            cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
        assert path.name in done.stderr and "invalid YAML" in done.stderr
    assert not marker.exists()


ALIAS_BOMB = "\n".join(
    ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
)


@pytest.mark.parametrize("field", ["kind", "data: {source"])
def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path, capsys, field):
    task = tmp_path / "bomb.yaml"
    value = "*a8" if field == "kind" else "*a8}"
    task.write_text(f"{ALIAS_BOMB}\nname: bomb\n{field}: {value}\nprimary_metric: accuracy\n", encoding="utf-8")
    started = time.perf_counter()
    line = one_line_error(*cli(capsys, "validate", task)[::2])
    # Refused before validation walks its 10^9 values (that took minutes and 15 GB of memory).
    assert time.perf_counter() - started < 10
    assert "bomb.yaml" in line and "alias bomb" in line and len(line) < 2000


# -- user strings are escaped in every output ------------------------------------------------------------


def test_a_script_tag_in_a_model_name_is_escaped_in_report_scorecard_and_leaderboard(tmp_path, capsys):
    run_dir = write_run(tmp_path / "run", variant(rename_model(STUDENT, XSS), run_id="xss-run")).parent
    assert main(["report", str(run_dir)]) == 0
    shown = capsys.readouterr().out
    assert XSS not in shown
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert XSS not in report and ESCAPED in report
    scorecard = (run_dir / "scorecard.md").read_text(encoding="utf-8")
    assert XSS not in scorecard and "&lt;script&gt;" in scorecard

    site = tmp_path / "site"
    db = f"sqlite:///{tmp_path / 'lb.db'}"
    assert main(["leaderboard", "--db", db, "--add", str(run_dir), "--out", str(site)]) == 0
    capsys.readouterr()
    pages = [site / "index.html", site / f"{task_slug('tiny-sentiment')}.html"]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert XSS not in text and ESCAPED in text, page.name
    board = (site / "leaderboard.md").read_text(encoding="utf-8")
    assert XSS not in board and "&lt;script&gt;" in board

    assert main(["compare", str(FIXTURE), str(run_dir)]) == 0
    assert XSS not in capsys.readouterr().out


# -- names cannot escape their directories --------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../etc", "..", "a/b", "/abs", "x\\..\\y", "UPPER", ""])
def test_a_task_or_suite_name_that_is_not_a_safe_folder_name_is_refused(tmp_path, capsys, name):
    task = tmp_path / "task.yaml"
    task.write_text(yaml.safe_dump({"name": name, "kind": "classification", "labels": ["a", "b"],
                                    "data": {"source": "builtin", "generator": "sentiment"},
                                    "primary_metric": "accuracy"}))
    line = one_line_error(*cli(capsys, "validate", task)[::2])
    assert "field 'name'" in line
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"name": name, "tasks": ["sentiment"]}))
    line = one_line_error(*cli(capsys, "run", "--suite", suite, "--out", tmp_path / "out", "--quiet")[::2])
    assert "field 'name'" in line


def test_a_task_name_with_a_path_is_read_as_a_file_not_joined_to_a_folder(tmp_path, capsys):
    line = one_line_error(*cli(capsys, "run", "--tasks", "../../../../etc/passwd", "--out", tmp_path / "o",
                               "--quiet")[::2])
    assert "etc/passwd" in line  # not a mapping of fields (or not found): never a task


@pytest.mark.parametrize("run_id", ["../../outside", "..", "/etc/cron.d/x", "a/../../b", "C:\\Windows", "x\x00y"])
def test_a_run_id_that_leaves_its_folder_is_refused_and_nothing_is_stored(tmp_path, capsys, run_id):
    results = write_run(tmp_path / "run", variant(lambda d: None, run_id=run_id))
    db = f"sqlite:///{tmp_path / 'lb.db'}"
    line = one_line_error(*cli(capsys, "leaderboard", "--db", db, "--add", results, "--out", tmp_path / "s")[::2])
    assert "run_id" in line and str(results) in line
    assert not (tmp_path / "s").exists()
    with Store(db) as store:
        assert store.count() == (0, 0)


@pytest.mark.parametrize("out", ["..", ".", "a/.."])
def test_the_run_id_of_a_run_folder_is_never_dot_or_dot_dot(tmp_path, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    run_dir = _prepare_run_dir(out, "unused")
    assert run_dir.name not in ("", ".", "..") and run_dir.is_dir()


# -- remote code and pickles only when asked for -----------------------------------------------------------


def test_remote_code_is_off_by_default_and_never_runs(tmp_path, capsys):
    marker = tmp_path / "remote-code-ran"
    folder = save_remote_code_model(tmp_path / "custom", marker)
    suite = tmp_path / "suite.yaml"
    suite.write_text(TINY_SUITE)
    line = one_line_error(*cli(capsys, "run", "--suite", suite, "--teacher", folder, "--out", tmp_path / "o",
                               "--quiet")[::2])
    assert str(folder) in line and "--trust-remote-code" in line
    assert not marker.exists()


def test_the_trust_remote_code_flag_reaches_every_loader(monkeypatch):
    assert build_parser().parse_args(["run"]).trust_remote_code is False
    assert build_parser().parse_args(["run", "--trust-remote-code"]).trust_remote_code is True
    seen: list[dict[str, Any]] = []

    class Loader:
        @staticmethod
        def from_pretrained(source: str, **kwargs: Any) -> Any:
            seen.append(kwargs)
            if kwargs.get("output_loading_info"):  # a model: (model, loading info)
                import torch

                return torch.nn.Module(), {"missing_keys": []}
            return source

    models._from_pretrained(Loader, "org/model")
    models._from_pretrained(Loader, "org/model", trust_remote_code=True)
    assert [k["trust_remote_code"] for k in seen] == [False, True]
    import transformers

    monkeypatch.setattr(transformers, "AutoTokenizer", Loader)
    monkeypatch.setattr(transformers, "AutoModelForSequenceClassification", Loader)
    models.load_tokenizer("org/model", trust_remote_code=True)
    models.load_model_for_kind("org/model", "AutoModelForSequenceClassification", {}, trust_remote_code=True)
    assert seen[-2]["trust_remote_code"] and seen[-1]["trust_remote_code"]
    assert seen[-1]["use_safetensors"] is True  # a Hub id: safetensors only unless pickles are allowed
    models.load_model_for_kind("org/model", "AutoModelForSequenceClassification", {}, allow_pickle=True)
    assert seen[-1]["use_safetensors"] is None and seen[-1]["trust_remote_code"] is False


def test_pickle_checkpoints_are_refused_unless_allowed(tmp_path):
    folder = save_tiny_model(tmp_path / "pickled", safe=False)
    assert (folder / "pytorch_model.bin").is_file() and not list(folder.glob("*.safetensors"))
    with pytest.raises(ModelError, match=r"pytorch_model\.bin.*--allow-pickle"):
        models.resolve_model_source(str(folder))
    with pytest.raises(ModelError, match="--allow-pickle"):  # the loader checks again
        models.load_model_for_kind(str(folder), "AutoModelForSequenceClassification", {"num_labels": 2})
    assert models.resolve_model_source(str(folder), allow_pickle=True) == str(folder)
    model = models.load_model_for_kind(
        str(folder), "AutoModelForSequenceClassification", {"num_labels": 2}, allow_pickle=True
    )
    assert model.config.num_labels == 2
    assert build_parser().parse_args(["run", "--allow-pickle"]).allow_pickle is True


def test_safetensors_are_preferred_when_both_are_there(tmp_path, tiny):
    folder = save_tiny_model(tmp_path / "both", safe=False)
    for name in ("model.safetensors",):
        (folder / name).write_bytes((tiny / name).read_bytes())
    (folder / "pytorch_model.bin").write_bytes(b"not a pickle: loading it would fail")
    model = models.load_model_for_kind(str(folder), "AutoModelForSequenceClassification", {"num_labels": 2})
    assert model.config.num_labels == 2


# -- offline means offline -------------------------------------------------------------------------------


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and refuse) every attempt to open a network connection or resolve a host name."""
    attempts: list[Any] = []

    def refuse(*args: Any, **_: Any) -> Any:
        attempts.append(args)
        raise OSError("network access attempted in a test")

    monkeypatch.setattr(socket.socket, "connect", lambda self, *a: refuse(*a))
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return attempts


@pytest.mark.parametrize("flag", ["--teacher", "--student"])
def test_a_hub_model_fails_fast_offline_without_touching_the_network(tmp_path, capsys, no_network, flag):
    suite = tmp_path / "suite.yaml"
    suite.write_text(TINY_SUITE)
    value = "some-org/some-model" if flag == "--teacher" else "model=some-org/some-model"
    line = one_line_error(*cli(capsys, "run", "--suite", suite, flag, value, "--out", tmp_path / "o",
                               "--quiet")[::2])
    assert "some-org/some-model" in line and "HF_HUB_OFFLINE" in line
    assert no_network == []


def test_a_hub_dataset_fails_fast_offline_without_touching_the_network(tmp_path, capsys, no_network, tiny):
    task = tmp_path / "hub-task.yaml"
    task.write_text(yaml.safe_dump({"name": "hub-task", "kind": "classification", "labels": ["a", "b"],
                                    "data": {"source": "hub", "id": "some-org/some-dataset"},
                                    "max_length": 32, "primary_metric": "accuracy"}))
    suite = tmp_path / "suite.yaml"
    suite.write_text(TINY_SUITE)
    line = one_line_error(*cli(capsys, "run", "--suite", suite, "--tasks", task, "--teacher", tiny,
                               "--out", tmp_path / "o", "--quiet")[::2])
    assert "some-org/some-dataset" in line
    assert no_network == []


def test_student_labels_are_safe_folder_names():
    for text in ("model=../../x", "model=..", "model=/etc/passwd", "model=a\\b", f"model={XSS}"):
        label = students.parse_student(text).label
        assert "/" not in label and "\\" not in label and label not in (".", "..")
    with pytest.raises(ConfigError):
        students.parse_student("layers=../x")


def test_results_written_by_a_run_are_valid_json_without_nan(tmp_path):
    """``allow_nan=False``: a results file never holds NaN or Infinity, which other JSON readers reject."""
    from harness.results import RunResults, save_results

    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    data["records"][0]["score"] = float("nan")
    with pytest.raises(ValueError):
        save_results(RunResults.model_validate(data), tmp_path / "results.json")
    assert not (tmp_path / "results.json").exists()
