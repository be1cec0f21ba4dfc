"""``report.html``: one run as a self-contained page (tables, plots, the reuse-score rule, the environment).

It opens offline (no CDN, no external file: see :mod:`reports.page`); every user string is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.results import Record, RunResults
from reports import plots
from reports.page import Cell, esc, figure, figures, num, page, table, write_text_atomic
from reports.scorecard import REUSE_SCORE_FORMULA, attach_scorecards
from reports.summary import TeacherSummary, scorecard_rows, teacher_summaries

REUSE_SCORE_WHY = (
    "The geometric mean of speedup and compression rewards a faster and a smaller model equally; the retention "
    "gate makes a fast student that lost the task worth nothing (97 % is DistilBERT's published retention, in the "
    "spirit of MLPerf's \u201c\u2265 99 % of the reference\u201d accuracy targets). Retention = variant score / "
    "teacher PyTorch score on the same eval split; speedup = teacher PyTorch p50 / variant p50 at batch 1; "
    "compression = teacher size / variant size on disk. A reuse score above 1 means the variant is worth more than "
    "the teacher itself for deployment."
)


def latency_key(records: Sequence[Record]) -> str | None:
    """The latency block used in plots: ``batch_1`` when measured, else the smallest batch measured."""
    keys = {k for r in records for k in r.latency_ms}
    if "batch_1" in keys:
        return "batch_1"
    numeric = sorted((k for k in keys if k.split("_")[-1].isdigit()), key=lambda k: int(k.split("_")[-1]))
    return numeric[0] if numeric else None


def _p50(record: Record, key: str | None) -> float | None:
    block = record.latency_ms.get(key or "") or {}
    value = block.get("p50")
    return float(value) if isinstance(value, int | float) and value > 0 else None


def _point(record: Record, x: float) -> plots.Point:
    ci = record.score_ci if record.score_ci and len(record.score_ci) == 2 else None
    return plots.Point(
        label=f"{record.model} ({record.format})",
        x=x,
        y=float(record.score or 0.0),
        group=f"{record.role} · {record.format}",
        y_low=ci[0] if ci else None,
        y_high=ci[1] if ci else None,
    )


def task_plots(records: Sequence[Record], task: str) -> list[str]:
    """Score vs latency (with the Pareto front) and score vs size for one task, as figures."""
    usable = [r for r in records if r.task == task and r.status == "ok" and r.score is not None]
    key = latency_key(usable)
    metric = usable[0].primary_metric if usable else "score"
    latency_points = [_point(r, p) for r in usable if (p := _p50(r, key)) is not None]
    size_points = [_point(r, r.size_mb) for r in usable if r.size_mb and r.size_mb > 0]
    batch = (key or "batch_1").replace("_", " ")
    return [
        figure(
            plots.scatter(
                latency_points,
                title=f"{task}: {metric} vs latency",
                xlabel=f"p50 latency, ms ({batch})",
                ylabel=metric,
                front=True,
            ),
            f"{task}: {metric} (95 % CI) against p50 latency at {batch}; dashed: the Pareto front "
            "(no other variant is both faster and better).",
        ),
        figure(
            plots.scatter(
                size_points,
                title=f"{task}: {metric} vs size",
                xlabel="size on disk, MB",
                ylabel=metric,
                front=True,
            ),
            f"{task}: {metric} (95 % CI) against size on disk; dashed: the Pareto front.",
        ),
    ]


def _training_cost_plot(records: Sequence[Record]) -> str:
    trained = [r for r in records if r.train and r.train.get("wall_s") is not None]
    tasks = list(dict.fromkeys(r.task for r in trained))
    models = list(dict.fromkeys(f"{r.model} ({r.role})" for r in trained))
    series = {
        m: [
            next(
                (float(r.train["wall_s"]) for r in trained if r.task == t and f"{r.model} ({r.role})" == m),
                None,
            )
            for t in tasks
        ]
        for m in models
    }
    return figure(
        plots.bars(tasks, series, title="Training cost", ylabel="wall time, s"),
        "Wall time of each training: the teacher's fine-tuning (adaptation) and each student's distillation.",
    )


def _breakdown_plot(results: RunResults) -> str:
    rows = [r for r in scorecard_rows(results) if r.retention is not None]
    tasks = list(dict.fromkeys(r.task for r in rows))
    variants = list(dict.fromkeys(f"{r.variant} ({r.format})" for r in rows))
    series = {
        v: [
            next((r.retention for r in rows if r.task == t and f"{r.variant} ({r.format})" == v), None)
            for t in tasks
        ]
        for v in variants
    }
    values = [v for v in (r.retention for r in rows) if v is not None]
    y_min = max(0.0, min([*values, 0.9]) - 0.05)
    return figure(
        plots.bars(
            tasks,
            series,
            title="Retention per task",
            ylabel="retention (variant / teacher)",
            reference=0.97,
            reference_label="97 % (full credit)",
            y_min=y_min,
        ),
        "Per-task breakdown: each variant's score as a fraction of its teacher's; dashed: the 97 % full-credit line.",
    )


def _ci_text(ci: tuple[float, float] | None, digits: int = 3) -> str:
    return f" [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else ""


def scorecards_section(results: RunResults, table_id: str = "scorecards") -> str:
    """The scorecards table: retention with its interval, speedup, compression, cost, parity, reuse score."""
    headers = [
        "task",
        "teacher",
        "variant",
        "role",
        "format",
        "score [95% CI]",
        "retention [interval]",
        "speedup b1",
        "compression",
        "adaptation s",
        "adaptation PFLOP",
        "export parity",
        "reuse score",
        "status",
    ]
    rows, classes = [], []
    for r in scorecard_rows(results):
        score = Cell(
            f"{r.score:.4f}{_ci_text(r.score_ci)}" if r.score is not None else "–",
            sort=repr(r.score) if r.score is not None else "",
            numeric=True,
        )
        retention_text = "–" if r.retention is None else f"{r.retention:.3f}{_ci_text(r.retention_ci)}"
        if r.significant_loss:
            retention_text += " ▼"
        retention = Cell(
            retention_text,
            sort=repr(r.retention) if r.retention is not None else "",
            numeric=True,
            title="▼: the teacher's score lies above this variant's 95 % CI" if r.significant_loss else None,
        )
        if r.parity_delta is None and r.parity_agreement is None:
            parity = Cell("–", sort="")
        else:
            mark = "✓" if r.parity_passed else ("✗" if r.parity_passed is False else "")
            parity = Cell(
                f"{mark} Δ {r.parity_delta if r.parity_delta is not None else float('nan'):+.4f}, "
                f"agree {r.parity_agreement if r.parity_agreement is not None else float('nan'):.3f}",
                sort=repr(abs(r.parity_delta)) if r.parity_delta is not None else "",
                title="task-metric change after export and prediction agreement with the PyTorch source",
            )
        status = Cell(
            r.status if r.status == "ok" else f"failed: {r.status_reason or ''}", wrap=r.status != "ok"
        )
        speed = num(r.speedup, 2, "×")
        if r.noisy:
            speed = Cell(
                speed.text + " ⚠", sort=speed.sort, numeric=True, title="latency measured on a busy machine"
            )
        rows.append(
            [
                r.task,
                r.teacher,
                r.variant,
                r.role,
                r.format,
                score,
                retention,
                speed,
                num(r.compression, 2, "×"),
                num(r.train_cost_s, 1),
                num(r.train_flops / 1e15 if r.train_flops else None, 3),
                parity,
                num(r.reuse_score, 3),
                status,
            ]
        )
        classes.append("bad" if r.status != "ok" else "")
    if not rows:
        return '<p class="muted">No scorecards: no task has a teacher PyTorch record.</p>'
    return table(table_id, headers, rows, row_classes=classes)


def records_section(records: Sequence[Record], table_id: str = "records") -> str:
    """Every (task, model, format) measured: score and CI, latency per batch size, size, memory, cost."""
    keys = sorted(
        {k for r in records for k in r.latency_ms},
        key=lambda k: int(k.split("_")[-1]) if k.split("_")[-1].isdigit() else 10**9,
    )
    headers = ["task", "model", "role", "format", "metric", "score [95% CI]"]
    headers += [f"p50 ms {k.replace('_', ' ')}" for k in keys]
    headers += ["size MB", "params M", "peak RSS MB", "train s", "status"]
    rows, classes = [], []
    for r in records:
        ci = (r.score_ci[0], r.score_ci[1]) if r.score_ci and len(r.score_ci) == 2 else None
        row: list = [
            r.task,
            r.model,
            r.role,
            r.format,
            r.primary_metric,
            Cell(
                f"{r.score:.4f}{_ci_text(ci)}" if r.score is not None else "–",
                sort=repr(r.score) if r.score is not None else "",
                numeric=True,
            ),
        ]
        for key in keys:
            block = r.latency_ms.get(key) or {}
            cell = num(block.get("p50"), 2)
            if block.get("noisy"):
                cell = Cell(
                    cell.text + " ⚠",
                    sort=cell.sort,
                    numeric=True,
                    title=str(block.get("noise_reason") or "noisy"),
                )
            row.append(cell)
        row += [
            num(r.size_mb, 1),
            num(r.params / 1e6 if r.params else None, 2),
            num(r.peak_rss_mb, 0),
            num(r.train.get("wall_s") if r.train else None, 1),
            Cell(r.status if r.status == "ok" else f"failed: {r.status_reason or ''}", wrap=r.status != "ok"),
        ]
        rows.append(row)
        classes.append("bad" if r.status != "ok" else "")
    return table(table_id, headers, rows, row_classes=classes)


def teacher_summary_section(summaries: Sequence[TeacherSummary], table_id: str = "teachers") -> str:
    """ "How reusable is this model": per teacher and task, how it adapted and its best compressed variant."""
    if not summaries:
        return '<p class="muted">No teacher records.</p>'
    parts = []
    for s in summaries:
        mean_score = "–" if s.mean_teacher_score is None else f"{s.mean_teacher_score:.3f}"
        mean_reuse = "–" if s.mean_best_reuse_score is None else f"{s.mean_best_reuse_score:.2f}"
        cost = "–" if s.total_adaptation_s is None else f"{s.total_adaptation_s:.0f} s"
        parts.append(
            f"<p><strong>{esc(s.teacher)}</strong>: {len(s.tasks)} task(s); adapts to a mean fine-tuned score of "
            f"{esc(mean_score)} for {esc(cost)} of fine-tuning; compresses to a mean best reuse score of "
            f"{esc(mean_reuse)}, with a best variant keeping ≥ 97 % of its score on {s.tasks_retained} of "
            f"{len(s.tasks)} task(s).</p>"
        )
    headers = [
        "teacher",
        "task",
        "metric",
        "fine-tuned score [95% CI]",
        "adaptation s",
        "best variant",
        "format",
        "retention",
        "speedup",
        "compression",
        "best reuse score",
        "run",
    ]
    rows = []
    for s in summaries:
        for t in s.tasks:
            rows.append(
                [
                    s.teacher,
                    t.task,
                    t.primary_metric,
                    Cell(
                        f"{t.teacher_score:.4f}{_ci_text(t.teacher_ci)}"
                        if t.teacher_score is not None
                        else "–",
                        sort=repr(t.teacher_score) if t.teacher_score is not None else "",
                        numeric=True,
                    ),
                    num(t.adaptation_s, 1),
                    t.best_variant,
                    t.best_format,
                    num(t.best_retention, 3),
                    num(t.best_speedup, 2, "×"),
                    num(t.best_compression, 2, "×"),
                    num(t.best_reuse_score, 3),
                    t.run_id,
                ]
            )
    parts.append(table(table_id, headers, rows))
    return "\n".join(parts)


def _environment_section(results: RunResults) -> str:
    env = results.environment
    versions = env.get("versions") or {
        k: env[k] for k in ("torch", "transformers", "onnxruntime") if k in env
    }
    rows = [
        ["CPU", f"{env.get('cpu', '?')} ({env.get('isa_summary') or ', '.join(env.get('cpu_flags') or [])})"],
        ["threads", f"{env.get('threads', '?')} for training, {env.get('measure_threads', '?')} for latency"],
        ["GPU", str(env.get("gpu") or "none")],
        ["Python", str(env.get("python", "?"))],
        ["libraries", ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))],
        ["git commit", f"{env.get('git_commit') or '?'}{' (dirty)' if env.get('git_dirty') else ''}"],
        ["seed", str(results.config.get("seed", env.get("seed", "?")))],
    ]
    return table("environment", ["", "value"], rows, filterable=False, sortable=False)


def render_report(results: RunResults) -> str:
    """The whole ``report.html`` of one run, as a string."""
    if not results.scorecards:
        results = attach_scorecards(results.model_copy(deep=True))
    tasks = list(dict.fromkeys(r.task for r in results.records))
    noisy = any(b.get("noisy") for r in results.records for b in r.latency_ms.values())
    measure = (results.config.get("suite") or {}).get("measure") or {}
    body = [
        f"<h1>reusebench report — run <code>{esc(results.run_id)}</code></h1>",
        f'<p class="muted">suite <strong>{esc(results.suite)}</strong> · created {esc(results.created_at)} · '
        f"{len(tasks)} task(s), {len(results.records)} records · run wall time {results.wall_s:.0f} s</p>",
        "<h2>How reusable is this model?</h2>",
        teacher_summary_section(teacher_summaries([results])),
        "<h2>Scorecards</h2>",
        scorecards_section(results),
        f'<p class="formula"><code>{esc(REUSE_SCORE_FORMULA)}</code></p>',
        f"<p>{esc(REUSE_SCORE_WHY)} Retention intervals are the variant's bootstrap CI divided by the teacher's "
        "score; ▼ marks a retention loss beyond that interval. Export parity: change of the task metric after "
        "export and prediction agreement with the PyTorch source (✓ within the suite's tolerance).</p>",
        "<h2>Plots</h2>",
    ]
    for task in tasks:
        body += [f"<h3>Task {esc(task)}</h3>", figures(task_plots(results.records, task))]
    body += [
        "<h3>Training cost and per-task breakdown</h3>",
        figures([_training_cost_plot(results.records), _breakdown_plot(results)]),
        "<h2>Records</h2>",
        records_section(results.records),
        '<p class="muted">Latency: isolated process per (model, format), '
        f"{esc(measure.get('warmup', '?'))} warm-up runs, then at least {esc(measure.get('min_iterations', '?'))} "
        f"iterations and {esc(measure.get('min_seconds', '?'))} s on real eval inputs; p50 shown. Score CI: seeded "
        f"percentile bootstrap over eval examples ({esc(results.config.get('bootstrap_resamples', '?'))} resamples)."
        + (
            " ⚠ marks a latency measured while the machine was busy or too noisy after retries."
            if noisy
            else ""
        )
        + "</p>",
        "<h2>Environment</h2>",
        _environment_section(results),
    ]
    return page(f"reusebench report {results.run_id}", "\n".join(body))


def write_report(results: RunResults, run_dir: str | Path) -> Path:
    """Render and write ``RUN_DIR/report.html`` atomically; returns its path."""
    path = Path(run_dir) / "report.html"
    write_text_atomic(path, render_report(results))
    return path
