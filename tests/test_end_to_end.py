"""One real run through the CLI: fine-tune, distill, export, quantize, evaluate, measure, report.

It uses the packaged MiniLM on a small slice of the built-in sentiment task so that it takes about
two minutes on two cores, and checks the results file against the contract and that the student learned
from its teacher.
"""

import json

import pytest

from harness.cli import main

pytestmark = pytest.mark.slow  # every test here trains and measures models end to end

TASK = """
name: tiny-sentiment
kind: classification
data: {source: builtin, generator: sentiment, train_size: 800, eval_size: 200, seed: 3}
columns: {text: text, label: label}
labels: [negative, positive]
max_length: 48
primary_metric: accuracy
training: {epochs: 2, learning_rate: 1.0e-4, batch_size: 16}
distillation: {epochs: 2, learning_rate: 2.0e-4}
"""

SUITE = """
name: tiny
tasks: [{task}]
students: ["layers=3"]
formats: [pytorch, onnx, onnx-int8]
# 200 eval examples: one example is 0.005 of accuracy, so int8 gets a tolerance of 10 examples.
export_tolerance: 0.05
measure: {{batch_sizes: [1, 8], warmup: 2, min_iterations: 5, min_seconds: 0.2, threads: 1}}
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    task = root / "tiny-sentiment.yaml"
    task.write_text(TASK)
    suite = root / "tiny.yaml"
    suite.write_text(SUITE.format(task=task))
    out = root / "run"
    code = main(["run", "--suite", str(suite), "--out", str(out), "--quiet", "--bootstrap", "200", "--seed", "1"])
    assert code == 0
    return out


def test_results_file_follows_the_contract(run_dir):
    results = json.loads((run_dir / "results.json").read_text())
    assert results["schema_version"] == 1
    for key in ("run_id", "created_at", "suite", "wall_s", "environment", "records", "scorecards"):
        assert key in results
    for key in ("python", "torch", "transformers", "onnxruntime", "cpu", "cpu_flags", "threads", "git_commit"):
        assert key in results["environment"]
    formats = {(r["role"], r["format"]) for r in results["records"]}
    assert formats == {
        ("teacher", "pytorch"),
        ("teacher", "onnx"),
        ("student", "pytorch"),
        ("student", "onnx"),
        ("student", "onnx-int8"),
    }
    for record in results["records"]:
        assert record["status"] == "ok", record.get("status_reason")
        low, high = record["score_ci"]
        assert low <= record["score"] <= high
        assert record["eval_examples"] == 200
        for key in ("batch_1", "batch_8"):
            block = record["latency_ms"][key]
            assert 0 < block["p50"] <= block["p90"] <= block["p99"]
            assert block["n"] >= 5
        assert record["size_mb"] > 0 and record["params"] > 0
        assert record["peak_rss_mb"] is not None
        if record["format"] == "pytorch":
            train = record["train"]
            assert train["wall_s"] > 0 and train["examples"] == 1600 and train["tokens"] > 0 and train["flops"] > 0
        else:
            assert record["train"] is None
            assert record["parity"]["passed"]


def test_teacher_learned_and_student_learned_from_teacher(run_dir):
    results = json.loads((run_dir / "results.json").read_text())
    by_key = {(r["role"], r["format"]): r for r in results["records"]}
    teacher = by_key[("teacher", "pytorch")]
    student = by_key[("student", "pytorch")]
    assert teacher["score"] >= 0.75  # chance is 0.5 on this balanced task
    assert student["teacher_agreement"] >= 0.75
    assert student["params"] < teacher["params"]
    # ONNX reproduces PyTorch: same predictions, logits within float tolerance.
    onnx = by_key[("teacher", "onnx")]
    assert onnx["parity"]["max_abs_diff"]["logits"] < 1e-3
    assert onnx["parity"]["prediction_agreement"] >= 0.99


def test_scorecards_and_markdown(run_dir):
    results = json.loads((run_dir / "results.json").read_text())
    cards = {(c["student"], c["format"]): c for c in results["scorecards"]}
    assert len(cards) == 4
    int8 = next(c for c in results["scorecards"] if c["format"] == "onnx-int8")
    assert int8["compression"] > 3  # 3 of 6 layers and int8 weights
    assert int8["retention"] > 0
    text = (run_dir / "scorecard.md").read_text()
    assert "reuse_score" in text and "tiny-sentiment" in text
    assert (run_dir / "run.log").read_text().count("evaluating") == 5
