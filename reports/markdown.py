"""``scorecard.md``: the run's records and scorecards as Markdown tables, fit for a pull-request comment."""

from __future__ import annotations

from harness.results import Record, RunResults
from reports.scorecard import REUSE_SCORE_FORMULA


def _fmt(value: float | None, digits: int = 3, suffix: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def _latency(record: Record, key: str) -> str:
    block = record.latency_ms.get(key)
    if not block:
        return "–"
    text = f"{block['p50']:.2f}"
    return text + " ⚠" if block.get("noisy") else text


def _escape(text: str) -> str:
    """Keep user strings from breaking the table (pipes) or injecting markup."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def records_table(records: list[Record]) -> str:
    """One row per (task, model, format)."""
    keys = sorted({k for r in records for k in r.latency_ms}, key=lambda k: int(k.split("_")[-1]))
    header = ["task", "model", "role", "format", "metric", "score [95% CI]"]
    header += [f"p50 ms {k.replace('_', ' ')}" for k in keys]
    header += ["size MB", "params M", "peak RSS MB", "train s", "status"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in records:
        ci = f" [{r.score_ci[0]:.3f}, {r.score_ci[1]:.3f}]" if r.score_ci else ""
        row = [
            _escape(r.task),
            _escape(r.model),
            r.role,
            r.format,
            _escape(r.primary_metric),
            _fmt(r.score, 4) + ci,
            *[_latency(r, k) for k in keys],
            _fmt(r.size_mb, 1),
            _fmt(r.params / 1e6 if r.params else None, 2),
            _fmt(r.peak_rss_mb, 0),
            _fmt(r.train["wall_s"] if r.train else None, 1),
            r.status if r.status == "ok" else f"**failed**: {_escape(r.status_reason or '')}",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def scorecards_table(results: RunResults) -> str:
    """One row per scorecard."""
    header = ["task", "teacher", "variant", "format", "retention", "speedup b1", "compression", "train s", "reuse score"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for c in results.scorecards:
        row = [
            _escape(c.task),
            _escape(c.teacher),
            _escape(c.student),
            c.format,
            _fmt(c.retention, 3),
            _fmt(c.speedup, 2, "×"),
            _fmt(c.compression, 2, "×"),
            _fmt(c.train_cost_s, 1),
            _fmt(c.reuse_score, 2),
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def render_scorecard_md(results: RunResults) -> str:
    """The whole ``scorecard.md``."""
    env = results.environment
    measure = results.config.get("suite", {}).get("measure", {})
    noisy = any(block.get("noisy") for r in results.records for block in r.latency_ms.values())
    parts = [
        f"# reusebench scorecard — run `{results.run_id}` (suite `{_escape(results.suite)}`)",
        "",
        f"{env.get('cpu', '?')} ({env.get('isa_summary', '')}), {env.get('threads', '?')} threads for training, "
        f"{measure.get('threads', '?')} for latency; torch {env.get('torch', '?')}, onnxruntime "
        f"{env.get('onnxruntime', '?')}; seed {results.config.get('seed')}; run wall time {results.wall_s:.0f} s.",
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
        f"Latency: isolated process per (model, format), {measure.get('warmup', '?')} warm-up runs, then at least "
        f"{measure.get('min_iterations', '?')} iterations and {measure.get('min_seconds', '?')} s on real eval inputs; "
        "p50 shown. Score CI: seeded percentile bootstrap over eval examples "
        f"({results.config.get('bootstrap_resamples', '?')} resamples)."
        + (" ⚠ marks a latency measured while the machine was busy or too noisy after retries." if noisy else ""),
        "",
    ]
    if results.baselines:
        parts += ["## Baselines", "", "What a trivial model scores on the same eval split.", ""]
        parts += ["| task | baseline | score |", "|---|---|---|"]
        for task, baseline in sorted(results.baselines.items()):
            score = baseline.get("score")
            shown = "–" if score is None else f"{score:.4f}"
            parts.append(f"| {_escape(task)} | {_escape(str(baseline.get('name', '?')))} | {shown} |")
        parts.append("")
    return "\n".join(parts)
