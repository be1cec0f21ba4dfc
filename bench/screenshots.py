"""Writes docs/img/*.png: screenshots of a run's report.html and of its leaderboard, 1,440 px wide.

The pages are rendered from a committed results file (default: the 25-record quick-suite run with
per-example predictions and paired statistics, bench/results/quick/paired/results.json) into a temporary folder and photographed in headless
Chromium (Debian's ``chromium``, driven by Playwright; nothing is fetched from the network). One command
regenerates them all:

    .venv/bin/python bench/screenshots.py [--results FILE] [--out docs/img] [--task TASK] [--chromium PATH]

Writes ``report.png`` (what to ship, the reuse summary and the scorecards), ``report-plots.png`` (the first
tasks' plots), ``leaderboard.png`` (the index: what to ship, the rankings within each role, the Pareto
plots) and ``leaderboard-task.png`` (one task's page).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.results import load_results  # noqa: E402
from leaderboard.site import build_site  # noqa: E402
from reports.html import write_report  # noqa: E402

DEFAULT_RESULTS = ROOT / "bench" / "results" / "quick" / "paired" / "results.json"
WIDTH, HEIGHT = 1440, 900
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def _shoot(browser, page_path: Path, out: Path, *, start: str | None = None, height: int = 1800) -> Path:
    """A ``height`` px tall screenshot of a page, from the top or from the element ``start``."""
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1)
    page.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort()
    )
    try:
        page.goto(page_path.resolve().as_uri())
        page.wait_for_load_state("load")
        top = 0.0
        if start:
            box = page.locator(start).first.bounding_box()
            top = max(0.0, (box["y"] if box else 0.0) - 12)
        full = page.evaluate("document.documentElement.scrollHeight")
        clip = {"x": 0, "y": top, "width": WIDTH, "height": min(height, full - top)}
        page.screenshot(path=str(out), full_page=True, clip=clip)
    finally:
        page.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="a results.json to render")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="folder for the PNGs")
    parser.add_argument(
        "--task", help="the task whose leaderboard page to photograph (default: the run's first)"
    )
    parser.add_argument("--chromium", default=os.environ.get("REUSEBENCH_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    results = load_results(args.results)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        report = write_report(results, Path(tmp) / "run")
        site = build_site([results], Path(tmp) / "site", db_label="sqlite:///runs/leaderboard.db")
        first_task = (
            args.task
            if args.task in site.task_pages
            else next(iter(dict.fromkeys(r.task for r in results.records)))
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=ARGS, headless=True)
            try:
                written = [
                    _shoot(browser, report, args.out / "report.png", height=2000),
                    _shoot(browser, report, args.out / "report-plots.png", start="#plots", height=1400),
                    _shoot(browser, site.index, args.out / "leaderboard.png", height=2000),
                    _shoot(
                        browser, site.task_pages[first_task], args.out / "leaderboard-task.png", height=1800
                    ),
                ]
            finally:
                browser.close()
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
