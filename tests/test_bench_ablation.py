"""bench/ablation.py: the variants' task files, and the table's rows read from crafted results files."""

import copy
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from fixture_runs import fixture_dict, write_run

from harness.results import load_results
from tasks.metrics import compute

SPEC = importlib.util.spec_from_file_location("bench_ablation", Path(__file__).parents[1] / "bench" / "ablation.py")
ablation = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(ablation)


def test_each_variant_adds_its_term_to_the_kinds_default_weights():
    assert ablation.variant_task("sst2", None)["name"] == "sst2"
    assert "weights" not in (ablation.variant_task("sst2", None).get("distillation") or {})
    hidden = ablation.variant_task("sst2", "hidden_mse")["distillation"]["weights"]
    assert hidden == {"hard_ce": 0.9, "kd_kl": 0.1, "hidden_mse": ablation.TERM_WEIGHT}  # classification's default
    tydi = ablation.variant_task("tydiqa_goldp_en", "relation_kl")["distillation"]
    assert tydi["temperature"] == 2.0  # the task file's own settings stay
    assert tydi["weights"] == {"hard_ce": 0.5, "kd_kl": 0.5, "relation_kl": ablation.TERM_WEIGHT}


def _run(tmp_path: Path, name: str, student_wrong: int) -> object:
    """The fixture as task sst2, scored on 200 examples: the teacher right on 180, the student on 180 -
    ``student_wrong``."""
    rng = np.random.default_rng(0)
    refs = rng.integers(0, 2, 200).tolist()
    data = fixture_dict()
    data["eval_sets"] = {"sst2": {"fingerprint": "f" * 16, "examples": 200, "metric": "classification",
                                  "metric_kwargs": {"num_labels": 2}, "references": refs}}
    data["scorecards"] = []
    for record in data["records"]:
        preds = [1 - r if i < 20 else r for i, r in enumerate(refs)]
        if record["role"] == "student":
            preds = [1 - p if 20 <= i < 20 + student_wrong else p for i, p in enumerate(preds)]
        metrics = compute("classification", preds, refs, num_labels=2)
        record.update(task="sst2", predictions=preds, metrics=metrics, score=metrics["accuracy"],
                      score_ci=[metrics["accuracy"] - 0.03, metrics["accuracy"] + 0.03], eval_examples=200,
                      eval_fingerprint="f" * 16)
    return load_results(write_run(tmp_path / name, copy.deepcopy(data)))


def test_rows_carry_retention_and_the_paired_difference_against_logits_only(tmp_path):
    files = {("sst2", "logits"): _run(tmp_path, "logits", 0), ("sst2", "hidden"): _run(tmp_path, "hidden", 10)}
    rows = ablation.ablation_rows(files)
    assert [(r["variant"], r["term"]) for r in rows] == [("logits", None), ("hidden", "hidden_mse")]
    logits, hidden = rows
    assert logits["score"] == pytest.approx(0.90) and logits["retention"] == pytest.approx(1.0)
    assert hidden["score"] == pytest.approx(0.85) and hidden["retention"] == pytest.approx(0.85 / 0.90)
    assert logits["paired"] is None
    assert hidden["paired"]["difference"] == pytest.approx(-0.05)
    low, high = hidden["paired"]["difference_ci"]
    assert low <= -0.05 <= high < 0  # 10 flips, all one way
    assert hidden["distill_s"] == pytest.approx(142.09318208)  # the fixture student's own training time
    table = ablation.render(rows, ["sst2-logits.json", "sst2-hidden.json"])
    assert "| sst2 (accuracy) | logits only | 0.9000 | 0.9000 [0.870, 0.930] | 1.000 | (reference) | 142 |" in table
    assert "| sst2 (accuracy) | + hidden_mse | 0.9000 | 0.8500 [0.820, 0.880] | 0.944 | -0.0500 [" in table


def test_a_variant_without_its_logits_reference_has_no_paired_difference(tmp_path):
    rows = ablation.ablation_rows({("sst2", "relation"): _run(tmp_path, "relation", 4)})
    assert [r["variant"] for r in rows] == ["relation"] and rows[0]["paired"] is None
    assert "| + relation_kl | 0.9000 | 0.8800 [0.850, 0.910] | 0.978 | – |" in ablation.render(rows, [])
