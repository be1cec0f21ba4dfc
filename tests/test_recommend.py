"""Verdicts a new user can trust: baselines, small samples, undefined metrics, the equivalence gate of the reuse
score and the one-sentence recommendation, on crafted results files."""

from __future__ import annotations

import copy
import json

import pytest
from fixture_runs import fixture_dict

from harness.results import RunResults, parse_results
from reports.markdown import render_scorecard_md
from reports.notes import record_notes, task_notes
from reports.recommend import recommend, recommendations
from reports.scorecard import attach_scorecards, retention_gate
from reports.summary import teacher_summaries
from tasks.metrics import undefined_metrics

TASK = "tiny-sentiment"
STUDENT = "all-MiniLM-L6-v2-layers3"


def _run(mutate=None) -> RunResults:
    data = copy.deepcopy(fixture_dict())
    data["scorecards"] = []
    if mutate:
        mutate(data)
    return attach_scorecards(parse_results(json.dumps(data).encode(), "crafted.json"))


def _record(data: dict, role: str, fmt: str) -> dict:
    return next(r for r in data["records"] if r["role"] == role and r["format"] == fmt)


def _set_score(record: dict, score: float, ci: tuple[float, float]) -> None:
    record["score"] = score
    record["metrics"][record["primary_metric"]] = score
    record["score_ci"] = list(ci)


def test_a_teacher_at_the_majority_baseline_gets_no_retention_and_no_recommendation():
    def mutate(data):
        data["baselines"] = {TASK: {"name": "majority label", "metrics": {"accuracy": 0.5}, "score": 0.5}}
        _set_score(_record(data, "teacher", "pytorch"), 0.5, (0.43, 0.57))

    results = _run(mutate)
    assert all(c.retention is None and c.reuse_score is None for c in results.scorecards)
    assert all(c.retention_reported is False for c in results.scorecards)
    rec = recommend(results, TASK)
    assert rec.record is None and "does not beat the majority label baseline" in rec.sentence
    assert any("does not beat" in n for n in task_notes(results, TASK))
    page = render_scorecard_md(results)
    assert "withheld (teacher ≈ baseline)" in page and "## Cautions" in page


def test_a_student_below_the_baseline_is_flagged():
    def mutate(data):
        data["baselines"] = {TASK: {"name": "majority label", "metrics": {"accuracy": 0.6}, "score": 0.6}}
        _set_score(_record(data, "student", "onnx-int8"), 0.55, (0.48, 0.62))

    results = _run(mutate)
    student = next(r for r in results.records if r.format == "onnx-int8")
    assert any("at or below the majority label baseline" in n for n in record_notes(results, student))
    teacher = next(r for r in results.records if r.role == "teacher" and r.format == "pytorch")
    assert not any("baseline" in n for n in record_notes(results, teacher))  # 0.705 [0.64, 0.77] beats 0.6


def test_a_wide_interval_from_ten_examples_gets_a_small_sample_note():
    def mutate(data):
        record = _record(data, "student", "pytorch")
        _set_score(record, 0.8, (0.5, 1.0))
        record["eval_examples"] = 10

    results = _run(mutate)
    student = next(r for r in results.records if r.role == "student" and r.format == "pytorch")
    assert any("50 points wide (10 eval examples)" in n for n in record_notes(results, student))


def test_pearson_over_one_example_or_constant_predictions_is_undefined_not_zero():
    assert set(undefined_metrics("regression", [0.3], [0.5])) == {"pearson", "spearman"}
    assert "all the same value" in undefined_metrics("regression", [0.2, 0.2, 0.2], [0.1, 0.5, 0.9])["pearson"]
    assert undefined_metrics("regression", [0.1, 0.4], [0.2, 0.3]) == {}
    assert undefined_metrics("classification", [1], [1]) == {}


def test_a_null_score_with_its_reason_is_a_valid_record_and_renders():
    def mutate(data):
        record = _record(data, "student", "onnx")
        record.update(score=None, score_ci=None, metric_notes={"accuracy": "undefined on this sample"})
        record["metrics"]["accuracy"] = None

    results = _run(mutate)
    student = next(r for r in results.records if r.role == "student" and r.format == "onnx")
    assert any("accuracy is undefined here" in n for n in record_notes(results, student))
    assert "undefined on this sample" in render_scorecard_md(results)


@pytest.mark.parametrize(
    ("retention", "equivalence", "gate"),
    [(0.95, "equivalent", 1.0), (0.98, "worse", 0.5), (0.935, None, 0.5), (0.935, "not shown", 0.5), (0.98, None, 1.0)],
)
def test_the_retention_gate_uses_the_equivalence_verdict(retention, equivalence, gate):
    assert retention_gate(retention, equivalence) == pytest.approx(gate)


def _paired(equivalence: str, tost_p: float | None = 0.003) -> dict:
    return {"reference": "teacher (pytorch)", "metric": "accuracy", "examples": 200, "difference": -0.004,
            "difference_ci": [-0.01, 0.002], "margin": 0.01, "tost_p": tost_p, "equivalence": equivalence}


def test_the_recommendation_names_the_fastest_variant_shown_equivalent():
    def mutate(data):
        for record in data["records"]:
            if record["role"] == "student":
                record["paired"] = _paired("equivalent")

    results = _run(mutate)
    rec = recommend(results, TASK)
    assert (rec.model, rec.format) == (STUDENT, "onnx-int8")
    assert "faster" in rec.sentence and "smaller" in rec.sentence
    assert "equivalent to the teacher within 1 point (TOST p = 0.003)" in rec.sentence
    assert "int8 measured on" in rec.sentence


def test_a_variant_shown_worse_is_never_recommended_and_zero_scores_lose_to_the_teachers_export():
    def mutate(data):
        for record in data["records"]:
            if record["role"] == "student":
                _set_score(record, 0.4, (0.33, 0.47))  # lost the task: reuse score 0
                record["paired"] = _paired("worse", 0.9)

    results = _run(mutate)
    rec = recommend(results, TASK)
    assert (rec.model, rec.format) == ("all-MiniLM-L6-v2", "onnx")  # the teacher's export keeps its score
    summary = teacher_summaries([results])[0].tasks[0]
    assert (summary.best_variant, summary.best_format) == ("all-MiniLM-L6-v2", "onnx")
    assert summary.best_reuse_score > 0


def test_with_nothing_faster_kept_the_teacher_itself_is_recommended():
    def mutate(data):
        data["records"] = [r for r in data["records"] if r["role"] == "student" or r["format"] == "pytorch"]
        for record in data["records"]:
            if record["role"] == "student":
                _set_score(record, 0.5, (0.43, 0.57))

    results = _run(mutate)
    rec = recommend(results, TASK)
    assert (rec.model, rec.format) == ("all-MiniLM-L6-v2", "pytorch")
    assert "no faster variant keeps its score" in rec.sentence
    assert [r.task for r in recommendations(results)] == [TASK]
    assert "## What to ship" in render_scorecard_md(results)


def test_the_leaderboard_files_say_what_to_ship_and_rank_within_roles(tmp_path):
    from pathlib import Path

    from harness.results import load_results
    from leaderboard.site import build_site

    quick = load_results(Path(__file__).parents[1] / "bench" / "results" / "quick" / "paired" / "results.json")
    files = build_site([quick], tmp_path / "site")
    text = files.markdown.read_text(encoding="utf-8")
    assert "## What to ship" in text and "- qa: ship **all-MiniLM-L6-v2 (onnx)**" in text
    assert "| rank | rank in role |" in text
    header = files.csv.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("task,rank,") and header.endswith(",role_rank,adaptation,trainable_params,of_full")
