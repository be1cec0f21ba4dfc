"""Scorecards, the per-teacher summary, report.html (self-contained, escaped) and the report command."""

from __future__ import annotations

import math
import re
import shutil

import pytest
from fixture_runs import FIXTURE, fixture_dict, rename_model, rename_task, variant, write_run

from harness.cli import main
from harness.results import RunResults, load_results
from reports import plots
from reports.escape import csv_cell, md
from reports.html import render_report, write_report
from reports.scorecard import build_scorecards, retention_gate
from reports.summary import scorecard_rows, teacher_summaries

TEACHER, STUDENT = "all-MiniLM-L6-v2", "all-MiniLM-L6-v2-layers3"
XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def results() -> RunResults:
    return load_results(FIXTURE)


def test_scorecard_values_follow_the_documented_formulas(results):
    cards = {(c.student, c.format): c for c in build_scorecards(results.records)}
    assert set(cards) == {(TEACHER, "onnx"), (STUDENT, "pytorch"), (STUDENT, "onnx"), (STUDENT, "onnx-int8")}
    int8 = cards[(STUDENT, "onnx-int8")]
    # teacher: 0.705, p50 12.008079 ms, 90.868 MB; int8 student: 0.72, p50 2.157347 ms, 17.559 MB
    assert int8.retention == pytest.approx(0.72 / 0.705, abs=1e-4)
    assert int8.speedup == pytest.approx(12.008079 / 2.157347, abs=1e-4)
    assert int8.compression == pytest.approx(90.868 / 17.559, abs=1e-4)
    assert int8.reuse_score == pytest.approx(math.sqrt(int8.speedup * int8.compression), abs=1e-3)
    assert int8.train_cost_s == pytest.approx(
        142.0932, abs=1e-3
    )  # inherits its PyTorch student's distillation
    assert cards[(TEACHER, "onnx")].train_cost_s == pytest.approx(213.3842, abs=1e-3)


def test_retention_gate_is_linear_between_90_and_97_percent():
    assert retention_gate(0.97) == 1.0 and retention_gate(1.2) == 1.0
    assert retention_gate(0.90) == 0.0 and retention_gate(0.5) == 0.0
    assert retention_gate(0.935) == pytest.approx(0.5)


def test_scorecard_rows_carry_ci_parity_and_adaptation_cost(results):
    rows = {(r.variant, r.format): r for r in scorecard_rows(results)}
    int8 = rows[(STUDENT, "onnx-int8")]
    assert int8.score_ci == pytest.approx((0.654875, 0.775125))
    assert int8.retention_ci == pytest.approx((0.654875 / 0.705, 0.775125 / 0.705))
    assert not int8.significant_loss  # 0.705 lies inside the student's CI
    assert (
        int8.parity_delta == pytest.approx(-0.005) and int8.parity_agreement == 0.975 and int8.parity_passed
    )
    assert int8.train_flops == pytest.approx(1.44e12)
    assert int8.noisy  # the fixture was measured beside other load
    assert rows[(STUDENT, "pytorch")].parity_delta is None


def test_significant_loss_when_the_teacher_is_above_the_variant_ci():
    data = variant(lambda d: d["records"][4].update(score=0.6, score_ci=[0.55, 0.65]))
    rows = {(r.variant, r.format): r for r in scorecard_rows(RunResults.model_validate(data))}
    assert rows[(STUDENT, "onnx-int8")].significant_loss


def test_teacher_summary_answers_how_reusable(results):
    (summary,) = teacher_summaries([results])
    assert summary.teacher == TEACHER
    (task,) = summary.tasks
    assert task.teacher_score == 0.705 and task.teacher_ci == (0.645, 0.765125)
    assert task.adaptation_s == pytest.approx(213.384, abs=1e-3)
    assert (task.best_variant, task.best_format) == (STUDENT, "onnx-int8")  # the highest reuse score
    assert summary.mean_best_reuse_score == pytest.approx(5.367, abs=1e-3)
    assert summary.tasks_retained == 1


def test_teacher_summary_takes_the_latest_run_per_task_and_spans_tasks():
    old = RunResults.model_validate(
        variant(lambda d: None, created_at="2020-01-01T00:00:00+00:00", run_id="old")
    )
    new_data = variant(lambda d: d["records"][0].update(score=0.8), run_id="new")
    new = RunResults.model_validate(new_data)
    other = RunResults.model_validate(variant(rename_task("other-task"), run_id="other"))
    (summary,) = teacher_summaries([new, old, other])
    by_task = {t.task: t for t in summary.tasks}
    assert set(by_task) == {"tiny-sentiment", "other-task"}
    assert by_task["tiny-sentiment"].run_id == "new" and by_task["tiny-sentiment"].teacher_score == 0.8
    assert summary.mean_teacher_score == pytest.approx((0.8 + 0.705) / 2)


def test_report_is_self_contained(results, tmp_path):
    path = write_report(results, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert path.name == "report.html"
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)
    assert "<script src" not in text and 'rel="stylesheet"' not in text and "@import" not in text
    assert '<link rel="icon" href="data:,">' in text
    assert text.count("<svg") >= 4  # two per task, training cost, per-task breakdown
    assert "Pareto front" in text and "reuse_score = sqrt(speedup x compression)" in text
    assert "How reusable is this model?" in text
    assert render_report(results) == text  # deterministic: re-rendering changes nothing


def test_report_escapes_user_strings(tmp_path):
    data = variant(rename_model(STUDENT, XSS))
    data = variant(lambda d: None, **{**data, "suite": 'suite"><b>x</b>', "run_id": "<i>run</i>"})
    for record in data["records"]:
        record["task"] = "t&<u>k</u>"
    for card in data["scorecards"]:
        card["task"] = "t&<u>k</u>"
    text = render_report(RunResults.model_validate(data))
    assert XSS not in text and "<i>run</i>" not in text and "<u>k</u>" not in text and "<b>x</b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "t&amp;&lt;u&gt;k&lt;/u&gt;" in text


def test_report_command_renders_report_and_scorecard(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(FIXTURE, run_dir / "results.json")
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert (run_dir / "scorecard.md").exists()
    assert "report.html" in capsys.readouterr().out


def test_report_command_on_a_broken_file_exits_2(tmp_path, capsys):
    path = tmp_path / "results.json"
    path.write_text('{"schema_version": 1, "records": [')
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err


def test_pareto_front_keeps_only_undominated_points():
    points = [
        plots.Point("a", 1, 0.5),
        plots.Point("b", 2, 0.7),
        plots.Point("c", 3, 0.6),
        plots.Point("d", 4, 0.9),
        plots.Point("e", 2, 0.4),
    ]
    assert [p.label for p in plots.pareto_front(points)] == ["a", "b", "d"]


def test_plots_show_dollars_and_markup_literally():
    svg = plots.scatter([plots.Point("$x^2$ <b>", 1.0, 0.5, "g&")], title="t", xlabel="x", ylabel="y")
    assert svg.startswith("<svg") and "$x^2$ &lt;b&gt;" in svg and "<b>" not in svg


def test_markdown_and_csv_escaping():
    assert md("a|b") == "a\\|b"
    assert md("<script>") == "&lt;script&gt;"
    assert md("two\nlines") == "two lines"
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and csv_cell("plain") == "plain"


def test_fixture_round_trips(tmp_path):
    path = write_run(tmp_path, fixture_dict())
    assert load_results(path).model_dump() == load_results(FIXTURE).model_dump()
