"""``reusebench compare`` with per-example predictions: paired verdicts, refusals, tolerances and JUnit XML.

The results files are crafted from the fixture run: every record gets predictions on a generated eval split
of N examples, with its score, metrics and CI computed from them (so the files pass the results checks).
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from fixture_runs import fixture_dict, write_run

from harness.cli import main
from tasks.metrics import bootstrap_ci, compute

TASK = "tiny-sentiment"
STUDENT = "all-MiniLM-L6-v2-layers3"


def _with_predictions(n: int, accuracy: float = 0.88, seed: int = 0) -> dict:
    """The fixture with every record scored on ``n`` generated examples (all records predict alike)."""
    rng = np.random.default_rng(seed)
    refs = rng.integers(0, 2, n).tolist()
    preds = [r if rng.random() < accuracy else 1 - r for r in refs]
    data = fixture_dict()
    data["eval_sets"] = {
        TASK: {"fingerprint": "f" * 16, "examples": n, "metric": "classification",
               "metric_kwargs": {"num_labels": 2}, "references": refs}
    }
    for record in data["records"]:
        _score(record, list(preds), refs)
    return data


def _score(record: dict, preds: list[int], refs: list[int]) -> None:
    metrics = compute("classification", preds, refs, num_labels=2)
    record.update(predictions=preds, metrics=metrics, score=metrics["accuracy"], eval_examples=len(refs),
                  eval_fingerprint="f" * 16)
    low, high = bootstrap_ci("classification", preds, refs, key="accuracy", num_labels=2, n_resamples=200)
    record["score_ci"] = [min(low, record["score"]), max(high, record["score"])]


def _flip(data: dict, right_to_wrong: int, wrong_to_right: int = 0, role: str = "student") -> dict:
    """A copy where each ``role`` record loses ``right_to_wrong`` right examples and gains ``wrong_to_right``."""
    data = copy.deepcopy(data)
    refs = data["eval_sets"][TASK]["references"]
    for record in data["records"]:
        if record["role"] != role:
            continue
        preds = list(record["predictions"])
        right = [i for i, (p, r) in enumerate(zip(preds, refs, strict=True)) if p == r]
        wrong = [i for i, (p, r) in enumerate(zip(preds, refs, strict=True)) if p != r]
        for i in right[:right_to_wrong] + wrong[:wrong_to_right]:
            preds[i] = 1 - preds[i]
        _score(record, preds, refs)
    return data


def compare(capsys, *args) -> tuple[int, str, str]:
    code = main(["compare", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def base_2000():
    return _with_predictions(2000)


def test_equivalent_within_noise_passes_with_tost(capsys, tmp_path, base_2000):
    base = write_run(tmp_path / "b", base_2000)
    cand = write_run(tmp_path / "c", _flip(base_2000, 5, 4))
    code, out, _ = compare(capsys, base, cand)
    assert code == 0, out
    assert "no regression" in out and "✅ equivalent" in out
    assert "5↓ 4↑, McNemar p" in out and "TOST p" in out


def test_two_points_worse_on_2000_examples_is_a_regression(capsys, tmp_path, base_2000):
    base = write_run(tmp_path / "b", base_2000)
    cand = write_run(tmp_path / "c", _flip(base_2000, 40))
    junit = tmp_path / "compare.xml"
    code, out, _ = compare(capsys, base, cand, "--junit", junit)
    assert code == 1
    regressions = out.split("### Regressions")[1].split("### Records")[0]
    assert "accuracy fell" in regressions and "paired 95 % CI" in regressions and "40 right→wrong" in regressions
    assert "teacher" not in regressions
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == "5" and suite.get("failures") == "3"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == [f"student {STUDENT} ({fmt})" for fmt in ("onnx", "onnx-int8", "pytorch")]


def test_a_drop_within_a_looser_tolerance_is_not_a_regression(capsys, tmp_path, base_2000):
    base = write_run(tmp_path / "b", base_2000)
    cand = write_run(tmp_path / "c", _flip(base_2000, 40))
    assert compare(capsys, base, cand, "--tolerance", "accuracy=0.05")[0] == 0
    tolerances = tmp_path / "tol.yaml"
    tolerances.write_text("tolerances:\n  accuracy: {relative: 0.1}\n")
    assert compare(capsys, base, cand, "--tolerances", tolerances)[0] == 0


def test_a_small_sample_is_inconclusive_and_can_be_made_to_fail(capsys, tmp_path):
    small = _with_predictions(20)
    base = write_run(tmp_path / "b", small)
    cand = write_run(tmp_path / "c", _flip(small, 2))
    code, out, _ = compare(capsys, base, cand)
    assert code == 0 and "❔ inconclusive" in out and "too few to tell" in out
    assert compare(capsys, base, cand, "--fail-inconclusive")[0] == 1


def test_a_changed_primary_metric_is_refused(capsys, tmp_path, base_2000):
    changed = copy.deepcopy(base_2000)
    for record in changed["records"]:
        record["primary_metric"] = "f1"
        record["score"] = record["metrics"]["f1"]
        record["score_ci"] = [record["score"], record["score"]]
    code, _, err = compare(capsys, write_run(tmp_path / "b", base_2000), write_run(tmp_path / "c", changed))
    assert code == 2 and "primary metric changed from 'accuracy' to 'f1'" in err
    assert len(err.strip().splitlines()) == 1


def test_a_changed_eval_split_is_refused(capsys, tmp_path, base_2000):
    changed = copy.deepcopy(base_2000)
    for record in changed["records"]:
        record["eval_fingerprint"] = "0" * 16
    code, _, err = compare(capsys, write_run(tmp_path / "b", base_2000), write_run(tmp_path / "c", changed))
    assert code == 2 and "the eval split changed" in err
    fewer = _with_predictions(1500)
    code, _, err = compare(capsys, write_run(tmp_path / "b2", base_2000), write_run(tmp_path / "c2", fewer))
    assert code == 2 and "2000 → 1500 examples" in err


def test_runs_that_share_no_record_are_refused_even_with_allow_missing(capsys, tmp_path, base_2000):
    other = copy.deepcopy(base_2000)
    for record in other["records"]:
        record["task"] = "another-task"
    other["eval_sets"] = {"another-task": other["eval_sets"].pop(TASK)}
    other["scorecards"] = []
    code, _, err = compare(capsys, write_run(tmp_path / "b", base_2000), write_run(tmp_path / "c", other),
                           "--allow-missing")
    assert code == 2 and "nothing to compare" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tolerance", "accuracy"], "expected METRIC=VALUE"),
        (["--tolerance", "accuracy=-1"], "must be a finite number"),
        (["--tolerance", "f1=200%"], "from 0% to 100%"),
        (["--tolerance", "f1=abc"], "is not a number"),
    ],
)
def test_bad_tolerances_are_one_line(capsys, tmp_path, base_2000, args, message):
    path = write_run(tmp_path, base_2000)
    code, _, err = compare(capsys, path, path, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_bad_tolerances_file_names_the_field(capsys, tmp_path, base_2000):
    path = write_run(tmp_path, base_2000)
    bad = tmp_path / "tol.yaml"
    bad.write_text("tolerances:\n  accuracy: {absolute: 0.01, relativ: 0.1}\n")
    code, _, err = compare(capsys, path, path, "--tolerances", bad)
    assert code == 2 and str(bad) in err and "relativ" in err


def test_junit_never_overwrites_a_file_of_the_users(capsys, tmp_path, base_2000):
    path = write_run(tmp_path, base_2000)
    mine = tmp_path / "mine.xml"
    mine.write_text("<?xml version='1.0'?><mine/>")
    code, _, err = compare(capsys, path, path, "--junit", mine)
    assert code == 2 and "was not written by reusebench" in err
    assert mine.read_text() == "<?xml version='1.0'?><mine/>"


def test_the_comparison_as_a_frame_holds_the_verdicts(base_2000):
    import json

    from harness.results import parse_results
    from reports.compare import compare_runs
    from reports.compare_render import comparison_frame

    def load(data):
        return parse_results(json.dumps(data).encode(), "crafted.json")

    frame = comparison_frame(compare_runs(load(base_2000), load(_flip(base_2000, 40))))
    assert len(frame) == 5
    students = frame[frame.role == "student"]
    assert (students.verdict == "regression").all() and (students.right_to_wrong == 40).all()
    assert str(frame.right_to_wrong.dtype) == "Int64"
    assert students.difference.round(4).eq(-0.02).all() and (students.ci_high < -0.01).all()
