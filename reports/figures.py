"""The figures of a report: score against latency and size per task, training cost, retention per task."""

from __future__ import annotations

from collections.abc import Sequence

from harness.results import Record, RunResults
from reports import plots
from reports.page import figure
from reports.palette import format_color
from reports.summary import scorecard_rows
from reports.text import batch_label, latency_keys


def latency_key(records: Sequence[Record]) -> str | None:
    """The latency block used in plots: ``batch_1`` when measured, else the smallest batch measured."""
    keys = latency_keys(records)
    if "batch_1" in keys:
        return "batch_1"
    numeric = [k for k in keys if k.split("_")[-1].isdigit()]
    return numeric[0] if numeric else None


def _point(record: Record, x: float) -> plots.Point:
    ci = record.score_ci
    return plots.Point(
        label=f"{record.model} ({record.format})",
        x=x,
        y=float(record.score or 0.0),
        group=f"{record.role} · {record.format}",
        y_low=ci.low if ci else None,
        y_high=ci.high if ci else None,
        format=str(record.format),
        role=str(record.role),
    )


def task_plots(records: Sequence[Record], task: str) -> list[str]:
    """Score vs latency (with the Pareto front) and score vs size for one task, as figures."""
    usable = [r for r in records if r.task == task and r.status == "ok" and r.score is not None]
    key = latency_key(usable)
    metric = usable[0].primary_metric if usable else "score"
    latency_points = [_point(r, p) for r in usable if key and (p := r.p50(key)) is not None]
    size_points = [_point(r, r.size_mb) for r in usable if r.size_mb and r.size_mb > 0]
    batch = batch_label(key or "batch_1")
    return [
        figure(
            plots.scatter(
                latency_points,
                title=f"{task}: {metric} vs latency",
                xlabel=f"p50 latency, ms ({batch})",
                ylabel=metric,
                front=True,
            ),
            f"{task}: {metric} (95 % CI) against p50 latency at {batch}; colour: format, shape: role; dashed: "
            "the Pareto front (no other variant is both faster and better).",
        ),
        figure(
            plots.scatter(
                size_points,
                title=f"{task}: {metric} vs size",
                xlabel="size on disk, MB",
                ylabel=metric,
                front=True,
            ),
            f"{task}: {metric} (95 % CI) against size on disk; dashed: the Pareto front (no other variant is both "
            "smaller and better).",
        ),
    ]


def _series(
    labels: Sequence[tuple[str, str, float | None]],
) -> tuple[list[str], dict[str, list[float | None]]]:
    """(category, series, value) triples as bar-chart input: categories in order, one value per series
    and category (the first one given; None where there is none)."""
    categories = list(dict.fromkeys(c for c, _, _ in labels))
    names = list(dict.fromkeys(n for _, n, _ in labels))
    series = {
        n: [next((v for c2, n2, v in labels if c2 == c and n2 == n), None) for c in categories] for n in names
    }
    return categories, series


def training_cost_plot(records: Sequence[Record]) -> str:
    """Wall time of each training, per task and model."""
    trained = [r for r in records if r.train_wall_s is not None]
    tasks, series = _series([(r.task, f"{r.model} ({r.role})", float(r.train_wall_s or 0.0)) for r in trained])
    light = {f"{r.model} ({r.role})" for r in trained if r.role == "teacher"}
    return figure(
        plots.bars(tasks, series, title="Training cost", ylabel="wall time, s", light=light),
        "Wall time of each training: the teacher's fine-tuning (adaptation, light bars) and each student's "
        "distillation (solid).",
    )


def breakdown_plot(results: RunResults) -> str:
    """Retention of each variant per task, against the 97 % full-credit line."""
    rows = [r for r in scorecard_rows(results) if r.retention is not None]
    tasks, series = _series([(r.task, f"{r.variant} ({r.format})", r.retention) for r in rows])
    colors = {f"{r.variant} ({r.format})": format_color(r.format) for r in rows}
    light = {f"{r.variant} ({r.format})" for r in rows if r.role == "teacher"}
    values = [r.retention for r in rows if r.retention is not None]
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
            colors=colors,
            light=light,
        ),
        "Per-task breakdown: each variant's score as a fraction of its teacher's (colour: format; light: the "
        "teacher's own exports); dashed: the 97 % full-credit line.",
    )


#: the order in which a unit's stages run (the profile's stacked bars follow it)
STAGE_ORDER = ("estimate", "finetune", "adapt", "distill", "export", "record")


def profile_plot(results: RunResults) -> str:
    """Where each task's wall time went: one stacked bar per task, a segment per stage (the run's profile);
    empty when the run has no profile."""
    rows = results.profile.rows if results.profile is not None else []
    if not rows:
        return ""
    tasks = list(dict.fromkeys(row.task for row in rows))
    stages = [s for s in STAGE_ORDER if any(r.stage == s for r in rows)]
    stages += sorted({r.stage for r in rows} - set(stages))
    segments = {
        stage: [sum(r.wall_s for r in rows if r.task == task and r.stage == stage) for task in tasks]
        for stage in stages
    }
    cached = sum(1 for r in rows if r.cached)
    passed = results.profile.training_pass if results.profile is not None else None
    lanes = (
        f" Training and exports ran in the training pass, {passed.lanes} lanes of {passed.threads_per_lane} "
        f"thread(s) side by side for {passed.wall_s:.0f} s: their segments are each lane's seconds, so the bars "
        "add up to more than the run took."
        if passed is not None else ""
    )
    return figure(
        plots.stacked_bars(tasks, segments, title="Where the time went", ylabel="wall time, s"),
        "Wall seconds of every stage node of the run (the profile in results.json; the table with CPU seconds, "
        "tokens/s and the fraction of this machine's matmul peak is at the end of run.log), summed per task and "
        "stage; the number above a bar is the task's total."
        + (f" {cached} node(s) came from the stage cache: their time is the reading." if cached else "")
        + lanes,
    )


def adaptation_curve(results: RunResults, task: str) -> str:
    """One task's adaptation curve: each method's score (95 % CI) against the parameters it trained, log
    scale; '' when the task was adapted one way only."""
    from reports.adaptation import METHOD_NAMES, adaptation_rows

    rows = [row for row in adaptation_rows(results) if row.task == task]
    if not rows:
        return ""
    teachers = {row.teacher for row in rows}
    points = []
    for row in rows:
        ci = row.record.score_ci
        name = METHOD_NAMES[row.method] + (f" · {row.teacher}" if len(teachers) > 1 else "")
        points.append(plots.Point(label=name, x=float(row.trainable_params), y=float(row.record.score or 0.0),
                                  group=name, y_low=ci.low if ci else None, y_high=ci.high if ci else None,
                                  format=str(row.record.format), role=str(row.record.role)))
    metric = rows[0].record.primary_metric
    return figure(
        plots.scatter(points, title=f"{task}: adaptation curve", xlabel="trainable parameters (log scale)",
                      ylabel=metric, front=True, log_x=True),
        f"{task}: {metric} (95 % CI) of each way of adapting the pretrained model against the parameters it "
        "trained: linear probe (the new head only), LoRA (low-rank updates and the head), full fine-tuning; "
        "dashed: the Pareto front (no other method trains fewer parameters and scores higher).",
    )
