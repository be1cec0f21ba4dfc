"""The real-data benchmark's table reads its figures from results files and checks the quality bars."""

import importlib.util
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location("bench_summarize", Path(__file__).parents[1] / "bench" / "summarize.py")
summarize_module = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(summarize_module)


def record(role, fmt, score, p50, task="sst2", metric="accuracy", status="ok"):
    return {"task": task, "role": role, "format": fmt, "score": score, "primary_metric": metric, "status": status,
            "eval_examples": 872, "score_ci": [score - 0.01, score + 0.01], "latency_ms": {"batch_1": {"p50": p50}}}


def results(records, baselines=None):
    return {"records": records, "config": {"max_train": 20000}, "wall_s": 10.0, "baselines": baselines or {}}


def test_sst2_bars_use_the_best_student_format():
    row = summarize_module.summarize(results([
        record("teacher", "pytorch", 0.90, 20.0),
        record("student", "pytorch", 0.88, 10.0),   # retention 0.978 but only 2x faster
        record("student", "onnx", 0.88, 5.0),       # 4x: meets both
        record("student", "onnx-int8", 0.875, 3.0),
    ]))
    assert row["train_s"] == [None, None]  # records without training figures
    assert row["retention"] == pytest.approx(0.88 / 0.90)
    assert row["speedups"]["onnx"] == pytest.approx(4.0)
    assert row["int8_drop"] == pytest.approx(0.005)
    assert all(row["bars"].values()), row["bars"]


def test_missed_bars_are_reported_as_missed():
    row = summarize_module.summarize(results([
        record("teacher", "pytorch", 0.85, 20.0),
        record("student", "pytorch", 0.80, 10.0),
        record("student", "onnx-int8", 0.78, 4.0),
    ]))
    assert row["bars"] == {
        "teacher >= 0.88": False,
        "a student format with retention >= 0.97 at speedup >= 2.5x": False,
        "int8 costs <= 1 point": False,
    }


def test_generation_teacher_must_beat_copying_the_input():
    records = [record("teacher", "pytorch", 0.20, 50.0, task="aeslc", metric="rouge1")]
    row = summarize_module.summarize(results(records, {"aeslc": {"name": "copy the input", "score": 0.25}}))
    assert row["bars"] == {"teacher > copy the input": False}
    assert "copy the input" in summarize_module.table([row])


def test_training_cost_comes_from_the_records():
    teacher = {**record("teacher", "pytorch", 0.90, 20.0), "train": {"wall_s": 617.2}}
    student = {**record("student", "pytorch", 0.88, 10.0), "train": {"wall_s": 527.3}}
    row = summarize_module.summarize(results([teacher, student]))
    assert row["train_s"] == [617.2, 527.3]
    assert "| 617 + 527 | 10 s |" in summarize_module.table([row])


def test_an_experiment_row_names_another_teacher_student_and_distillation_recipe():
    spec = {"distillation": {"epochs": 10, "learning_rate": 1e-3,
                             "weights": {"hard_ce": 0.9, "hidden_mse": 1.0, "relation_kl": 1.0}}}
    teacher = {"model": "all-mpnet-base-v2"}
    student = {"model": "all-mpnet-base-v2-narrow3x192"}
    assert summarize_module._model_options(spec, teacher, student) == [
        "teacher all-mpnet-base-v2", "student narrow3x192", "distillation 10, 1e-3", "+ hidden_mse + relation_kl"]
    # the packaged teacher and student, and no student at all, add nothing
    assert summarize_module._model_options({}, {"model": "all-MiniLM-L6-v2"},
                                           {"model": "all-MiniLM-L6-v2-layers3"}) == []
    assert summarize_module._model_options(spec, {"model": "all-MiniLM-L6-v2"}, None) == []
