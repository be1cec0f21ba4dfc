"""The small helpers the report and leaderboard modules share (one copy each), and the public names the
split modules still answer to."""

from __future__ import annotations

from harness.results import Record, ScoreInterval, load_results
from reports.escape import md, md_code
from reports.figures import latency_key
from reports.scorecard import training_of
from reports.tables import score_cell
from reports.text import batch_label, batch_order, ci_text, fmt, latency_keys
from tests.fixture_runs import FIXTURE


def _record(**changes) -> Record:
    fields = dict(task="t", kind="classification", model="m", role="student", format="pytorch",
                  primary_metric="accuracy")
    fields.update(changes)
    return Record(**fields)


def test_numbers_and_cis_as_text():
    assert fmt(None) == "–" and fmt(1.23456, 2, "×") == "1.23×"
    assert ci_text(None) == "" and ci_text((0.1, 0.25)) == " [0.100, 0.250]"
    assert ci_text(ScoreInterval(low=0.1, high=0.25), 4) == " [0.1000, 0.2500]"


def test_latency_keys_in_batch_order():
    records = [
        _record(latency_ms={"batch_16": {"p50": 3.0}, "batch_2": {"p50": 2.0}}),
        _record(latency_ms={"warm": {"p50": 1.0}, "batch_1": {"p50": 1.0}}),
    ]
    assert latency_keys(records) == ["batch_1", "batch_2", "batch_16", "warm"]
    assert sorted(["batch_8", "batch_1"], key=batch_order) == ["batch_1", "batch_8"]
    assert batch_label("batch_8") == "batch 8"
    assert latency_key(records) == "batch_1" and latency_key(records[:1]) == "batch_2"
    assert latency_key([_record()]) is None


def test_md_escapes_markup_and_md_code_shows_a_name_literally():
    assert md("a_b*[x](y)") == r"a_b\*\[x\](y)"  # an underscore inside a word cannot open emphasis
    assert md("_a_ b_") == r"\_a\_ b\_"
    assert md_code("quick") == "`quick`" and md_code("a`b") == "``a`b``" and md_code("`x") == "`` `x ``"
    assert md_code("two\nlines") == "`two lines`"


def test_score_cell():
    assert score_cell(None, (0.1, 0.2)).text == "–"
    cell = score_cell(0.5, ScoreInterval(low=0.4, high=0.6))
    assert cell.text == "0.5000 [0.400, 0.600]" and cell.sort == "0.5" and cell.numeric
    assert score_cell(0.5, None, no_ci=" (no CI)").text == "0.5000 (no CI)"


def test_an_export_inherits_the_training_of_its_pytorch_model():
    records = load_results(FIXTURE).records
    teacher_pt, teacher_onnx = records[0], records[1]
    assert training_of(records, teacher_pt) is teacher_pt
    assert training_of(records, teacher_onnx) is teacher_pt
    assert training_of(records, _record(task="other")) is None


def test_the_split_modules_keep_their_public_names():
    from leaderboard.site import (  # noqa: F401
        CSV_COLUMNS,
        RANKING_RULE,
        build_site,
        render_csv,
        render_index,
        render_markdown,
        render_task_page,
        task_slug,
        tie_text,
    )
    from leaderboard.store import (  # noqa: F401
        BUSY_TIMEOUT_S,
        ImportOutcome,
        Store,
        StoredRun,
        canonical_json,
        content_hash,
        default_db_url,
        record_run,
    )
    from reports.html import (  # noqa: F401
        latency_key,
        records_section,
        render_report,
        scorecards_section,
        task_plots,
        teacher_summary_section,
        write_report,
    )
