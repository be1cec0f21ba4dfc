"""The compression ladder: each student of a teacher at its best format, and the smallest that keeps it."""

from __future__ import annotations

import copy

import pytest
from fixture_runs import fixture_dict, write_run

from harness.results import load_results
from reports.ladder import ladders, smallest_keeper
from reports.markdown import render_scorecard_md

TEACHER, STUDENT = "all-MiniLM-L6-v2", "all-MiniLM-L6-v2-layers3"
SMALL = "all-MiniLM-L6-v2-layers1"


def with_small_student(score: float, tmp_path):
    """The fixture run (teacher 0.705; its 3-layer student 0.725 in PyTorch and ONNX, 0.72 in int8) with a
    1-layer student added at ``score`` in ONNX and ``score - 0.01`` in PyTorch; scorecards rebuilt from records."""
    data = fixture_dict()
    extra = []
    for record in data["records"]:
        if record["model"] == STUDENT and record["format"] in ("pytorch", "onnx"):
            small = copy.deepcopy(record)
            small.update(model=SMALL, params=13_000_000, size_mb=52.0)
            small["score"] = score - (0.01 if record["format"] == "pytorch" else 0.0)
            small["metrics"][small["primary_metric"]] = small["score"]
            small["score_ci"] = [small["score"] - 0.02, small["score"] + 0.02]
            extra.append(small)
    data["records"] += extra
    data["scorecards"] = []
    return load_results(write_run(tmp_path, data))


def test_each_student_appears_once_at_its_best_format_fewest_parameters_first(tmp_path):
    results = with_small_student(0.60, tmp_path)
    (rungs,) = ladders(results).values()
    assert [(r.student, r.format) for r in rungs] == [(SMALL, "onnx"), (STUDENT, "onnx")]
    # 0.725 in PyTorch and ONNX: the tie goes to the faster format (ONNX, 2.76 ms against 6.54 ms)
    assert rungs[1].retention == pytest.approx(0.725 / 0.705, abs=1e-4)  # scorecards round to 4 places
    assert rungs[1].speedup == pytest.approx(12.008079 / 2.757075, rel=1e-3)
    assert rungs[0].retention == pytest.approx(0.60 / 0.705, abs=1e-4)


@pytest.mark.parametrize(("score", "keeper"), [(0.60, STUDENT), (0.70, SMALL)])
def test_the_smallest_student_that_keeps_097_of_the_teacher_is_named(tmp_path, score, keeper):
    results = with_small_student(score, tmp_path)
    (rungs,) = ladders(results).values()
    assert smallest_keeper(rungs).student == keeper  # 0.60 / 0.705 = 0.851; 0.70 / 0.705 = 0.993
    text = render_scorecard_md(results)
    assert "## Compression ladder" in text
    assert f"the smallest student keeping ≥ 0.97 of the teacher is {keeper} in onnx" in text


def test_without_a_keeper_the_closest_student_is_named(tmp_path):
    data = fixture_dict()
    for record in data["records"]:
        if record["role"] == "student":
            record["score"] = record["metrics"][record["primary_metric"]] = 0.5
            record["score_ci"] = [0.45, 0.55]
    data["scorecards"] = []
    text = render_scorecard_md(load_results(write_run(tmp_path, data)))
    assert "none of its 1 student(s) keeps 0.97 of the teacher; the closest is " + STUDENT in text


def test_a_run_without_students_has_no_ladder(tmp_path):
    data = fixture_dict()
    data["records"] = [r for r in data["records"] if r["role"] == "teacher"]
    data["scorecards"] = []
    results = load_results(write_run(tmp_path, data))
    assert ladders(results) == {} and "Compression ladder" not in render_scorecard_md(results)


def test_the_html_report_has_the_ladder_and_its_verdict(tmp_path):
    from reports.html import render_report

    page = render_report(with_small_student(0.70, tmp_path))
    assert '<h2 id="ladder">Compression ladder</h2>' in page and 'id="ladder-table"' in page
    assert f"the smallest student keeping ≥ 0.97 of the teacher is {SMALL} in onnx" in page
