"""The same run twice with the same seed on CPU gives identical metrics and training losses."""

import json

import pytest

from harness.cli import main
from tests.tiny_model import make_tiny_bert

SUITE = """
name: repro
tasks: [sentiment]
students: ["layers=2"]
formats: [pytorch]
measure: {{batch_sizes: [1], warmup: 1, min_iterations: 3, min_seconds: 0.05, threads: 1}}
"""


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("repro")
    teacher = make_tiny_bert(root / "tiny-bert")
    suite = root / "repro.yaml"
    suite.write_text(SUITE.format())
    runs = []
    for name in ("a", "b"):
        out = root / name
        argv = ["run", "--suite", str(suite), "--teacher", str(teacher), "--out", str(out), "--quiet"]
        argv += ["--max-train", "96", "--max-eval", "48", "--seed", "7", "--bootstrap", "100", "--no-cache"]
        assert main(argv) == 0
        runs.append(json.loads((out / "results.json").read_text()))
    return runs


def test_identical_metrics_and_losses(two_runs):
    first, second = two_runs
    assert len(first["records"]) == len(second["records"]) == 2
    for a, b in zip(first["records"], second["records"], strict=True):
        assert a["metrics"] == b["metrics"]
        assert a["score_ci"] == b["score_ci"]
        assert a["train"]["final_loss"] == b["train"]["final_loss"]
        assert a["train"]["tokens"] == b["train"]["tokens"]


def test_environment_records_seed_and_threads(two_runs):
    env = two_runs[0]["environment"]
    assert env["seed"] == 7
    assert env["threads"] >= 1 and env["measure_threads"] == 1
