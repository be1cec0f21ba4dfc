"""The per-stage profile (harness.profile) and the machine's matmul peak (harness.peak)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from harness import peak as peak_module
from harness.estimate import ESTIMATE_FLOPS_PER_S, SUSTAINED_FRACTION, estimate_flops_per_s
from harness.graph import Graph, StageBase, run_graph
from harness.peak import PEAK_ENV, PEAK_FILE, PeakMeasurement, matmul_peak_flops
from harness.profile import (
    PROFILE_KEY,
    ObserverGroup,
    StageProfiler,
    collect_profile,
    profile_lines,
    training_throughput,
)
from harness.profile_models import TrainingPassInfo
from harness.results import PeakInfo, ProfileRow, Record, RunProfile, RunResults
from harness.train import TrainCost

PEAK = PeakMeasurement(100e9, "test", 2, "Test CPU", "2026-01-01T00:00:00+00:00")


def _cost(wall_s: float, tokens: int, flops: float) -> TrainCost:
    return TrainCost(wall_s=wall_s, cpu_s=wall_s, examples=10, tokens=tokens, flops=flops, peak_rss_mb=1.0,
                     epochs=1.0, steps=1, final_loss=None)


class _Train(StageBase):
    name: ClassVar[str] = "finetune"

    def payload(self, unit: Any, node: Any) -> dict[str, Any]:
        return {"subject": node.subject}

    def compute(self, unit: Any, node: Any, folder: Path, meta: dict[str, Any]) -> Any:
        sum(i * i for i in range(20000))  # a little CPU
        return SimpleNamespace(train_cost=_cost(2.0, 1000, 50e9))

    def load(self, unit: Any, node: Any, entry: Any) -> Any:
        return SimpleNamespace(train_cost=_cost(9.0, 1, 1.0))


class _Record(StageBase):
    name: ClassVar[str] = "record"
    after: ClassVar[tuple[str, ...]] = ("finetune",)

    def payload(self, unit: Any, node: Any) -> dict[str, Any]:
        return {"model": node.input_build("model"), "fmt": node.params["fmt"]}

    def compute(self, unit: Any, node: Any, folder: Path, meta: dict[str, Any]) -> Any:
        return SimpleNamespace(record=None)

    def load(self, unit: Any, node: Any, entry: Any) -> Any:
        return SimpleNamespace(record=None)


class _Cache:
    """A stage cache that holds the record stage's entries only."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def lookup(self, stage: str, key: str) -> Any:
        return SimpleNamespace(metadata={}, path=self.root) if stage == "record" else None

    @contextmanager
    def write(self, stage: str, key: str, replace: bool = False):
        yield self.root, {}

    def path_for(self, stage: str, key: str) -> Path:
        return self.root


class _Counting:
    def __init__(self) -> None:
        self.observed = 0
        self.ran: list[str] = []

    def observe(self, graph: Any) -> None:
        self.observed += 1

    @contextmanager
    def running(self, node: Any, cached: bool):
        self.ran.append(node.stage.name)
        yield


def _walk(tmp_path: Path, peak: PeakMeasurement | None = PEAK) -> tuple[StageProfiler, _Counting]:
    graph = Graph()
    teacher = graph.add(_Train(), "teacher")
    graph.add(_Record(), "teacher (pytorch)", inputs={"model": teacher}, fmt="pytorch")
    graph.add(_Record(), "teacher (onnx)", inputs={"model": teacher}, fmt="onnx")
    profiler, counting = StageProfiler("sst2", None, peak), _Counting()
    run_graph(SimpleNamespace(), graph, _Cache(tmp_path), frozenset(), ObserverGroup(counting, profiler))
    return profiler, counting


def test_profiler_rows_of_a_fake_graph(tmp_path):
    profiler, counting = _walk(tmp_path)
    assert counting.observed == 1 and counting.ran == ["finetune", "record", "record"]
    rows = profiler.rows()
    assert [(r.stage, r.format, r.cached) for r in rows] == [
        ("finetune", None, False), ("record", "pytorch", True), ("record", "onnx", True)
    ]
    assert all(r.task == "sst2" and r.wall_s >= 0 and r.cpu_s >= 0 for r in rows)
    train = rows[0]
    assert train.tokens_per_s == pytest.approx(500.0)
    assert train.flops_per_s == pytest.approx(25e9)
    assert train.peak_fraction == pytest.approx(0.25)
    assert rows[1].tokens_per_s is None and rows[1].peak_fraction is None
    lines = profile_lines(RunProfile(peak=PeakInfo(**PEAK.to_dict()), rows=rows))
    assert "% peak" in lines[0] and any("25.0" in line for line in lines)
    assert any(" total " in f" {line} " for line in lines) and lines[-1].startswith("peak: 100.0 GFLOP/s")


def test_throughput_without_a_peak_or_time():
    assert training_throughput(_cost(4.0, 400, 8e9), None) == (100.0, 2e9, None)
    assert training_throughput(_cost(4.0, 400, 8e9), 4e9) == (100.0, 2e9, 0.5)
    assert training_throughput(_cost(0.0, 400, 8e9), 4e9) == (None, None, None)
    assert training_throughput(None, 4e9) == (None, None, None)


def test_rows_travel_on_the_first_record(tmp_path):
    profiler, _ = _walk(tmp_path)
    records = [Record(task="sst2", kind="classification", primary_metric="accuracy", model="teacher", role="teacher",
                      format="pytorch", status="ok"),
               Record(task="sst2", kind="classification", primary_metric="accuracy", model="teacher", role="teacher",
                      format="onnx", status="ok")]
    profiler.attach(records)
    # as the Ray executor returns them: through JSON
    records = [Record.model_validate(json.loads(json.dumps(r.model_dump(mode="json")))) for r in records]
    results = RunResults(run_id="r", created_at="now", suite="quick")
    collect_profile(results, records, PEAK)
    assert PROFILE_KEY not in (records[0].model_extra or {})
    assert results.profile is not None and len(results.profile.rows) == 3
    assert results.profile.peak.flops_per_s == PEAK.flops_per_s
    assert "profile" in results.model_dump(mode="json")


def test_results_without_profile_omit_it_and_with_profile_round_trip():
    plain = RunResults(run_id="r", created_at="now", suite="quick")
    assert "profile" not in plain.model_dump(mode="json")
    again = RunResults.model_validate_json(plain.model_dump_json())
    assert "profile" not in again.model_dump(mode="json")
    row = ProfileRow(task="t", stage="distill", model="layers=3", cached=False, wall_s=1.5, cpu_s=2.5,
                     tokens_per_s=10.0, flops_per_s=1e9, peak_fraction=0.01)
    plain.profile = RunProfile(peak=PeakInfo(**PEAK.to_dict()), rows=[row])
    data = plain.model_dump(mode="json")
    assert data["profile"]["rows"][0]["stage"] == "distill" and "format" in data["profile"]["rows"][0]
    back = RunResults.model_validate_json(plain.model_dump_json())
    assert back.model_dump(mode="json") == data


def test_peak_is_measured_cached_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv(PEAK_ENV, raising=False)
    monkeypatch.setattr(peak_module, "_MEMO", {})
    first = matmul_peak_flops(cache_dir=tmp_path, size=64, reps=2)
    assert first.flops_per_s > 0 and "64x64" in first.method and first.threads >= 1 and first.cpu
    stored = json.loads((tmp_path / PEAK_FILE).read_text())
    assert [entry["flops_per_s"] for entry in stored.values()] == [first.flops_per_s]
    monkeypatch.setattr(peak_module, "_MEMO", {})  # a new process: read from the file, not measured again
    monkeypatch.setattr(peak_module, "measure_matmul", lambda *a, **k: pytest.fail("measured again"))
    assert matmul_peak_flops(cache_dir=tmp_path, size=64, reps=2) == first


def test_env_overrides_the_peak_and_feeds_the_estimates(tmp_path, monkeypatch):
    monkeypatch.setattr(peak_module, "measure_matmul", lambda *a, **k: pytest.fail("measured"))
    monkeypatch.setenv(PEAK_ENV, "2e11")
    peak = matmul_peak_flops(cache_dir=tmp_path)
    assert peak.flops_per_s == 2e11 and PEAK_ENV in peak.method
    assert not (tmp_path / PEAK_FILE).exists()
    assert estimate_flops_per_s() == pytest.approx(SUSTAINED_FRACTION * 2e11)


def test_estimates_fall_back_when_the_peak_cannot_be_measured(monkeypatch):
    monkeypatch.setenv(PEAK_ENV, "not a number")
    assert estimate_flops_per_s() == ESTIMATE_FLOPS_PER_S


def test_report_shows_the_profile_as_one_stacked_bar_per_task():
    import re

    from reports.figures import profile_plot

    rows = [
        ProfileRow(task="sentiment", stage="finetune", model="m", cached=False, wall_s=40.0, cpu_s=80.0),
        ProfileRow(task="sentiment", stage="record", model="m", format="onnx", cached=False, wall_s=3.0, cpu_s=4.0),
        ProfileRow(task="sentiment", stage="record", model="m", format="pytorch", cached=False, wall_s=5.0,
                   cpu_s=6.0),
        ProfileRow(task="qa", stage="finetune", model="m", cached=True, wall_s=0.5, cpu_s=0.5),
        ProfileRow(task="qa", stage="distill", model="layers=3", cached=False, wall_s=20.0, cpu_s=40.0),
    ]
    results = RunResults(run_id="r", created_at="now", suite="quick")
    assert profile_plot(results) == ""  # no profile, no figure
    results.profile = RunProfile(peak=None, rows=rows)
    svg = profile_plot(results)
    # One segment per (task, stage) with its summed wall time; stages stacked in the order they run.
    titles = re.findall(r"<title>([^<]+)</title>", svg)
    assert titles == ["sentiment, finetune: 40.0", "sentiment, record: 8.0", "qa, finetune: 0.5",
                      "qa, distill: 20.0"]
    totals = re.findall(r'text-anchor="middle">(\d+)</text>', svg)
    assert totals[:2] == ["48", "20"]
    assert "1 node(s) came from the stage cache" in svg
    assert "training pass" not in svg
    results.profile = RunProfile(peak=None, rows=rows,
                                 training_pass=TrainingPassInfo(lanes=2, threads_per_lane=1, wall_s=41.2, units=2))
    assert "2 lanes of 1 thread(s) side by side for 41 s" in profile_plot(results)
