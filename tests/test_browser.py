"""The report and the leaderboard pages in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Checks what a reader would meet: the pages load from ``file://`` with no console error, no script error and
no network request (every request that is not a local file is aborted, and none may be attempted);
clicking a column header sorts the table; the filter box filters; the plots render. At 1,440 × 900 and at
390 × 844 (a phone): no two texts of a plot overlap and none is clipped by its SVG; at 1,440 the main tables
need no horizontal scroll, and at 390 the page itself does not scroll sideways (a table may, inside its
own container). Run on the fixture runs and on a real 25-record quick-suite run
(``bench/results/refactor-check/after-final-alone.json``), and a busy-machine run of the same suite
(``after.json``: 16 noisy latencies, each with its note).
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
from leaderboard.site import build_site, task_slug
from reports.html import write_report

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "bench" / "results" / "refactor-check" / "after-final-alone.json"
QUICK_BUSY = ROOT / "bench" / "results" / "refactor-check" / "after.json"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}

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
    history = root / "history.html"
    assert main(["history", "tiny-sentiment", "--db", f"sqlite:///{root / 'lb.db'}", "--out", str(history)]) == 0
    quick = load_results(QUICK)
    quick_site = build_site([quick], root / "quick-site", db_label="quick")
    found = {
        "report": report,
        "index": site / "index.html",
        "task": site / f"{task_slug('tiny-sentiment')}.html",
        "hostile": site / f"{task_slug(chr(34) + '><img src=x onerror=alert(2)>')}.html",
        "quick-report": write_report(quick, root / "quick-run"),
        "quick-busy-report": write_report(load_results(QUICK_BUSY), root / "quick-busy-run"),
        "quick-index": quick_site.index,
        "history": history,
    }
    found.update({f"quick-task-{task}": path for task, path in quick_site.task_pages.items()})
    return found


def load(browser, path: Path, viewport: dict[str, int] | None = None):
    """Open a page from file:// with every non-local request aborted; return it with every problem seen
    (console errors, script errors, dialogs, failed or attempted non-local requests)."""
    page = browser.new_page(viewport=viewport or DESKTOP)
    problems: list[str] = []

    def block(route) -> None:
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            problems.append(f"network request attempted: {route.request.url}")
            route.abort()

    page.route("**/*", block)
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
        before = column(page, "variants-overall", "model")
        click_header(page, "variants-overall", "model")
        first = column(page, "variants-overall", "model")
        assert first != before and sorted(first) == sorted(before)
        click_header(page, "variants-overall", "model")
        assert column(page, "variants-overall", "model") == list(reversed(first))
        page.fill("input[data-table='variants-overall']", "int8")
        rows = page.locator("#variants-overall tbody tr:visible")
        assert rows.count() >= 1 and all("onnx-int8" in rows.nth(i).inner_text() for i in range(rows.count()))
        assert "<script>alert(1)</script>" in page.inner_text("body")  # shown as text, never run
        # within each role: the teachers' table holds teachers only, the variants' table no fine-tuned teacher
        assert column(page, "teachers-overall", "model") == ["all-MiniLM-L6-v2"]
        assert page.locator("#ship .card, .cards .card").count() == 3  # what to ship, one card per task
        assert problems == []
    finally:
        page.close()


def test_leaderboard_task_pages_load_sort_and_plot(browser, pages):
    for name in ("task", "hostile", "quick-task-qa"):
        page, problems = load(browser, pages[name])
        try:
            assert problems == [], name
            teachers = [float(v) for v in column(page, "teachers", "fine-tuned score [95% CI]")]
            assert teachers == sorted(teachers, reverse=True)  # best first
            reuse = [float(v) for v in column(page, "variants", "reuse score") if v != ""]
            assert reuse and reuse == sorted(reuse, reverse=True)  # ranked by reuse score, best first
            click_header(page, "variants", "reuse score")
            assert [float(v) for v in column(page, "variants", "reuse score") if v != ""] == sorted(reuse)
            page.locator("details.more summary").click()  # every entry by score, folded away
            scores = [float(v) for v in column(page, "ranking", "score [95% CI]")]
            assert scores == sorted(scores, reverse=True)
            click_header(page, "ranking", "score [95% CI]")
            assert [float(v) for v in column(page, "ranking", "score [95% CI]")] == sorted(scores)
            assert_plots_render(page, 2)
            assert problems == [], name
        finally:
            page.close()


PAGES = [
    "report",
    "index",
    "task",
    "hostile",
    "quick-report",
    "quick-busy-report",
    "quick-index",
    "history",
    *(f"quick-task-{t}" for t in ("sentiment", "similarity", "ner", "qa", "generation")),
]

# Every <text> of every visible plot: pairs whose boxes overlap, and texts that leave their SVG.
PLOT_TEXT_PROBLEMS = """() => {
  const problems = [], slack = 0.5;
  let plots = 0, texts = 0;
  for (const svg of document.querySelectorAll("svg.plot")) {
    const frame = svg.getBoundingClientRect();
    if (frame.width === 0) continue;  // inside a closed <details>
    plots++;
    const boxes = Array.from(svg.querySelectorAll("text")).map(t => {
      const r = t.getBoundingClientRect();
      return {r, name: (t.firstChild && t.firstChild.nodeValue) || ""};
    }).filter(b => b.r.width > 0);
    texts += boxes.length;
    const where = svg.getAttribute("aria-label");
    for (const b of boxes) {
      if (b.r.left < frame.left - slack || b.r.top < frame.top - slack
          || b.r.right > frame.right + slack || b.r.bottom > frame.bottom + slack) {
        problems.push(`${where}: "${b.name}" is clipped by its SVG`);
      }
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i].r, b = boxes[j].r;
        if (a.left < b.right - slack && b.left < a.right - slack && a.top < b.bottom - slack
            && b.top < a.bottom - slack) {
          problems.push(`${where}: "${boxes[i].name}" overlaps "${boxes[j].name}"`);
        }
      }
    }
  }
  return {problems, plots, texts};
}"""

OVERFLOW = """() => ({
  page: document.documentElement.scrollWidth - window.innerWidth,
  tables: Array.from(document.querySelectorAll(".table-wrap"))
    .filter(w => w.offsetParent !== null)
    .map(w => [w.querySelector("table").id, w.scrollWidth - w.clientWidth])
    .filter(([, over]) => over > 0),
})"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440x900", "390x844"])
@pytest.mark.parametrize("name", PAGES)
def test_layout_plot_labels_and_no_network(browser, pages, name, viewport):
    """No plot text overlaps another or is clipped; the page never scrolls sideways; at 1,440 px no main
    table needs a horizontal scroll; nothing is fetched from the network."""
    page, problems = load(browser, pages[name], viewport)
    try:
        found = page.evaluate(PLOT_TEXT_PROBLEMS)
        assert found["plots"] >= 1 and found["texts"] > 10 * found["plots"], found
        assert found["problems"] == []
        overflow = page.evaluate(OVERFLOW)
        assert overflow["page"] <= 0, f"the page scrolls sideways by {overflow['page']} px"
        if viewport is DESKTOP:
            assert overflow["tables"] == [], "tables wider than the page"
        assert page.locator("#glossary dt").count() >= 8  # every page explains its columns
        assert problems == []
    finally:
        page.close()


def test_hidden_columns_open_and_close(browser, pages):
    page, problems = load(browser, pages["quick-report"])
    try:
        extra = page.locator("#scorecards thead th.extra").first
        assert not extra.is_visible()
        page.locator("button.cols[data-table='scorecards']").click()
        assert extra.is_visible() and page.locator("#scorecards tbody td.extra").first.is_visible()
        page.locator("button.cols[data-table='scorecards']").click()
        assert not extra.is_visible()
        assert problems == []
    finally:
        page.close()


def test_each_noisy_latency_has_a_plain_note(browser, pages):
    page, problems = load(browser, pages["quick-busy-report"])
    try:
        noisy = page.locator("#records td.num", has_text="⚠")
        assert noisy.count() == 16  # 16 of the run's 25 latencies were measured on a busy machine
        for i in range(noisy.count()):
            note = noisy.nth(i).locator(".note")
            assert note.is_visible() and ("busy machine" in note.inner_text() or "unsteady" in note.inner_text())
            assert "To fix" in noisy.nth(i).get_attribute("title")
        callout = page.locator("#noisy")
        assert "16 of 25 latencies are noisy" in callout.inner_text() and "What to do" in callout.inner_text()
        assert page.locator(".cards .card").count() == 5  # what to ship, per task
        assert problems == []
    finally:
        page.close()


def test_the_quick_suite_report_sorts_and_filters(browser, pages):
    page, problems = load(browser, pages["quick-report"])
    try:
        before = [float(v) for v in column(page, "scorecards", "reuse score")]
        click_header(page, "scorecards", "reuse score")
        assert [float(v) for v in column(page, "scorecards", "reuse score")] == sorted(before)
        page.fill("input[data-table='records']", "qa int8")
        assert page.inner_text("#records-count") == "1 of 25 rows"
        assert problems == []
    finally:
        page.close()
