"""Cached stages: an identical run reuses everything, a changed parameter reruns only what it affects,
and a run killed mid-way resumes with the same command."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli import main
from tests.tiny_models import save_tiny_model

pytestmark = pytest.mark.slow  # every test here trains and measures models end to end

SUITE = """
name: cached
tasks: [sentiment]
students: ["layers=2"]
formats: [pytorch, onnx, onnx-int8]
measure: {{batch_sizes: [1], warmup: 1, min_iterations: 3, min_seconds: 0.05, threads: 1}}
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache-run")
    teacher = save_tiny_model(root / "tiny-bert", layers=4, max_positions=128)
    suite = root / "suite.yaml"
    suite.write_text(SUITE.format())
    return root, teacher, suite


def argv(root: Path, teacher: Path, suite: Path, out: str, *extra: str) -> list[str]:
    return [
        "run", "--suite", str(suite), "--teacher", str(teacher), "--out", str(root / out),
        "--cache-dir", str(root / "cache"), "--quiet", "--max-train", "64", "--max-eval", "32",
        "--bootstrap", "50", *extra,
    ]


def results(root: Path, out: str) -> dict:
    return json.loads((root / out / "results.json").read_text())


def test_identical_run_reuses_everything_and_is_10x_faster(setup, capsys):
    root, teacher, suite = setup
    assert main(argv(root, teacher, suite, "first")) == 0
    assert main(argv(root, teacher, suite, "second")) == 0
    first, second = results(root, "first"), results(root, "second")
    assert all(r.get("cached") for r in second["records"])
    assert [r["metrics"] for r in first["records"]] == [r["metrics"] for r in second["records"]]
    assert second["wall_s"] * 10 <= first["wall_s"], (first["wall_s"], second["wall_s"])


def test_changed_distillation_reruns_only_the_student(setup):
    root, teacher, suite = setup
    assert main(argv(root, teacher, suite, "third", "--student", "layers=1")) == 0
    log = (root / "third" / "run.log").read_text()
    assert "teacher: cached" in log
    assert "distilling student layers=1" in log
    assert "fine-tuning teacher" not in log
    records = results(root, "third")["records"]
    teacher_records = [r for r in records if r["role"] == "teacher"]
    assert teacher_records and all(r.get("cached") for r in teacher_records)
    assert not any(r.get("cached") for r in records if r["role"] == "student")


def test_force_recomputes_from_the_named_stage(setup):
    root, teacher, suite = setup
    assert main(argv(root, teacher, suite, "forced", "--force", "export")) == 0
    log = (root / "forced" / "run.log").read_text()
    assert "teacher: cached" in log and "exporting" in log


def test_retrained_teacher_reuses_nothing_downstream(setup, capsys):
    """A teacher whose entry was evicted is trained again under the same key; its student, exports and
    records must be made anew, not taken from the old teacher's (they would carry its cost and timings)."""
    root, teacher, suite = setup
    cache = root / "evicted-cache"
    shutil.copytree(root / "cache", cache)
    for entry in (cache / "finetune").iterdir():
        shutil.rmtree(entry)
    command = argv(root, teacher, suite, "retrained")
    command[command.index(str(root / "cache"))] = str(cache)
    capsys.readouterr()
    assert main([*command, "--dry-run"]) == 0
    assert "| sentiment | distill | layers=2 | no |" in capsys.readouterr().out
    assert main(command) == 0
    log = (root / "retrained" / "run.log").read_text()
    assert "fine-tuning teacher" in log and "distilling student layers=2" in log
    records = results(root, "retrained")["records"]
    assert len(records) == 5 and not any(r.get("cached") for r in records)


def test_dry_run_prints_the_plan_with_cache_state(setup, capsys):
    root, teacher, suite = setup
    capsys.readouterr()
    assert main([*argv(root, teacher, suite, "plan", "--dry-run"), "--student", "layers=3"]) == 0
    out = capsys.readouterr().out
    assert "| sentiment | finetune |" in out and "| yes |" in out  # the teacher is cached
    assert "| sentiment | distill | layers=3 | no |" in out
    assert "estimated time" in out
    assert not (root / "plan").exists()


@pytest.mark.parametrize(
    "stage,ready",
    [
        ("distillation", "finetune/*/.reusebench-entry.json"),  # the teacher is stored: now distilling
        ("export", "export/.tmp-*"),  # an export entry is being written
    ],
)
def test_killed_run_resumes(setup, stage, ready):
    root, teacher, suite = setup
    cache = root / f"kill-cache-{stage}"
    out = f"killed-{stage}"
    command = [sys.executable, "-m", "harness.cli", *argv(root, teacher, suite, out)]
    command[command.index(str(root / "cache"))] = str(cache)
    process = subprocess.Popen(command, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    # SIGKILL (no clean-up at all) as soon as the run is inside the stage.
    while time.time() < deadline and not list(cache.glob(ready)):
        assert process.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (root / out / "results.json").exists()
    resumed = subprocess.run(command, env=dict(os.environ), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    log = (root / out / "run.log").read_text()
    assert "teacher: cached" in log
    assert len(results(root, out)["records"]) == 5
