"""``report.html``: one run as a self-contained page (tables, plots, the reuse-score rule, the environment).

It opens offline (no CDN, no external file: see :mod:`reports.page`); every user string is escaped.
"""

from __future__ import annotations

from pathlib import Path

from harness.results import RunResults
from reports.adaptation import adaptation_section_html, estimates_section_html
from reports.cards import recommendation_cards
from reports.figures import (
    adaptation_curve,
    breakdown_plot,
    latency_key,
    profile_plot,
    task_plots,
    training_cost_plot,
)
from reports.glossary import REPORT_TERMS, glossary_section
from reports.ladder import ladder_section_html
from reports.noise import noise_summary
from reports.page import Cell, esc, figures, page, table, write_text_atomic
from reports.scorecard import REUSE_SCORE_FORMULA, attach_scorecards
from reports.summary import teacher_summaries
from reports.tables import records_section, scorecards_section, teacher_summary_section
from reports.text import measure_settings, ran_what

# Public names of this module before its tables and figures moved out.
__all__ = [
    "REUSE_SCORE_WHY",
    "latency_key",
    "records_section",
    "render_report",
    "scorecards_section",
    "task_plots",
    "teacher_summary_section",
    "write_report",
]

REUSE_SCORE_WHY = (
    "The geometric mean of speedup and compression rewards a faster and a smaller model equally; the retention "
    "gate makes a fast student that lost the task worth nothing (97 % is DistilBERT's published retention, in the "
    "spirit of MLPerf's \u201c\u2265 99 % of the reference\u201d accuracy targets). Retention = variant score / "
    "teacher PyTorch score on the same eval split; speedup = teacher PyTorch p50 / variant p50 at batch 1; "
    "compression = teacher size / variant size on disk. A reuse score above 1 means the variant is worth more than "
    "the teacher itself for deployment."
)


def _environment_section(results: RunResults) -> str:
    env = results.environment
    versions = env.get("versions") or {
        k: env[k] for k in ("torch", "transformers", "onnxruntime") if k in env
    }
    versions = versions if isinstance(versions, dict) else {"versions": versions}
    flags = env.get("cpu_flags") or []
    flags_text = ", ".join(map(str, flags)) if isinstance(flags, list) else str(flags)
    rows = [
        ["CPU", f"{env.get('cpu', '?')} ({env.get('isa_summary') or flags_text})"],
        ["threads", f"{env.get('threads', '?')} for training, {env.get('measure_threads', '?')} for latency"],
        ["GPU", str(env.get("gpu") or "none")],
        ["Python", str(env.get("python", "?"))],
        ["libraries", ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))],
        ["git commit", f"{env.get('git_commit') or '?'}{' (dirty)' if env.get('git_dirty') else ''}"],
        ["seed", str(results.config.get("seed", env.get("seed", "?")))],
    ]
    cells = [[name, Cell(value, wrap=True)] for name, value in rows]
    return table("environment", ["", "value"], cells, filterable=False, sortable=False)


SECTIONS = [
    ("#ship", "what to ship"),
    ("#scorecards-section", "scorecards"),
    ("#plots", "plots"),
    ("#records-section", "records"),
    ("#environment", "environment"),
    ("#glossary", "glossary"),
]


def render_report(results: RunResults) -> str:
    """The whole ``report.html`` of one run, as a string."""
    if not results.scorecards:
        results = attach_scorecards(results.model_copy(deep=True))
    tasks = list(dict.fromkeys(r.task for r in results.records))
    noisy = any(r.noisy for r in results.records)
    measure = measure_settings(results)
    body = [
        f"<h1>reusebench report — run <code>{esc(results.run_id)}</code></h1>",
        f'<p class="muted">{ran_what(results.suite)[0]} <strong>{esc(ran_what(results.suite)[1])}</strong> · created {esc(results.created_at)} · '
        f"{len(tasks)} task(s), {len(results.records)} records · run wall time {results.wall_s:.0f} s</p>",
        '<h2 id="ship">What to ship, per task</h2>',
        recommendation_cards(results)
        or '<p class="muted">No records: nothing to recommend.</p>',
        "<h2>How reusable is this model?</h2>",
        teacher_summary_section(teacher_summaries([results])),
        '<h2 id="scorecards-section">Scorecards</h2>',
        scorecards_section(results),
        f'<p class="formula"><code>{esc(REUSE_SCORE_FORMULA)}</code></p>',
        f"<p>{esc(REUSE_SCORE_WHY)} Retention intervals are the variant's bootstrap CI divided by the teacher's "
        "score; ▼ marks a retention loss beyond that interval. Export parity: change of the task metric after "
        "export and prediction agreement with the PyTorch source (✓ within the suite's tolerance).</p>",
        ladder_section_html(results),
        adaptation_section_html(results),
        estimates_section_html(results),
        '<h2 id="plots">Plots</h2>',
    ]
    for task in tasks:
        curve = adaptation_curve(results, task)
        body += [f"<h3>Task {esc(task)}</h3>", figures([*task_plots(results.records, task), *([curve] if curve else [])])]
    body += [
        "<h3>Training cost and per-task breakdown</h3>",
        figures([training_cost_plot(results.records), breakdown_plot(results)]),
        *(["<h3>Where the time went</h3>", figures([profile])] if (profile := profile_plot(results)) else []),
        '<h2 id="records-section">Records</h2>',
        records_section(results.records, results=results),
        noise_summary(results.records),
        '<p class="muted">Latency: isolated process per (model, format), '
        f"{esc(measure.get('warmup', '?'))} warm-up runs, then at least {esc(measure.get('min_iterations', '?'))} "
        f"iterations and {esc(measure.get('min_seconds', '?'))} s on real eval inputs; p50 shown. Score CI: seeded "
        f"percentile bootstrap over eval examples ({esc(results.config.get('bootstrap_resamples', '?'))} resamples)."
        + (
            " ⚠ marks a latency measured while the machine was busy or too noisy after retries; the note beside it "
            "says why and what to do."
            if noisy
            else ""
        )
        + "</p>",
        '<h2 id="environment">Environment</h2>',
        _environment_section(results),
        glossary_section(REPORT_TERMS),
    ]
    return page(f"reusebench report {results.run_id}", "\n".join(body), nav=SECTIONS)


def write_report(results: RunResults, run_dir: str | Path) -> Path:
    """Render and write ``RUN_DIR/report.html`` atomically; returns its path."""
    path = Path(run_dir) / "report.html"
    write_text_atomic(path, render_report(results))
    return path
