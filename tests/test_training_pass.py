"""The training pass (harness.training_pass): units trained in lanes before the serial measuring pass give the
same models as training them in the run's own process, each credited to its lane, and a cached rerun has no pass."""

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness import training_pass
from harness.cli import main
from harness.options import RunOptions
from harness.training_pass import LANE_SPEED, die_with_parent, lane_count, pass_estimate_s
from tasks.registry import get_suite
from tests.tiny_models import save_tiny_model

SUITE = """
name: lanes
tasks: [sentiment, ner]
students: ["layers=1"]
formats: [pytorch, onnx]
measure: {{batch_sizes: [1], warmup: 1, min_iterations: 3, min_seconds: 0.05, threads: 1}}
"""
TRAINING = {"finetune", "distill"}
LANE_WORK = TRAINING | {"export"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("lanes")
    teacher = save_tiny_model(root / "tiny-bert", layers=2, max_positions=128)
    suite = root / "suite.yaml"
    suite.write_text(SUITE.format())
    return root, teacher, suite


def run(root: Path, teacher: Path, suite: Path, out: str, *extra: str) -> dict:
    argv = ["run", "--suite", str(suite), "--teacher", str(teacher), "--out", str(root / out), "--quiet",
            "--max-train", "48", "--max-eval", "24", "--bootstrap", "50", *extra]
    assert main(argv) == 0
    return json.loads((root / out / "results.json").read_text())


def scores(results: dict) -> dict:
    return {(r["task"], r["model"], r["format"]): (r["score"], (r.get("train") or {}).get("final_loss"))
            for r in results["records"]}


@pytest.mark.slow
def test_lanes_train_the_same_models_and_credit_each_to_its_lane(setup):
    root, teacher, suite = setup
    lanes = run(root, teacher, suite, "lanes", "--no-cache", "--training-lanes", "2")
    serial = run(root, teacher, suite, "serial", "--no-cache", "--training-lanes", "1", "--threads", "1")
    # One thread in a lane and one thread in the run's process: the same arithmetic, the same models.
    assert scores(lanes) == scores(serial)
    assert all(r["status"] == "ok" for r in lanes["records"])
    passed = lanes["profile"]["training_pass"]
    assert passed["lanes"] == 2 and passed["units"] == 2 and passed["threads_per_lane"] == 1 and passed["wall_s"] > 0
    assert passed["jobs"] == 2  # each unit's teacher chain (no adapted models here)
    training = [row for row in lanes["profile"]["rows"] if row["stage"] in TRAINING]
    assert len(training) == 4  # two tasks x (teacher, student)
    for row in training:
        assert row["tokens_per_s"] > 0, row
    lane_rows = [row for row in lanes["profile"]["rows"] if row["stage"] in LANE_WORK]
    assert len(lane_rows) == 8  # ... and each of the four models exported to ONNX in its lane
    for row in lane_rows:
        assert row["lane"] in (1, 2) and row["threads"] == 1 and not row["cached"] and row["wall_s"] > 0, row
    records = [row for row in lanes["profile"]["rows"] if row["stage"] == "record"]
    assert len(records) == 8 and all(row["lane"] is None for row in records)  # measured in the serial pass
    assert serial["profile"].get("training_pass") is None
    assert all(row.get("lane") is None for row in serial["profile"]["rows"])
    log = (root / "lanes" / "run.log").read_text()
    assert "training pass: 2 unit(s) as 2 jobs in 2 lanes" in log
    assert "of which a training pass in 2 lanes ~" in log.split("training pass: 2 unit(s)")[0]  # the header's estimate
    assert log.count("(made in the training pass)") == 8
    assert "fine-tuning teacher" in log and "distilling student layers=1" in log  # the lanes' lines reach run.log
    # the measurement servers import while the last job trains, not in front of the first records
    free = "a lane is free: starting the measurement servers (onnx at 1 thread(s), pytorch at 1 thread(s))"
    assert log.index(free) < log.index("training pass: done")


@pytest.mark.slow
def test_a_cached_rerun_has_no_training_pass(setup):
    root, teacher, suite = setup
    cache = ["--cache-dir", str(root / "cache"), "--training-lanes", "2"]
    first = run(root, teacher, suite, "first", *cache)
    second = run(root, teacher, suite, "second", *cache)
    assert first["profile"]["training_pass"]["units"] == 2
    assert second["profile"].get("training_pass") is None
    assert all(row["cached"] for row in second["profile"]["rows"] if row["stage"] in TRAINING)
    assert scores(first) == scores(second)


def test_lanes_only_where_they_help():
    suite = get_suite("quick")
    assert lane_count(RunOptions(suite=suite), pending=1) == 1  # one unit to train: nothing to overlap
    assert lane_count(RunOptions(suite=suite, threads=2), pending=5) == 1  # the user chose the threads
    assert lane_count(RunOptions(suite=suite, executor="ray", training_lanes=2), pending=5) == 1
    assert lane_count(RunOptions(suite=suite, training_lanes=3), pending=5) == 3
    assert lane_count(RunOptions(suite=suite, training_lanes=3), pending=2) == 2


def job(seconds: float, unit: object = None, nodes: tuple[int, ...] = ()) -> training_pass.LaneJob:
    return training_pass.LaneJob(unit, nodes, seconds)  # type: ignore[arg-type]


def test_the_pass_estimate_places_jobs_largest_first_on_the_lane_that_frees_first():
    jobs = [job(65.0), job(39.0), job(26.0), job(13.0)]
    # lanes: 65 | 39, 26 (free at 39) | then 13 on the lane free first (65, and 39+26 = 65: the first): 65+13
    assert pass_estimate_s(jobs, 2) == pytest.approx(65 + 13)
    assert pass_estimate_s(jobs[:2], 4) == pytest.approx(65)
    assert pass_estimate_s([], 2) == 0.0


def test_a_unit_splits_into_its_teacher_chain_and_each_adapted_model(tmp_path, monkeypatch):
    from harness.cache import StageCache
    from tests.test_graph import make_unit

    teacher = str(save_tiny_model(tmp_path / "tiny-bert", layers=2, max_positions=128))
    unit = make_unit(teacher, StageCache(tmp_path / "c"), tmp_path, suite={"adaptation": ["probe", "lora", "full"]})
    nodes = unit.build_graph().nodes
    jobs = training_pass.lane_jobs(unit)
    named = [[(nodes[i].stage.name, nodes[i].subject) for i in j.nodes] for j in jobs]
    assert named == [
        [("finetune", "tiny-bert"), ("distill", "layers=2"), ("export", "tiny-bert"), ("export", "layers=2")],
        [("adapt", "tiny-bert (probe)"), ("export", "tiny-bert (probe)")],
        [("adapt", "tiny-bert (lora)"), ("export", "tiny-bert (lora)")],
    ]
    rows = unit.plan()
    for j in jobs:  # training at lane speed, exports as estimated
        expected = sum(rows[i]["estimate_s"] / (LANE_SPEED if rows[i]["stage"] != "export" else 1.0) for i in j.nodes)
        assert j.seconds == pytest.approx(expected) and j.seconds > 0
    # one unit, three jobs: a pass of its own in two lanes, largest job first
    monkeypatch.setattr(training_pass, "available_cpus", lambda: [0, 1])
    planned, lanes = training_pass.planned_pass([unit])
    assert lanes == 2 and [j.seconds for j in planned] == sorted((j.seconds for j in jobs), reverse=True)


def test_a_job_whose_training_is_cached_is_left_to_the_serial_pass():
    rows = [
        {"stage": "finetune", "cached": True, "estimate_s": 10.0},
        {"stage": "export", "cached": False, "estimate_s": 2.0},  # exports alone left: not worth a lane
        {"stage": "adapt", "cached": False, "estimate_s": 5.0},
        {"stage": "export", "cached": False, "estimate_s": 1.0},
        {"stage": "record", "cached": False, "estimate_s": 7.0},  # the serial pass's
    ]

    class Node:
        def __init__(self, stage, inputs=None):
            self.stage, self.inputs = type("Stage", (), {"name": stage})(), inputs or {}

    finetune, adapt = Node("finetune"), Node("adapt")
    graph = type("Graph", (), {"nodes": [finetune, Node("export", {"model": finetune}), adapt,
                                         Node("export", {"model": adapt}), Node("record", {"model": adapt})]})()
    unit = type("Unit", (), {"plan": lambda self: rows, "build_graph": lambda self: graph})()
    jobs = training_pass.lane_jobs(unit)
    assert [(j.nodes, j.seconds) for j in jobs] == [((2, 3), pytest.approx(5.0 / LANE_SPEED + 1.0))]


PARENT = """
import multiprocessing, os, time
from concurrent.futures import ProcessPoolExecutor
from harness.training_pass import die_with_parent

def pid():
    return os.getpid()

if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent)
    print(pool.submit(pid).result(), flush=True)
    time.sleep(120)
"""


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, whose parent is gone and nobody reaped, is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_lane_ends_when_its_run_is_killed(tmp_path):
    # A run killed by SIGTERM or SIGKILL cannot stop its pool: its lanes kept training, unseen, beside the next
    # run (seen on this project's machine).
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(PARENT))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        assert _running(worker)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 15
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(worker)
    assert die_with_parent() is True  # and in this process too (the test's parent is still alive)


def test_the_run_estimate_is_the_pass_plus_what_the_serial_pass_has_left(monkeypatch):
    def unit(rows):
        return type("Unit", (), {"plan": lambda self: rows})()

    a = unit([{"stage": "finetune", "cached": False, "estimate_s": 30.0},
              {"stage": "record", "cached": False, "estimate_s": 2.0},
              {"stage": "record", "cached": True, "estimate_s": 2.0}])  # cached: takes none
    b = unit([{"stage": "finetune", "cached": True, "estimate_s": 30.0},
              {"stage": "record", "cached": False, "estimate_s": 3.0}])
    monkeypatch.setattr(training_pass, "pass_estimate_s", lambda jobs, lanes: 100.0)
    planned = [job(90.0, a, (0,)), job(1.0, a, ())]
    assert training_pass.run_estimate([a, b], (planned, 2)) == (100.0 + 2.0 + 3.0, ", of which a training pass in 2 lanes ~1:40")
    assert training_pass.run_estimate([a, b], ([], 1)) == (30.0 + 2.0 + 3.0, "")  # no pass: the stages' sum


def test_the_measurement_servers_a_unit_needs(tmp_path):
    from harness.cache import StageCache
    from harness.stages.record import measurement_runtimes
    from tests.test_graph import make_unit

    teacher = str(save_tiny_model(tmp_path / "tiny-bert", layers=2, max_positions=128))
    unit = make_unit(teacher, StageCache(tmp_path / "c"), tmp_path)
    assert measurement_runtimes([unit]) == {("pytorch", 1), ("onnx", 1)}
    pytorch_only = make_unit(teacher, StageCache(tmp_path / "d"), tmp_path, suite={"formats": ["pytorch"]})
    assert measurement_runtimes([pytorch_only]) == {("pytorch", 1)}
