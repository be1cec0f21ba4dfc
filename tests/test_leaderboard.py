"""Ranking with ties, the static site (files, escaping) and ``reusebench history``."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fixture_runs import FIXTURE, rename_model, rename_task, scale_students, variant, write_run

from harness.cli import main
from harness.results import RunResults
from leaderboard.ranking import (
    TEACHERS,
    VARIANTS,
    Entry,
    latest_entries,
    overall_ranking,
    rank_entries,
    rank_within_roles,
    role_standings,
)
from leaderboard.site import build_site, task_slug

STUDENT = "all-MiniLM-L6-v2-layers3"
XSS = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def entry(
    name: str,
    score: float,
    low: float,
    high: float,
    task: str = "t",
    fmt: str = "onnx",
    role: str = "student",
    reuse: float | None = None,
) -> Entry:
    return Entry(
        task=task,
        model=name,
        role=role,
        format=fmt,
        teacher="T",
        run_id="r",
        created_at="c",
        primary_metric="accuracy",
        score=score,
        ci_low=low,
        ci_high=high,
        has_ci=True,
        p50_ms=1.0,
        size_mb=1.0,
        retention=None,
        reuse_score=reuse,
    )


def test_rank_is_one_plus_the_entries_significantly_better():
    ranked = rank_entries(
        [
            entry("c", 0.74, 0.70, 0.78),
            entry("a", 0.85, 0.80, 0.90),
            entry("b", 0.80, 0.75, 0.85),
            entry("d", 0.50, 0.45, 0.55),
        ]
    )
    assert [(e.model, e.rank, e.position) for e in ranked] == [
        ("a", 1, 1),
        ("b", 1, 2),
        ("c", 2, 3),
        ("d", 4, 4),
    ]
    by = {e.model: e for e in ranked}
    assert by["a"].tied_with == ["b (onnx)"]  # a and c do not overlap: no tie, though both tie with b
    assert by["b"].tied_with == ["a (onnx)", "c (onnx)"]
    assert not by["d"].tied


def test_entries_without_ci_tie_only_on_equal_scores():
    e1, e2 = entry("x", 0.8, 0.8, 0.8), entry("y", 0.8, 0.8, 0.8)
    e3 = entry("z", 0.7, 0.7, 0.7)
    ranked = rank_entries([e1, e2, e3])
    assert [e.rank for e in ranked] == [1, 1, 3] and ranked[0].tied and not ranked[2].tied


def test_overall_rank_is_the_mean_task_rank_with_coverage_first():
    per_task = {
        "t1": rank_entries(
            [
                entry("a", 0.9, 0.88, 0.92, "t1"),
                entry("b", 0.5, 0.48, 0.52, "t1"),
                entry("only-t1", 0.6, 0.58, 0.62, "t1"),
            ]
        ),
        "t2": rank_entries([entry("a", 0.5, 0.48, 0.52, "t2"), entry("b", 0.9, 0.88, 0.92, "t2")]),
    }
    overall = overall_ranking(per_task)
    assert [(o.model, o.mean_rank, o.tasks_covered, o.rank) for o in overall] == [
        ("a", 1.5, 2, 1),
        ("b", 2.0, 2, 2),
        ("only-t1", 2.0, 1, 3),
    ]
    per_task["t2"] = rank_entries([entry("a", 0.9, 0.8, 1.0, "t2"), entry("b", 0.9, 0.8, 1.0, "t2")])
    per_task["t1"] = rank_entries([entry("a", 0.9, 0.8, 1.0, "t1"), entry("b", 0.9, 0.8, 1.0, "t1")])
    overall = overall_ranking(per_task)
    assert [o.rank for o in overall] == [1, 1] and overall[0].tied_with == ["b (onnx)"]


def test_teachers_rank_by_score_and_variants_by_reuse_score():
    entries = [
        entry("T1", 0.95, 0.93, 0.97, fmt="pytorch", role="teacher"),
        entry("T2", 0.80, 0.78, 0.82, fmt="pytorch", role="teacher"),
        entry("T1", 0.95, 0.93, 0.97, fmt="onnx", role="teacher", reuse=1.7),
        entry("s", 0.90, 0.88, 0.92, fmt="onnx-int8", reuse=8.1),
        entry("s", 0.90, 0.88, 0.92, fmt="onnx", reuse=2.0),
        entry("s2", 0.91, 0.89, 0.93, fmt="onnx", reuse=2.0004),  # equal to 3 decimals: a tie
        entry("lost", 0.50, 0.45, 0.55, fmt="pytorch", reuse=None),
    ]
    teachers, variants = rank_within_roles(entries)
    assert [(e.name, e.role_rank) for e in teachers] == [("T1 (pytorch)", 1), ("T2 (pytorch)", 2)]
    assert [(e.name, e.role_rank) for e in variants] == [
        ("s (onnx-int8)", 1),
        ("s2 (onnx)", 2),
        ("s (onnx)", 2),
        ("T1 (onnx)", 4),
        ("lost (pytorch)", None),  # no reuse score: listed, not ranked
    ]
    assert variants[1].role_tied_with == ["s (onnx)"] and not variants[0].role_tied_with
    other = [entry("s", 0.9, 0.88, 0.92, "u", "onnx-int8", reuse=1.0), entry("s", 0.9, 0.88, 0.92, "u", reuse=3.0)]
    rank_within_roles(other)
    standings = role_standings({"t": entries, "u": other}, VARIANTS)
    assert [(s.name, s.tasks_covered, s.mean_rank, s.rank) for s in standings[:2]] == [
        ("s (onnx-int8)", 2, 1.5, 1),  # a tie on coverage and mean rank, listed by the mean reuse score
        ("s (onnx)", 2, 1.5, 1),
    ]
    assert standings[0].tied_with == ["s (onnx)"] and standings[0].mean_value == pytest.approx(4.55)
    assert [s.name for s in role_standings({"t": entries}, TEACHERS)] == ["T1 (pytorch)", "T2 (pytorch)"]


def test_the_latest_run_supersedes_older_entries():
    old = RunResults.model_validate(
        variant(lambda d: None, run_id="old", created_at="2020-01-01T00:00:00+00:00")
    )
    new = RunResults.model_validate(variant(scale_students(score=0.5), run_id="new"))
    entries = latest_entries([new, old])["tiny-sentiment"]
    assert len(entries) == 5 and {e.run_id for e in entries} == {"new"}
    assert {e.score for e in entries if e.role == "student"} == {0.3625, 0.36}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A store with three runs (two tasks, one with a degraded student, one with hostile names) and its site."""
    tmp_path = tmp_path_factory.mktemp("site")
    second = write_run(
        tmp_path / "second",
        variant(rename_task("sst2-like"), run_id="second", created_at="2026-12-01T00:00:00+00:00"),
    )
    hostile = write_run(
        tmp_path / "hostile",
        variant(
            lambda d: (
                rename_model(STUDENT, XSS)(d),
                rename_task(IMG)(d),
                scale_students(score=0.5)(d),
                d["records"][1].update(model='=HYPERLINK("http://x")|pipe'),
            ),
            run_id="<b>hostile</b>",
            created_at="2026-12-02T00:00:00+00:00",
        ),
    )
    out = tmp_path / "site"
    db = f"sqlite:///{tmp_path / 'lb.db'}"
    assert (
        main(
            [
                "leaderboard",
                "--db",
                db,
                "--add",
                str(FIXTURE),
                "--add",
                str(second),
                "--add",
                str(hostile),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out, db


def test_site_files_exist_with_ranks_ties_and_plots(site):
    out, _ = site
    pages = sorted(p.name for p in out.glob("task-*.html"))
    assert len(pages) == 3 and all(re.fullmatch(r"task-[a-z0-9-]+-[0-9a-f]{6}\.html", p) for p in pages)
    index = (out / "index.html").read_text(encoding="utf-8")
    for name in pages:
        assert f'href="{name}"' in index
    # The index ranks within each role (issue #20): no single ranking where the teacher always comes first.
    assert "Teachers, ranked by fine-tuned score" in index and "ranked by reuse score" in index
    assert "What to ship, per task" in index and "How reusable is each model?" in index and "<svg" in index
    assert index.count("<svg") == 3 and 'id="glossary"' in index  # a Pareto plot per task
    assert 'class="sortable"' in index and 'class="filter"' in index
    task_page = (out / f"{task_slug('tiny-sentiment')}.html").read_text(encoding="utf-8")
    assert task_page.count("<svg") == 2 and "Pareto front" in task_page
    assert 'id="teachers"' in task_page and 'id="variants"' in task_page and 'id="glossary"' in task_page
    # every entry by score, with its statistical ties, is still there (as in leaderboard.csv), folded away
    assert ">1=<" in task_page and "≈ " in task_page  # the five entries all overlap: a statistical tie
    md_text = (out / "leaderboard.md").read_text(encoding="utf-8")
    assert "## Overall" in md_text and "## tiny-sentiment" in md_text and "| 1= |" in md_text
    rows = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 15 and {r["task"] for r in rows} >= {"tiny-sentiment", "sst2-like"}
    tiny = [r for r in rows if r["task"] == "tiny-sentiment"]
    assert [int(r["rank"]) for r in tiny] == [1] * 5 and all(r["tied_with"] for r in tiny)


def test_hostile_names_are_escaped_everywhere(site):
    out, _ = site
    for page in out.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert XSS not in text and "<img src=x" not in text and "<b>hostile</b>" not in text, page.name
    task_page = (out / f"{task_slug(IMG)}.html").read_text(encoding="utf-8")
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in task_page
        and "&lt;img src=x onerror=alert(1)&gt;" in task_page
    )
    md_text = (out / "leaderboard.md").read_text(encoding="utf-8")
    assert XSS not in md_text and "&lt;script&gt;" in md_text and "\\|pipe" in md_text
    csv_text = (out / "leaderboard.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert any(r["model"].startswith("'=HYPERLINK") for r in rows)
    assert not any(r["model"].startswith("=") for r in rows)


def test_an_empty_store_builds_an_empty_site(tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["leaderboard", "--db", f"sqlite:///{tmp_path / 'e.db'}", "--out", str(out)]) == 0
    assert "holds no runs yet" in (out / "index.html").read_text(encoding="utf-8")
    assert (out / "leaderboard.csv").read_text().startswith("task,rank,")


def test_history_shows_a_tasks_trend(site, tmp_path, capsys):
    _, db = site
    extra = write_run(
        tmp_path / "later",
        variant(scale_students(score=0.9), run_id="later", created_at="2027-01-01T00:00:00+00:00"),
    )
    assert main(["leaderboard", "--db", db, "--add", str(extra), "--out", str(tmp_path / "site2")]) == 0
    capsys.readouterr()
    page = tmp_path / "history.html"
    assert main(["history", "tiny-sentiment", "--db", db, "--out", str(page)]) == 0
    text = capsys.readouterr().out
    assert text.index("| run |") < text.index("| later |") and "0.6525" in text  # 0.725 × 0.9, newest last
    html_text = page.read_text(encoding="utf-8")
    assert html_text.count("<svg") == 2 and "History of task tiny-sentiment" in html_text


def test_history_of_an_unknown_task_is_bad_input(site, capsys):
    _, db = site
    assert main(["history", "tiny-sentimnt", "--db", db]) == 2
    assert "did you mean 'tiny-sentiment'" in capsys.readouterr().err


def test_build_site_refuses_a_file_as_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(Exception, match="--out"):
        build_site([], blocker)


def test_base_models_are_ranked_by_the_best_reuse_score_of_their_variants():
    from leaderboard.base_models import base_model_markdown, base_model_standings, best_per_task

    def made_from(base: str, name: str, reuse: float | None, task: str = "t", score: float = 0.9) -> Entry:
        made = entry(name, score, score - 0.02, score + 0.02, task, reuse=reuse)
        made.teacher = base
        return made

    teacher = entry("big", 0.95, 0.93, 0.97, fmt="pytorch", role="teacher", reuse=None)
    teacher.teacher = "big"
    per_task = {
        "t": [teacher, made_from("big", "big-l3", 2.0), made_from("big", "big-l6", 1.2),
              made_from("small", "small-l3", 3.5), made_from("small", "small-probe", None)],
        "u": [made_from("big", "big-l3", 4.0, "u"), made_from("small", "small-l3", 4.0004, "u", score=0.8),
              made_from("tiny", "tiny-l1", 1.0, "u")],
    }
    ranked = best_per_task(per_task)
    assert [(r.base, r.best.model, r.rank) for r in ranked["t"]] == [("small", "small-l3", 1), ("big", "big-l3", 2)]
    # equal to three decimals: a shared rank, listed by the higher score
    assert [(r.base, r.rank) for r in ranked["u"]] == [("big", 1), ("small", 1), ("tiny", 3)]
    standings = base_model_standings(per_task)
    assert [(s.base, s.tasks_covered, s.mean_rank, s.rank) for s in standings] == [
        ("small", 2, 1.0, 1), ("big", 2, 1.5, 2), ("tiny", 1, 3.0, 3)]  # coverage first, then mean rank
    assert standings[0].mean_reuse == pytest.approx((3.5 + 4.0004) / 2)
    lines = base_model_markdown(standings, ["t", "u"])
    assert lines[0] == "## Base models by best reuse score"
    assert "| 1 | small | 2/2 | 1.00 | 3.750 | 3.500 (#1, small-l3 (onnx)) | 4.000 (#1, small-l3 (onnx)) |" in lines
    assert base_model_markdown([], ["t"]) == []


def test_base_models_are_also_ranked_by_their_fine_tuned_teachers():
    from leaderboard.base_models import fine_tuned_markdown
    from leaderboard.ranking import rank_within_roles

    def teacher(base: str, task: str, score: float, half: float = 0.01) -> Entry:
        made = entry(base, score, score - half, score + half, task, fmt="pytorch", role="teacher", reuse=None)
        made.teacher = base
        return made

    per_task = {"t": [teacher("big", "t", 0.95), teacher("small", "t", 0.80)],
                "u": [teacher("big", "u", 0.70, half=0.1), teacher("small", "u", 0.75, half=0.1),
                      teacher("solo", "u", 0.40)]}
    for entries in per_task.values():
        rank_within_roles(entries)
    lines = fine_tuned_markdown(per_task, ["t", "u"])
    assert lines[0] == "## Base models by fine-tuned score"
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| rank")]
    # big: #1 on t and tied #1 on u (overlapping CIs); small: #2 and #1; solo covers one task only
    assert rows == ["| 1 | big | 2/2 | 1.00 | 0.9500 (#1) | 0.7000 (#1) |",
                    "| 2 | small | 2/2 | 1.50 | 0.8000 (#2) | 0.7500 (#1) |",
                    "| 3 | solo | 1/2 | 3.00 | – | 0.4000 (#3) |"]
    assert fine_tuned_markdown({"t": []}, ["t"]) == []


def test_the_site_and_markdown_rank_base_models(tmp_path):
    def other_teacher(data: dict) -> None:
        rename_model(STUDENT, "other-layers3")(data)
        rename_model("all-MiniLM-L6-v2", "other-teacher")(data)
        for record in data["records"]:
            record["teacher"] = "other-teacher"

    runs = [RunResults.model_validate(variant(lambda d: None)),
            RunResults.model_validate(variant(other_teacher, run_id="other"))]
    site = build_site(runs, tmp_path / "site")
    index = site.index.read_text()
    assert 'id="base-models-section"' in index and "other-layers3" in index
    section = site.markdown.read_text().split("## Base models by best reuse score")[1].split("\n## ")[0]
    assert "| all-MiniLM-L6-v2 |" in section and "| other-teacher |" in section
    assert "other-layers3" in section
    page = next(iter(site.task_pages.values())).read_text()
    plot = page.split('id="base-models"')[1].split("</figure>")[0]
    assert "base models side by side" in plot and "all-MiniLM-L6-v2" in plot and "other-teacher" in plot
    alone = build_site(runs[:1], tmp_path / "alone")
    assert 'id="base-models"' not in next(iter(alone.task_pages.values())).read_text()  # one base model: no plot
