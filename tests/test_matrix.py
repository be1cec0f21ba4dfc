"""Experiment matrices (several teachers x students x tasks) and the Ray executor on a local Ray instance."""

import json
import os
from pathlib import Path

import pytest

from harness.cli import main
from tests.tiny_models import save_tiny_model

pytestmark = pytest.mark.slow  # every test here trains and measures models end to end

SUITE = """
name: matrix
tasks: [sentiment, similarity]
teachers: ["{a}", "{b}"]
students: ["layers=1"]
formats: [pytorch]
measure: {{batch_sizes: [1], warmup: 1, min_iterations: 3, min_seconds: 0.05, threads: 1}}
"""


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    root = tmp_path_factory.mktemp("matrix")
    a = save_tiny_model(root / "tiny-a", layers=2, max_positions=128)
    b = save_tiny_model(root / "tiny-b", layers=3, max_positions=128)
    suite = root / "suite.yaml"
    suite.write_text(SUITE.format(a=a, b=b))
    return root, suite


def argv(root: Path, suite: Path, out: str, *extra: str) -> list[str]:
    return [
        "run", "--suite", str(suite), "--out", str(root / out), "--cache-dir", str(root / f"cache-{out}"),
        "--quiet", "--max-train", "48", "--max-eval", "24", "--bootstrap", "50", "--threads", "1", *extra,
    ]


def load(root: Path, out: str) -> dict:
    return json.loads((root / out / "results.json").read_text())


def test_matrix_runs_every_teacher_on_every_task(matrix):
    root, suite = matrix
    assert main(argv(root, suite, "local")) == 0
    results = load(root, "local")
    records = results["records"]
    # 2 tasks x 2 teachers x (teacher + 1 student) x 1 format
    assert len(records) == 8
    assert {(r["task"], r["teacher"]) for r in records} == {
        (task, teacher) for task in ("sentiment", "similarity") for teacher in ("tiny-a", "tiny-b")
    }
    assert all(r["status"] == "ok" for r in records), [r["status_reason"] for r in records]
    students = {r["model"]: r for r in records if r["role"] == "student"}
    assert set(students) == {"tiny-a-layers1", "tiny-b-layers1"}
    # Each student's scorecard compares it with its own teacher, never with the other one.
    for card in results["scorecards"]:
        if card["role"] == "student":
            assert card["student"].startswith(card["teacher"] + "-"), card
    assert len(results["scorecards"]) == 4  # one per (task, teacher): its student
    assert results["config"]["teachers"] == [str(root / "tiny-a"), str(root / "tiny-b")]
    assert (root / "local" / "artifacts" / "sentiment" / "tiny-a").is_dir()


def test_dry_run_lists_every_teacher(matrix, capsys):
    root, suite = matrix
    capsys.readouterr()
    assert main([*argv(root, suite, "local"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("| finetune |") == 4
    assert "| sentiment | distill | layers=1 from tiny-b | yes |" in out


def test_teacher_flag_is_repeatable_and_overrides_the_suite(matrix):
    root, suite = matrix
    assert main([*argv(root, suite, "one", "--teacher", str(root / "tiny-b")), "--tasks", "sentiment"]) == 0
    assert {r["teacher"] for r in load(root, "one")["records"]} == {"tiny-b"}


def test_ray_executor_gives_the_local_results(matrix):
    ray = pytest.importorskip("ray") if os.environ.get("REUSEBENCH_SKIP_RAY") else __import__("ray")
    root, suite = matrix
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {k: v for k, v in os.environ.items() if k.startswith(("HF_", "REUSEBENCH_"))}})
    try:
        assert main(argv(root, suite, "ray", "--executor", "ray")) == 0
    finally:
        ray.shutdown()
    local, remote = load(root, "local")["records"], load(root, "ray")["records"]
    assert [(r["task"], r["model"], r["format"]) for r in remote] == [(r["task"], r["model"], r["format"]) for r in local]
    # Same seeds, same thread count: the Ray workers train and evaluate exactly what the local run did.
    assert [r["metrics"] for r in remote] == [r["metrics"] for r in local]
    assert all(r["worker"]["executor"] == "ray" and r["worker"]["pid"] != os.getpid() for r in remote)
    assert not any(r.get("cached") for r in remote)  # its own cache: nothing was reused from the local run
    assert load(root, "ray")["config"]["executor"] == "ray"


def test_suite_with_teacher_and_teachers_is_refused(tmp_path, capsys):
    suite = tmp_path / "both.yaml"
    suite.write_text("name: both\ntasks: [sentiment]\nteacher: minilm\nteachers: [minilm]\n")
    assert main(["run", "--suite", str(suite), "--dry-run"]) == 2
    assert "either 'teacher' or 'teachers'" in capsys.readouterr().err
