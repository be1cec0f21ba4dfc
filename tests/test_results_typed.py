"""Typed results: every committed results file is read and written back unchanged, byte for byte; records
built the way the runner builds them keep their JSON; the typed parts (latency blocks, CI, parity, training
cost, seed statistics, role and format) behave like the plain values they replaced."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.evaluation import Evaluation, parity
from harness.measure.latency import LatencyStats
from harness.results import (
    Format,
    LatencyBlock,
    Parity,
    Record,
    Role,
    RunResults,
    ScoreInterval,
    SeedStats,
    TrainCostRecord,
    load_results,
    save_results,
)
from harness.train import TrainCost
from reports.inputs import check_results
from tasks.errors import ReusebenchError
from tasks.kinds.base import EvalOutput
from tests.fixture_runs import FIXTURE, fixture_dict

ROOT = Path(__file__).resolve().parents[1]
SEED_FIXTURE = ROOT / "tests" / "fixtures" / "results_seed_scores.json"
# Files written by save_results (bench runs, and a fixture with seed_scores written before the typed models).
WRITTEN = sorted(
    p
    for p in [*(ROOT / "bench" / "results").rglob("*.json"), SEED_FIXTURE]
    if "records" in json.loads(p.read_text(encoding="utf-8"))
)


def test_there_are_committed_results_to_check():
    assert len(WRITTEN) >= 10 and SEED_FIXTURE in WRITTEN


@pytest.mark.parametrize("path", WRITTEN, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_committed_results_file_is_written_back_unchanged(path, tmp_path):
    original = path.read_text(encoding="utf-8")
    results = load_results(path)
    assert results.model_dump(mode="json") == json.loads(original)
    save_results(results, tmp_path / "results.json")
    assert (tmp_path / "results.json").read_text(encoding="utf-8") == original


def test_an_old_results_file_still_loads():
    """The fixture predates ``teacher`` and ``baselines``: they come back as their defaults, nothing else."""
    original = fixture_dict()
    results = load_results(FIXTURE)
    expected = {
        **original,
        "records": [{**r, "teacher": None} for r in original["records"]],
        "baselines": {},
    }
    assert results.model_dump(mode="json") == expected
    record = results.records[0]
    assert isinstance(record.latency_ms["batch_1"], LatencyBlock) and isinstance(record.score_ci, ScoreInterval)
    assert isinstance(record.train, TrainCostRecord) and results.records[1].parity.passed is True


# -- records as the runner builds them --------------------------------------------------------------------


def _measured_block(**extra: Any) -> dict[str, Any]:
    stats = LatencyStats(
        p50=1.5, p90=2.0, p99=3.0, mean=1.6, std=0.1, cv=0.06, min=1.0, max=4.0, n=20, total_s=1.1, seq_len=16
    )
    return {**stats.to_dict(), **extra}


def _parity_info() -> dict[str, Any]:
    def evaluation(score: float, logits: list[float]) -> Evaluation:
        output = EvalOutput(predictions=[0, 1], references=[0, 1], raw_outputs={"logits": np.array(logits)})
        return Evaluation(metrics={"accuracy": score}, score=score, score_ci=[score, score], output=output, eval_s=0.1)

    class Kind:
        def agreement(self, a: list[Any], b: list[Any]) -> float:
            return float(np.mean([x == y for x, y in zip(a, b, strict=True)]))

    return parity(evaluation(0.9, [0.1, 0.2]), evaluation(0.89, [0.1, 0.25]), Kind(), 0.01)  # type: ignore[arg-type]


def _train_cost() -> dict[str, Any]:
    return TrainCost(
        wall_s=12.5, cpu_s=20.0, examples=100, tokens=2000, flops=1.5e12, peak_rss_mb=300.0, epochs=1.0,
        steps=13, final_loss=0.4,
    ).to_dict()


def _runner_record(**changes: Any) -> Record:
    fields: dict[str, Any] = dict(
        task="t", kind="classification", model="m", teacher="m", role="teacher", format="onnx",
        params=10, size_mb=1.5, metrics={"accuracy": 0.89}, primary_metric="accuracy", score=0.89,
        score_ci=[0.85, 0.93], eval_examples=50,
        latency_ms={"batch_1": _measured_block(), "batch_8": _measured_block(generated_tokens=4, ms_per_token=0.4)},
        throughput_per_s=600.0, peak_rss_mb=80.0, train=_train_cost(), status="ok", status_reason=None,
        parity=_parity_info(), data={"eval": "builtin"}, eval_s=0.2, load_s=None, teacher_agreement=0.97,
    )
    fields.update(changes)
    return Record(**fields)


def test_a_record_built_like_the_runner_builds_it_keeps_its_json():
    record = _runner_record()
    dump = record.model_dump(mode="json")
    assert dump["latency_ms"]["batch_1"] == _measured_block()
    assert list(dump["latency_ms"]["batch_8"]) == list(_measured_block(generated_tokens=4, ms_per_token=0.4))
    assert dump["score_ci"] == [0.85, 0.93]
    assert dump["parity"] == _parity_info() and list(dump["parity"]) == list(_parity_info())
    assert dump["train"] == _train_cost() and list(dump["train"]) == list(_train_cost())
    assert list(dump)[-4:] == ["data", "eval_s", "load_s", "teacher_agreement"]
    assert "seed_scores" not in dump
    assert record.score == 0.89 and record.model == "m" and record.format == "onnx" and record.role == "teacher"


def test_the_typed_models_know_every_key_the_measurement_writes():
    assert {f.name for f in dataclasses.fields(LatencyStats)} <= set(LatencyBlock.model_fields)
    assert {"generated_tokens", "ms_per_token"} <= set(LatencyBlock.model_fields)
    assert [f.name for f in dataclasses.fields(TrainCost)] == list(TrainCostRecord.model_fields)
    assert list(_parity_info()) == list(Parity.model_fields)


def test_a_failed_record_has_no_measurements():
    record = Record(task="t", kind="qa", model="s", role="student", format="onnx-int8", primary_metric="f1",
                    status="failed", status_reason="export failed")
    dump = record.model_dump(mode="json")
    assert dump["latency_ms"] == {} and dump["score_ci"] is None and dump["parity"] is None and dump["train"] is None
    assert record.p50() is None and record.latency() is None and record.train_wall_s is None and not record.noisy


# -- seed statistics ------------------------------------------------------------------------------------------

SEEDS = {"seeds": [0, 1, 2], "scores": [0.8, 0.82, 0.81], "mean": 0.81, "std": 0.01}


def test_assigning_seed_scores_validates_them_and_writes_them_last():
    record = _runner_record()
    record.seed_scores = SEEDS  # type: ignore[assignment]  # what harness.seeds does
    assert isinstance(record.seed_scores, SeedStats) and record.seed_scores.mean == 0.81
    dump = record.model_dump(mode="json")
    assert list(dump)[-1] == "seed_scores" and dump["seed_scores"] == SEEDS
    with pytest.raises(ValueError):
        record.seed_scores = {"seeds": [0], "scores": "not a list", "mean": 0.8, "std": 0.0}  # type: ignore[assignment]


def test_seed_scores_stay_where_they_were_read():
    """The Ray executor adds ``worker`` after a record's JSON and validates it back: the order holds."""
    record = _runner_record()
    record.seed_scores = SEEDS  # type: ignore[assignment]
    row = {**record.model_dump(mode="json"), "worker": "node-1"}
    again = Record.model_validate(row)
    assert again.model_dump(mode="json") == row and list(again.model_dump(mode="json")) == list(row)
    assert list(pickle.loads(pickle.dumps(again)).model_dump(mode="json")) == list(row)
    assert list(again.model_copy(deep=True).model_dump(mode="json")) == list(row)


# -- the typed parts ---------------------------------------------------------------------------------------------


def test_a_score_interval_is_the_list_it_was():
    record = _runner_record()
    low, high = record.score_ci  # type: ignore[misc]
    assert (low, high) == (0.85, 0.93) == record.score_ci.as_tuple()  # type: ignore[union-attr]
    assert record.score_ci.width == pytest.approx(0.08)  # type: ignore[union-attr]
    assert record.score_ci.below(0.94) and record.score_ci.above(0.84)  # type: ignore[union-attr]
    record.score_ci = [0.1, 0.2]  # type: ignore[assignment]
    assert isinstance(record.score_ci, ScoreInterval) and record.model_dump(mode="json")["score_ci"] == [0.1, 0.2]


def test_a_ci_that_is_not_a_pair_names_its_field(tmp_path):
    data = fixture_dict()
    data["records"][0]["score_ci"] = [0.1, 0.2, 0.3]
    (tmp_path / "r.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ReusebenchError, match=r"field 'records\.0\.score_ci'.*expected \[low, high\]"):
        load_results(tmp_path / "r.json")


def test_an_inverted_ci_loads_and_is_refused_by_the_checks():
    data = fixture_dict()
    data["records"][2]["score_ci"] = [0.9, 0.1]
    results = RunResults.model_validate(data)
    assert results.model_dump(mode="json")["records"][2]["score_ci"] == [0.9, 0.1]
    with pytest.raises(ReusebenchError, match=r"records\[2\]\.score_ci: low 0\.9 > high 0\.1"):
        check_results(results, "r.json")


def test_role_and_format_read_as_their_strings():
    record = _runner_record(role="student", format="onnx-int8")
    assert record.role is Role.STUDENT and record.format is Format.ONNX_INT8 and record.format.is_onnx
    assert record.role == "student" and record.format == "onnx-int8" and "onnx-int8" in {record.format}
    assert str(record.format) == f"{record.format}" == "onnx-int8" and repr(record.role) == "'student'"
    assert json.dumps(record.role) == '"student"' and f"{record.format:>10}" == " onnx-int8"
    assert not Format.PYTORCH.is_onnx
    with pytest.raises(ValueError, match="'teacher', 'student' or 'adapted'"):
        _runner_record(role="boss")


def test_latency_helpers():
    record = _runner_record()
    assert record.p50() == 1.5 == record.p50(1) == record.p50("batch_1") and record.p50(4) is None
    assert record.latency(8).generated_tokens == 4 and record.latency("batch_8").ms_per_token == 0.4  # type: ignore[union-attr]
    assert not record.noisy
    record.latency_ms = {"batch_1": {"p50": 0.0, "noisy": True}}  # type: ignore[assignment]
    assert isinstance(record.latency_ms["batch_1"], LatencyBlock)
    assert record.p50() is None and record.noisy  # a zero latency is no measurement
    assert record.train_wall_s == 12.5


def test_a_latency_block_reads_like_the_dict_it_was():
    block = LatencyBlock.model_validate({"p50": 2.0, "p90": 3.0, "custom": "x"})
    assert block.get("p50") == 2.0 and block["custom"] == "x" and block.get("p99") is None
    assert block.get("p99", "absent") == "absent" and dict(block) == {"p50": 2.0, "p90": 3.0, "custom": "x"}
    assert {k: v for k, v in block.items() if k != "custom"} == {"p50": 2.0, "p90": 3.0}
    with pytest.raises(KeyError):
        block["p99"]
    block.p99 = 4.0
    assert block.model_dump(mode="json") == {"p50": 2.0, "p90": 3.0, "p99": 4.0, "custom": "x"}


def test_a_partial_block_from_an_old_file_is_written_back_as_it_was():
    data = fixture_dict()
    data["records"][0]["latency_ms"] = {"batch_1": {"p50": 2.5, "noise_reason": None, "by_hand": [1, 2]}}
    data["records"][0]["train"] = {"wall_s": 3.0}
    data["records"][1]["parity"] = {"passed": False}
    dump = RunResults.model_validate(data).model_dump(mode="json")
    assert dump["records"][0]["latency_ms"] == data["records"][0]["latency_ms"]
    assert dump["records"][0]["train"] == {"wall_s": 3.0} and dump["records"][1]["parity"] == {"passed": False}


@pytest.mark.parametrize(
    "where",
    [
        (0, "score"),
        (0, "score_ci", 0),
        (0, "latency_ms", "batch_1", "p50"),
        (0, "train", "wall_s"),
        (1, "parity", "metric_delta"),
    ],
)
def test_nan_is_refused_on_save_wherever_it_is(where, tmp_path):
    """``allow_nan=False`` still sees NaN through the typed parts (never written as null)."""
    data = fixture_dict()
    target: Any = data["records"]
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = math.nan
    results = RunResults.model_validate(data)
    with pytest.raises(ValueError):
        save_results(results, tmp_path / "results.json")
    assert not (tmp_path / "results.json").exists()
