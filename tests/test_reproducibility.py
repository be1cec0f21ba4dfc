"""The same run twice with the same seed on CPU gives identical metrics and training losses."""

import json

import pytest

from harness.cli import main
from tests.tiny_models import save_tiny_model

pytestmark = pytest.mark.slow  # every test here trains and measures models end to end

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
    teacher = save_tiny_model(root / "tiny-bert", layers=4, max_positions=128)
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


def test_repeated_seeds_report_mean_and_std(tmp_path):
    teacher = save_tiny_model(tmp_path / "tiny-bert", layers=4, max_positions=128)
    suite = tmp_path / "repro.yaml"
    suite.write_text(SUITE.format())
    out = tmp_path / "seeds"
    argv = ["run", "--suite", str(suite), "--teacher", str(teacher), "--out", str(out), "--quiet", "--no-cache"]
    argv += ["--max-train", "64", "--max-eval", "32", "--seed", "3", "--repeat-seeds", "2", "--bootstrap", "50"]
    assert main(argv) == 0
    records = json.loads((out / "results.json").read_text())["records"]
    assert len(records) == 2  # one record per (model, format), not one per seed
    for record in records:
        stats = record["seed_scores"]
        assert stats["seeds"] == [3, 4] and len(stats["scores"]) == 2
        assert stats["scores"][0] == record["score"]
        assert min(stats["scores"]) <= stats["mean"] <= max(stats["scores"])
        assert stats["std"] >= 0
