"""``scorecard.md``: the run's records and scorecards as Markdown tables, fit for a pull-request comment."""

from __future__ import annotations

from harness.results import Record, RunResults
from reports.escape import md, md_code
from reports.scorecard import REUSE_SCORE_FORMULA
from reports.text import MISSING, batch_label, ci_text, fmt, latency_keys, measure_settings

#: The start of every ``scorecard.md``: an existing file without it is not overwritten by ``report``.
SCORECARD_SIGNATURE = b"# reusebench scorecard"


def _latency(record: Record, key: str) -> str:
    block = record.latency(key)
    if block is None or block.p50 is None:
        return MISSING
    text = f"{block.p50:.2f}"
    return text + " ⚠" if block.noisy else text


def records_table(records: list[Record]) -> str:
    """One row per (task, model, format)."""
    keys = latency_keys(records)
    header = ["task", "model", "role", "format", "metric", "score [95% CI]"]
    header += [f"p50 ms {batch_label(k)}" for k in keys]
    header += ["size MB", "params M", "peak RSS MB", "train s", "status"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in records:
        row = [
            md(r.task),
            md(r.model),
            md(r.role),
            md(r.format),
            md(r.primary_metric),
            fmt(r.score, 4) + ci_text(r.score_ci),
            *[_latency(r, k) for k in keys],
            fmt(r.size_mb, 1),
            fmt(r.params / 1e6 if r.params else None, 2),
            fmt(r.peak_rss_mb, 0),
            fmt(r.train_wall_s, 1),
            r.status if r.status == "ok" else f"**failed**: {md(r.status_reason or '')}",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def scorecards_table(results: RunResults) -> str:
    """One row per scorecard."""
    header = ["task", "teacher", "variant", "format", "retention", "speedup b1", "compression", "train s", "reuse score"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for c in results.scorecards:
        row = [
            md(c.task),
            md(c.teacher),
            md(c.student),
            md(c.format),
            fmt(c.retention, 3),
            fmt(c.speedup, 2, "×"),
            fmt(c.compression, 2, "×"),
            fmt(c.train_cost_s, 1),
            fmt(c.reuse_score, 2),
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def render_scorecard_md(results: RunResults) -> str:
    """The whole ``scorecard.md``."""
    env = results.environment
    measure = measure_settings(results)
    noisy = any(r.noisy for r in results.records)
    parts = [
        f"# reusebench scorecard — run {md_code(results.run_id)} (suite {md_code(results.suite)})",
        "",
        f"{md(env.get('cpu', '?'))} ({md(env.get('isa_summary', ''))}), {md(env.get('threads', '?'))} threads for "
        f"training, {md(measure.get('threads', '?'))} for latency; torch {md(env.get('torch', '?'))}, onnxruntime "
        f"{md(env.get('onnxruntime', '?'))}; seed {md(results.config.get('seed'))}; run wall time "
        f"{results.wall_s:.0f} s.",
        "",
        "## Scorecards",
        "",
        scorecards_table(results),
        "",
        f"`{REUSE_SCORE_FORMULA}`. Retention = variant score / teacher PyTorch score on the same eval split; "
        "speedup = teacher PyTorch p50 / variant p50 at batch 1; compression = teacher size / variant size.",
        "",
        "## Records",
        "",
        records_table(results.records),
        "",
        f"Latency: isolated process per (model, format), {md(measure.get('warmup', '?'))} warm-up runs, then at "
        f"least {md(measure.get('min_iterations', '?'))} iterations and {md(measure.get('min_seconds', '?'))} s on "
        "real eval inputs; p50 shown. Score CI: seeded percentile bootstrap over eval examples "
        f"({md(results.config.get('bootstrap_resamples', '?'))} resamples)."
        + (" ⚠ marks a latency measured while the machine was busy or too noisy after retries." if noisy else ""),
        "",
    ]
    if results.baselines:
        parts += ["## Baselines", "", "What a trivial model scores on the same eval split.", ""]
        parts += ["| task | baseline | score |", "|---|---|---|"]
        for task, baseline in sorted(results.baselines.items()):
            score = baseline.get("score")
            parts.append(f"| {md(task)} | {md(baseline.get('name', '?'))} | {fmt(score, 4)} |")
        parts.append("")
    return "\n".join(parts)
