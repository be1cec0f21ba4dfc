"""``reusebench compare``: verdicts and exit codes, through the command line."""

from __future__ import annotations

import json

import pytest
from fixture_runs import FIXTURE, rename_model, scale_students, variant, write_run

from harness.cli import main

STUDENT = "all-MiniLM-L6-v2-layers3"


def compare(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["compare", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_run_compared_with_itself_has_no_regression(capsys, tmp_path):
    summary = tmp_path / "summary.md"
    code, out, _ = compare(capsys, FIXTURE, FIXTURE, "--markdown", summary)
    assert code == 0
    assert "no regression" in out
    assert summary.read_text(encoding="utf-8") == out.rstrip("\n") + "\n"
    assert "| tiny-sentiment | student |" in out  # the table lists every matched record


def test_run_directories_are_accepted(capsys, tmp_path):
    base = write_run(tmp_path / "base", variant(lambda d: None)).parent
    assert compare(capsys, base, FIXTURE)[0] == 0


def test_lower_student_scores_and_slower_latencies_are_regressions(capsys, tmp_path):
    candidate = write_run(tmp_path, variant(scale_students(score=0.8, latency=3.0), run_id="candidate"))
    code, out, _ = compare(capsys, FIXTURE, candidate)
    assert code == 1
    assert "3 regression(s)" in out
    regressions = out.split("### Regressions")[1].split("### Records")[0]
    for fmt in ("pytorch", "onnx", "onnx-int8"):
        assert f"student {STUDENT} · {fmt}**" in regressions
    assert "accuracy fell 0.7250 → 0.5800" in regressions
    assert "p50 latency at batch 1 rose" in regressions and "p50 latency at batch 8 rose" in regressions
    assert "teacher" not in regressions  # the teacher did not change


def test_score_drop_is_caught_even_without_a_ci(capsys, tmp_path):
    # (A score outside its own CI is refused as bad input since issue #21: tests/test_bad_inputs_results.py.)
    def mutate(d):
        scale_students(score=0.8, ci=False)(d)
        for r in d["records"]:
            if r["role"] == "student":
                r["score_ci"] = None

    candidate = write_run(tmp_path, variant(mutate))
    code, out, _ = compare(capsys, FIXTURE, candidate)
    regressions = out.split("### Regressions")[1].split("### Records")[0]
    assert code == 1 and "accuracy fell" in regressions and "latency" not in regressions


def test_latency_alone_beyond_noise_is_a_regression(capsys, tmp_path):
    candidate = write_run(tmp_path, variant(scale_students(latency=3.0)))
    code, out, _ = compare(capsys, FIXTURE, candidate)
    assert code == 1 and "p50 latency at batch 1 rose" in out and "accuracy fell" not in out


def test_changes_within_noise_or_thresholds_pass(capsys, tmp_path):
    # 5 % slower stays within baseline p90 and the 10 % threshold; a 0.005 drop is under the 0.01 threshold.
    candidate = write_run(tmp_path, variant(scale_students(score=0.993, latency=1.05)))
    assert compare(capsys, FIXTURE, candidate)[0] == 0
    # A 20 % slowdown passes a 50 % threshold; a 14.5-point drop passes a 0.2 threshold.
    slow = write_run(tmp_path / "slow", variant(scale_students(score=0.8, latency=1.2)))
    assert compare(capsys, FIXTURE, slow, "--max-latency-increase", "0.5", "--max-score-drop", "0.2")[0] == 0


def test_an_insignificant_score_drop_is_not_a_regression(capsys, tmp_path):
    # -0.02 but both scores inside each other's CIs: sampling noise, not a regression.
    def mutate(d):
        for r in d["records"]:
            if r["role"] == "student":
                r["score"] -= 0.02
                r["metrics"][r["primary_metric"]] -= 0.02  # the score is its primary metric

    candidate = write_run(tmp_path, variant(mutate))
    code, out, _ = compare(capsys, FIXTURE, candidate)
    assert code == 0 and "-0.0200" in out


def test_improvements_are_reported(capsys, tmp_path):
    candidate = write_run(tmp_path, variant(scale_students(latency=0.5)))
    code, out, _ = compare(capsys, FIXTURE, candidate)
    assert code == 0 and "improved" in out


def test_missing_records_are_reported_and_fail_unless_allowed(capsys, tmp_path):
    candidate = write_run(tmp_path, variant(lambda d: d["records"].pop()))  # drop the int8 student
    code, out, _ = compare(capsys, FIXTURE, candidate)
    assert code == 1 and "missing in the candidate" in out and "onnx-int8" in out
    code, out, _ = compare(capsys, FIXTURE, candidate, "--allow-missing")
    assert code == 0 and "missing in the candidate (allowed)" in out


def test_a_failed_export_is_a_regression(capsys, tmp_path):
    candidate = write_run(
        tmp_path,
        variant(lambda d: d["records"][4].update(status="failed", status_reason="int8 lost 5 points")),
    )
    code, out, _ = compare(capsys, FIXTURE, candidate)
    assert code == 1 and "status ok → failed: int8 lost 5 points" in out


def test_a_renamed_student_is_matched_by_slot(capsys, tmp_path):
    candidate = write_run(tmp_path, variant(rename_model(STUDENT, "student|v2")))
    code, out, _ = compare(capsys, FIXTURE, candidate)
    assert code == 0 and "student\\|v2" in out  # matched, and the pipe cannot break the table


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"schema_version": 1, "run_id": "x", "records": [', "not a readable results file"),
        ('{"hello": "world"}', "not a reusebench results file"),
        ('{"schema_version": 99, "records": []}', "schema_version 99"),
        (None, "records[0].score: not a finite number"),
        (None, "duplicate record"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, content, message):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    elif "finite" in message:
        data = variant(lambda d: None)
        data["records"][0]["score"] = float("nan")
        path.write_text(json.dumps(data))  # Python writes NaN, which json.loads reads back
    else:
        data = variant(lambda d: d["records"].append(dict(d["records"][0])))
        write_run(tmp_path, data)
    code, out, err = compare(capsys, FIXTURE, path)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and str(path) in err and message in err


def test_a_missing_file_exits_2(capsys, tmp_path):
    code, _, err = compare(capsys, tmp_path / "nope.json", FIXTURE)
    assert code == 2 and "not found" in err
