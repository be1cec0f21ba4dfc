"""bench/teachers.py's section on the transferability estimates: does each estimate pick the teacher that
fine-tuning ranks first, and Kendall's τ over every (task, teacher) pair of the files."""

import importlib.util
from pathlib import Path

import pytest
from scipy.stats import kendalltau

from harness.results import Record
from reports.adaptation import EstimateRow

SPEC = importlib.util.spec_from_file_location("bench_teachers", Path(__file__).parents[1] / "bench" / "teachers.py")
teachers_module = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(teachers_module)


def row(task: str, teacher: str, score: float, logme: float, hscore: float | None) -> EstimateRow:
    record = Record(task=task, kind="classification", model=teacher, teacher=teacher, role="teacher",
                    format="pytorch", primary_metric="accuracy", score=score,
                    transferability={"logme": logme, "hscore": hscore, "leep": None})
    return EstimateRow(task, teacher, record)


ROWS = [
    row("sst2", "small", 0.81, -0.56, 0.68),
    row("sst2", "large", 0.92, -0.39, 0.92),
    # LogME ranks "small" first on CoNLL, fine-tuning "large"; H-score has no value there
    row("conll2003", "small", 0.80, 1.10, None),
    row("conll2003", "large", 0.85, 0.90, None),
]


def test_each_estimate_is_checked_against_the_fine_tuned_ranking_per_task():
    text = "\n".join(teachers_module.selection_lines(ROWS))
    assert "- sst2: LogME picks large; fine-tuning agrees" in text
    assert "- sst2: H-score picks large; fine-tuning agrees" in text
    assert "- conll2003: LogME picks small; fine-tuning disagrees (fine-tuning ranks large first)" in text
    assert "conll2003: H-score" not in text  # no value, no verdict
    assert "| conll2003 | small | 1.100 | – | 0.8000 |" in text
    assert "LEEP" not in text  # never has a value for a pretrained encoder: no τ line either


def test_tau_over_all_pairs_is_scipys_and_needs_three_pairs():
    text = "\n".join(teachers_module.selection_lines(ROWS))
    tau, p_value = kendalltau([-0.56, -0.39, 1.10, 0.90], [0.81, 0.92, 0.80, 0.85])
    assert f"- LogME over all pairs: τ = {tau:+.2f} (p = {p_value:.3f}, 4 pairs)" in text
    assert "- H-score over all pairs: no τ (2 (task, model) pair(s) with a value; τ needs 3)" in text


@pytest.mark.parametrize("rows", [ROWS[:1], []])
def test_one_teacher_per_task_gives_no_verdict(rows):
    lines = teachers_module.selection_lines(rows)
    assert not [line for line in lines if " picks " in line]
    assert [line for line in lines if line.startswith("| sst2 |")] == (["| sst2 | small | -0.560 | 0.680 | 0.8100 |"]
                                                                      if rows else [])


def test_a_teacher_at_the_trivial_baseline_has_its_students_retention_withheld():
    """MRPC with 1,000 training pairs: MiniLM's F1 (0.822) does not beat answering "paraphrase" every time by more
    than its CI, so its students have no retention and the table says why instead of a bare dash."""
    from harness.results import load_results

    results = load_results(Path(__file__).parents[1] / "bench" / "results" / "teachers" / "mrpc.json")
    rows = {row["teacher"]: row for row in teachers_module.task_rows(results)}
    assert rows["all-MiniLM-L6-v2"]["withheld"] and rows["all-MiniLM-L6-v2"]["student"] is None
    assert not rows["all-mpnet-base-v2"]["withheld"] and rows["all-mpnet-base-v2"]["student"].retention >= 0.97
    table = teachers_module.render(list(rows.values()), [("mrpc.json", results)])
    assert "| withheld: the teacher does not beat the trivial baseline |" in table
