"""Scorecards, the per-teacher summary, report.html (self-contained, escaped) and the report command."""

from __future__ import annotations

import html
import itertools
import math
import random
import re
import shutil

import pytest
from fixture_runs import FIXTURE, fixture_dict, rename_model, rename_task, variant, write_run

from harness.cli import main
from harness.results import RunResults, load_results
from leaderboard.site import build_site
from leaderboard.tables import TEACHER_TABLE_HEADERS, VARIANT_TABLE_HEADERS
from reports import plots
from reports.escape import csv_cell, md
from reports.glossary import header_help
from reports.html import render_report, write_report
from reports.noise import noise_note
from reports.palette import FORMAT_COLORS, format_color
from reports.scorecard import build_scorecards, retention_gate
from reports.summary import scorecard_rows, teacher_summaries
from reports.svg import Box
from reports.tables import SCORECARD_HEADERS, TEACHER_HEADERS

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


# -- layout, plots, palette, glossary and notes (issue #20) ------------------------------------------------

QUICK = FIXTURE.parents[2] / "bench" / "results" / "refactor-check" / "after-final-alone.json"
QUICK_BUSY = QUICK.with_name("after.json")


def _text_problems(canvas) -> list[str]:
    """Pairs of texts whose boxes overlap, and texts outside the image (the checks of test_browser.py, on
    the boxes the plot computed)."""
    frame = Box(0, 0, canvas.width, canvas.height)
    problems = [f"outside: {t}" for t in canvas.texts if not t.inside(frame)]
    problems += [f"{a} overlaps {b}" for a, b in itertools.combinations(canvas.texts, 2) if a.overlaps(b)]
    return problems


def _points(records) -> list[plots.Point]:
    return [
        plots.Point(f"{r.model} ({r.format})", r.p50(1), r.score, "", r.score_ci.low, r.score_ci.high, r.format, r.role)
        for r in records
    ]


def test_quick_suite_plot_labels_neither_overlap_nor_leave_the_plot():
    quick = load_results(QUICK)
    for task in dict.fromkeys(r.task for r in quick.records):
        canvas = plots.scatter_canvas(
            _points([r for r in quick.records if r.task == task]), title=task, xlabel="ms", ylabel="score", front=True
        )
        assert _text_problems(canvas) == [], task
        labels = [t for t in canvas.texts if t.x1 - t.x0 > 100]  # the five full "model (format)" labels
        assert len(labels) >= 5 + 1  # plus the Pareto front's legend entry


def test_a_crowded_plot_numbers_what_it_cannot_label():
    rng = random.Random(3)
    points = [
        plots.Point(f"model-{i}-with-a-long-name (onnx-int8)", rng.uniform(1, 3), y := rng.uniform(0.8, 0.82), "",
                    y - 0.01, y + 0.01, rng.choice(["pytorch", "onnx", "onnx-int8"]), rng.choice(["teacher", "student"]))
        for i in range(30)
    ]
    canvas = plots.scatter_canvas(points, title="a very long title " * 10, xlabel="x", ylabel="y", front=True)
    assert _text_problems(canvas) == []
    svg = canvas.render("crowded")
    assert "Numbered points:" in svg and "a very long title" in svg and "…" in svg  # the title is shortened


def test_bars_and_lines_keep_their_texts_apart():
    long_names = [f"a-task-with-a-rather-long-name-{i}" for i in range(8)]
    for svg in (
        plots.bars(long_names, {"s1": [1.0] * 8, "s2": [2.0] * 8}, title="t", ylabel="y", reference=1.5),
        plots.lines(long_names, {"a (onnx)": [0.5 + i / 100 for i in range(8)]}, title="t", ylabel="y"),
    ):
        assert svg.startswith("<svg") and "…" in svg  # category names shortened to their room, in full in <title>
        assert "<title>a-task-with-a-rather-long-name-0</title>" in svg


def test_one_colour_per_format_on_the_report_and_the_leaderboard(results, tmp_path):
    report = render_report(results)
    site = build_site([results], tmp_path / "site")
    index = site.index.read_text(encoding="utf-8")
    for fmt in ("pytorch", "onnx", "onnx-int8"):
        color = FORMAT_COLORS[fmt]
        assert f'fill="{color}"' in report and f'fill="{color}"' in index, fmt
    assert len(set(FORMAT_COLORS.values())) == len(FORMAT_COLORS)
    assert format_color("some-new-format") == format_color("some-new-format")  # stable for unknown formats


def test_every_column_is_in_the_glossary_and_every_page_has_it(results, tmp_path):
    for headers in (SCORECARD_HEADERS, TEACHER_HEADERS, VARIANT_TABLE_HEADERS, TEACHER_TABLE_HEADERS):
        missing = [h for h in headers if header_help(h) is None and h not in ("task", "run")]
        assert missing == [], missing
    assert "confidence interval" in header_help("score [95% CI]")
    report = render_report(results)
    site = build_site([results], tmp_path / "site")
    for text in (report, site.index.read_text(encoding="utf-8"), next(iter(site.task_pages.values())).read_text()):
        assert 'id="glossary"' in text
        for term in ("adaptation s", "adaptation PFLOP", "retention", "speedup", "compression", "reuse score",
                     "p50 ms", "95% CI", "⚠ (noisy latency)"):
            assert f"<dt>{html.escape(term)}</dt>" in text, term


def test_a_noisy_latency_says_why_and_what_to_do():
    busy = load_results(QUICK_BUSY)
    blocks = [r.latency(1) for r in busy.records if r.latency(1) and r.latency(1).noisy]
    assert len(blocks) == 16
    note = noise_note(blocks[0])
    assert note is not None and note.busy is not None and "CPU cores" in note.sentence
    assert "To fix" in note.sentence and "quiet" not in note.short
    text = render_report(busy)
    assert text.count('class="note"') >= 16 and "16 of 25 latencies are noisy" in text
    assert "min_seconds" in text and "taskset" in text
    assert noise_note(load_results(QUICK).records[0].latency(1)) is None  # a quiet run has no ⚠


def test_the_report_leads_with_what_to_ship_and_shows_record_notes(results):
    text = render_report(results)
    assert text.index("What to ship, per task") < text.index("Scorecards")
    assert text.count('<div class="card">') == 1 and "recommended</span>" in text
    data = variant(lambda d: d["records"][0].update(metric_notes={"f1": "no positive example in the sample"}))
    text = render_report(RunResults.model_validate(data))
    assert "f1 is undefined here: no positive example in the sample" in text
