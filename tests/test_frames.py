"""Results as data: ``RunResults.to_pandas()``, ``harness.frames.load_run_frame`` and ``leaderboard.load_frame``
(one row per record, flat typed columns, values equal to the records), and the leaderboard exports built from
frames."""

from __future__ import annotations

import csv
import io
import math

import pandas as pd
import pytest
from fixture_runs import FIXTURE, fixture_dict, write_run

import leaderboard
from harness.frames import frame_dtypes, load_run_frame
from harness.results import RunResults, load_results
from leaderboard.exports import CSV_COLUMNS, render_csv, render_markdown
from leaderboard.frames import entries_frame, overall_frame
from leaderboard.ranking import overall_ranking, rank_tasks
from leaderboard.store import Store

RECORD_DTYPES = {
    "run_id": "string", "created_at": "string", "suite": "category", "task": "category", "kind": "category",
    "model": "string", "teacher": "string", "role": "category", "format": "category", "primary_metric": "category",
    "score": "float64", "ci_low": "float64", "ci_high": "float64", "eval_examples": "Int64",
    "metrics.accuracy": "float64", "latency.batch_1.p50": "float64", "latency.batch_1.p90": "float64",
    "latency.batch_8.p50": "float64", "size_mb": "float64", "params": "Int64", "train.wall_s": "float64",
    "train.flops": "float64", "status": "category", "noisy": "bool", "retention": "float64", "speedup": "float64",
    "compression": "float64", "reuse_score": "float64",
}


def _same(value, expected) -> bool:
    """A frame cell equals a record's value (NaN / <NA> stand for None)."""
    if expected is None:
        return pd.isna(value)
    if isinstance(expected, float):
        return not pd.isna(value) and math.isclose(float(value), expected, rel_tol=0, abs_tol=0)
    return value == expected


@pytest.fixture
def results() -> RunResults:
    return load_results(FIXTURE)


def test_to_pandas_has_one_row_per_record_and_typed_columns(results):
    frame = results.to_pandas()
    assert len(frame) == len(results.records)
    for column, dtype in RECORD_DTYPES.items():
        assert str(frame[column].dtype) == dtype, column
    assert all(str(frame[c].dtype) == dtype for c, dtype in frame_dtypes(frame.columns).items())
    assert list(frame.columns[:6]) == ["run_id", "created_at", "suite", "git_commit", "cpu", "task"]
    assert [c for c in frame.columns if c.startswith("latency.")] == [
        "latency.batch_1.p50", "latency.batch_1.p90", "latency.batch_8.p50", "latency.batch_8.p90"]


def test_to_pandas_values_equal_the_records(results):
    frame = results.to_pandas()
    cards = {(c.task, c.student, c.format): c for c in results.scorecards}
    for row, record in zip(frame.to_dict("records"), results.records, strict=True):
        card = cards.get((record.task, record.model, record.format))
        expected = {
            "run_id": results.run_id, "created_at": results.created_at, "suite": results.suite,
            "task": record.task, "kind": record.kind, "model": record.model, "role": str(record.role),
            "format": str(record.format), "primary_metric": record.primary_metric, "score": record.score,
            "ci_low": record.score_ci.low, "ci_high": record.score_ci.high, "eval_examples": record.eval_examples,
            "size_mb": record.size_mb, "params": record.params, "status": record.status, "noisy": record.noisy,
            "train.wall_s": record.train.wall_s if record.train else None,
            "train.flops": record.train.flops if record.train else None,
            **{f"metrics.{k}": v for k, v in record.metrics.items()},
            **{f"latency.{b}.p50": block.p50 for b, block in record.latency_ms.items()},
            **{f"latency.{b}.p90": block.p90 for b, block in record.latency_ms.items()},
            **{k: getattr(card, k) if card else None for k in ("retention", "speedup", "compression", "reuse_score")},
        }
        for column, value in expected.items():
            assert _same(row[column], value), (column, row[column], value)
    # the teacher in PyTorch is the reference: no scorecard; every other record has one
    assert frame["retention"].isna().tolist() == [True, False, False, False, False]
    assert frame["teacher"].tolist() == ["all-MiniLM-L6-v2"] * 5  # older results: from the scorecards


def test_missing_values_are_na_not_errors():
    data = fixture_dict()
    data["records"][0].update(score=None, score_ci=None, latency_ms={}, train=None, params=0)
    data["scorecards"] = []
    frame = RunResults.model_validate(data).to_pandas()
    first = frame.iloc[0]
    assert pd.isna(first["score"]) and pd.isna(first["ci_low"]) and pd.isna(first["latency.batch_1.p50"])
    assert pd.isna(first["params"]) and pd.isna(first["train.wall_s"]) and frame["reuse_score"].isna().all()
    assert str(frame["params"].dtype) == "Int64"


def test_an_empty_run_is_an_empty_typed_frame():
    frame = RunResults(run_id="r", created_at="2026-01-01T00:00:00+00:00", suite="s").to_pandas()
    assert frame.empty and "task" in frame.columns and str(frame["score"].dtype) == "float64"


def test_load_run_frame_reads_a_run_folder_or_its_results_json(tmp_path, results):
    path = write_run(tmp_path / "run", fixture_dict())
    pd.testing.assert_frame_equal(load_run_frame(tmp_path / "run"), results.to_pandas())
    pd.testing.assert_frame_equal(load_run_frame(path), results.to_pandas())


def test_load_frame_has_every_stored_record_with_its_run(tmp_path):
    db = f"sqlite:///{tmp_path / 'store.db'}"
    first = RunResults.model_validate(fixture_dict())
    later = fixture_dict()
    later.update(run_id="later", created_at="2027-01-01T00:00:00+00:00", scorecards=[])  # scorecards rebuilt
    later["records"] = later["records"][:2]
    with Store(db) as store:
        store.import_runs([first, RunResults.model_validate(later)])
    frame = leaderboard.load_frame(db)
    assert len(frame) == len(first.records) + 2
    assert frame["run_id"].tolist() == ["run"] * len(first.records) + ["later"] * 2
    assert frame["created_at"].iloc[-1] == "2027-01-01T00:00:00+00:00"
    for column, dtype in RECORD_DTYPES.items():
        assert str(frame[column].dtype) == dtype, column
    stored = frame[frame["run_id"] == "run"].reset_index(drop=True)
    pd.testing.assert_frame_equal(stored, first.to_pandas())
    assert frame["speedup"].iloc[-1] == pytest.approx(first.to_pandas()["speedup"].iloc[1])


def test_load_frame_of_an_empty_store(tmp_path):
    frame = leaderboard.load_frame(str(tmp_path / "empty.db"))
    assert frame.empty and "reuse_score" in frame.columns


def _ranked():
    data = fixture_dict()
    data["records"][2]["model"] = '=HYPERLINK("x")|a'  # a formula and a pipe: escaped in both formats
    data["records"][2]["score_ci"] = None
    runs = [RunResults.model_validate(data)]
    per_task = rank_tasks(runs)
    return per_task, overall_ranking(per_task)


def test_exports_are_written_from_the_entry_frames():
    per_task, overall = _ranked()
    entries = entries_frame(per_task)
    assert len(entries) == sum(len(e) for e in per_task.values())
    assert str(entries["rank"].dtype) == "Int64" and str(entries["score"].dtype) == "float64"
    assert len(overall_frame(overall)) == len(overall)
    rows = list(csv.DictReader(io.StringIO(render_csv(per_task))))
    assert list(rows[0]) == CSV_COLUMNS and len(rows) == len(entries)
    for row, entry in zip(rows, [e for task in per_task.values() for e in task], strict=True):
        assert float(row["score"]) == entry.score and int(row["rank"]) == entry.rank
        assert (row["ci_low"] == "") == (not entry.has_ci)
        assert row["p50_ms_batch_1"] == ("" if entry.p50_ms is None else repr(entry.p50_ms))
    assert "'=HYPERLINK" in render_csv(per_task)  # csv_cell neutralises the formula
    text = render_markdown(per_task, overall)
    assert "\\|a" in text and text.startswith("# reusebench leaderboard")
    assert render_markdown({}, []).endswith("No runs stored yet.\n")
