"""End to end with a task kind that lives in tests/: registering it is all a new kind needs.

The toy kind (``tests/toy_kind.py``, binary length classification) runs the whole pipeline on a tiny
random BERT: fine-tuning, distillation, evaluation, latency and the report, through ``reusebench run``.
"""

from __future__ import annotations

import json

import pytest

from tests.tiny_models import save_tiny_model
from tests.toy_kind import TOY_TASK, registered_toy_kind

SUITE = """
name: toy
tasks: ["{task}"]
students: ["layers=1"]
formats: [pytorch]
measure: {{batch_sizes: [1], warmup: 1, min_iterations: 3, min_seconds: 0.05, threads: 1}}
"""


@pytest.mark.slow
def test_toy_kind_runs_end_to_end(tmp_path):
    from harness.cli import main

    teacher = save_tiny_model(tmp_path / "tiny-bert", layers=2, max_positions=128)
    task = tmp_path / "toy-length.yaml"
    task.write_text(TOY_TASK)
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(task=task))
    argv = ["run", "--suite", str(suite), "--teacher", str(teacher), "--out", str(tmp_path / "run"),
            "--cache-dir", str(tmp_path / "cache"), "--quiet", "--max-train", "64", "--max-eval", "32",
            "--bootstrap", "50", "--threads", "1"]
    with registered_toy_kind():
        assert main(argv) == 0
    records = json.loads((tmp_path / "run" / "results.json").read_text())["records"]
    assert {(r["role"], r["format"]) for r in records} == {("teacher", "pytorch"), ("student", "pytorch")}
    for record in records:
        assert record["kind"] == "toy" and record["task"] == "toy-length"
        assert record["status"] == "ok", record.get("status_reason")
        assert 0.0 <= record["score"] <= 1.0 and set(record["metrics"]) >= {"accuracy", "f1"}
