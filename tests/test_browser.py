"""The report and the leaderboard pages in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Checks what a reader would meet: the pages load from ``file://`` with no console error, no script error and
no network request; clicking a column header sorts the table; the filter box filters; the plots render.
Skipped only when Chromium is absent *and* this is not CI; in CI (``CI=true``) a missing browser is a
failure, and ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixture_runs import FIXTURE, rename_model, rename_task, variant, write_run

from harness.cli import main
from harness.results import load_results
from leaderboard.site import task_slug
from reports.html import write_report

CHROMIUM = os.environ.get("REUSEBENCH_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); this test always runs in CI")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if IN_CI:
            raise
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """report.html of the fixture run, and a leaderboard site of three runs (one with hostile names)."""
    root = tmp_path_factory.mktemp("browser")
    report = write_report(load_results(FIXTURE), root / "run")
    second = write_run(
        root / "second",
        variant(rename_task("sst2-like"), run_id="second", created_at="2026-12-01T00:00:00+00:00"),
    )
    hostile = write_run(
        root / "hostile",
        variant(
            lambda d: (
                rename_model("all-MiniLM-L6-v2-layers3", "<script>alert(1)</script>")(d),
                rename_task('"><img src=x onerror=alert(2)>')(d),
            ),
            run_id="hostile",
            created_at="2026-12-02T00:00:00+00:00",
        ),
    )
    site = root / "site"
    assert (
        main(
            [
                "leaderboard",
                "--db",
                f"sqlite:///{root / 'lb.db'}",
                "--add",
                str(FIXTURE),
                "--add",
                str(second),
                "--add",
                str(hostile),
                "--out",
                str(site),
            ]
        )
        == 0
    )
    return {
        "report": report,
        "index": site / "index.html",
        "task": site / f"{task_slug('tiny-sentiment')}.html",
        "hostile": site / f"{task_slug(chr(34) + '><img src=x onerror=alert(2)>')}.html",
    }


def load(browser, path: Path):
    """Open a page from file://; return it with every problem seen (console errors, script errors,
    dialogs, failed or non-local requests)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "assert") else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on(
        "request",
        lambda r: None if r.url.startswith(("file:", "data:")) else problems.append(f"request: {r.url}"),
    )

    def on_dialog(dialog) -> None:
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return page, problems


def column(page, table: str, header: str) -> list[str]:
    """The sort keys of one column, in the order shown."""
    return page.eval_on_selector(
        f"#{table}",
        """(t, header) => {
             const index = Array.from(t.tHead.rows[0].cells).findIndex(c => c.textContent.trim() === header);
             if (index < 0) throw new Error('no column ' + header);
             return Array.from(t.tBodies[0].rows).map(r => r.cells[index].getAttribute('data-sort')
                                                          ?? r.cells[index].textContent.trim());
           }""",
        header,
    )


def click_header(page, table: str, header: str) -> None:
    page.locator(f"#{table} thead th", has_text=header).first.click()


def assert_plots_render(page, minimum: int) -> None:
    plots = page.locator("svg.plot")
    assert plots.count() >= minimum
    for i in range(plots.count()):
        box = plots.nth(i).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100
        assert plots.nth(i).locator("path").count() > 5  # axes, markers and lines were drawn


def test_report_loads_sorts_and_plots(browser, pages):
    page, problems = load(browser, pages["report"])
    try:
        assert problems == []
        assert page.title().startswith("reusebench report")
        before = [float(v) for v in column(page, "scorecards", "speedup b1")]
        click_header(page, "scorecards", "speedup b1")
        ascending = [float(v) for v in column(page, "scorecards", "speedup b1")]
        assert ascending == sorted(before) and ascending != before
        click_header(page, "scorecards", "speedup b1")
        assert [float(v) for v in column(page, "scorecards", "speedup b1")] == sorted(before, reverse=True)
        assert (
            page.locator("#scorecards thead th", has_text="speedup b1").get_attribute("aria-sort")
            == "descending"
        )
        assert_plots_render(page, 4)
        page.fill("input[data-table='records']", "onnx-int8")
        visible = page.locator("#records tbody tr:visible")
        assert visible.count() == 1 and "onnx-int8" in visible.first.inner_text()
        assert page.inner_text("#records-count") == "1 of 5 rows"
        assert problems == []
    finally:
        page.close()


def test_leaderboard_index_loads_sorts_and_filters(browser, pages):
    page, problems = load(browser, pages["index"])
    try:
        assert problems == []
        before = column(page, "overall", "model")
        click_header(page, "overall", "model")
        first = column(page, "overall", "model")
        assert first != before and sorted(first) == sorted(before)
        click_header(page, "overall", "model")
        assert column(page, "overall", "model") == list(reversed(first))
        page.fill("input[data-table='overall']", "int8")
        rows = page.locator("#overall tbody tr:visible")
        assert rows.count() >= 1 and all("onnx-int8" in rows.nth(i).inner_text() for i in range(rows.count()))
        assert "<script>alert(1)</script>" in page.inner_text("body")  # shown as text, never run
        assert problems == []
    finally:
        page.close()


def test_leaderboard_task_pages_load_sort_and_plot(browser, pages):
    for name in ("task", "hostile"):
        page, problems = load(browser, pages[name])
        try:
            assert problems == [], name
            scores = [float(v) for v in column(page, "ranking", "score [95% CI]")]
            assert scores == sorted(scores, reverse=True)  # best first
            click_header(page, "ranking", "score [95% CI]")
            assert [float(v) for v in column(page, "ranking", "score [95% CI]")] == sorted(scores)
            assert_plots_render(page, 2)
            assert problems == [], name
        finally:
            page.close()
