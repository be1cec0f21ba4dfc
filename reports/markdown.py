"""``scorecard.md``: the run's records and scorecards as Markdown tables, fit for a pull-request comment."""

from __future__ import annotations

from harness.results import Record, RunResults
from reports.adaptation import adaptation_section_md, estimates_section_md
from reports.escape import md, md_code
from reports.ladder import ladder_section_md
from reports.notes import record_notes, task_notes
from reports.recommend import recommendations
from reports.scorecard import REUSE_SCORE_FORMULA
from reports.text import MISSING, batch_label, ci_text, fmt, latency_keys, measure_settings, ran_what

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


def _paired_cell(record: Record | None) -> str:
    """The paired difference against the teacher, its CI, flips and TOST verdict."""
    paired = record.paired if record else None
    if paired is None or paired.difference is None:
        return MISSING
    text = f"{paired.difference:+.4f}"
    if paired.difference_ci:
        text += f" [{paired.difference_ci[0]:+.4f}, {paired.difference_ci[1]:+.4f}]"
    if paired.flips:
        text += f"; {paired.flips.get('right_to_wrong', 0)}↓ {paired.flips.get('wrong_to_right', 0)}↑"
    if paired.equivalence:
        text += f"; {paired.equivalence}" + (f" (TOST p {paired.tost_p:.3g})" if paired.tost_p is not None else "")
    return text


def scorecards_table(results: RunResults) -> str:
    """One row per scorecard."""
    header = ["task", "teacher", "variant", "format", "retention", "Δ vs teacher [paired 95% CI]; flips; TOST",
              "speedup b1", "compression", "train s", "reuse score"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    by_key = {(r.task, r.model, r.format): r for r in results.records}
    for c in results.scorecards:
        withheld = c.retention is None and c.retention_reported is False
        row = [
            md(c.task),
            md(c.teacher),
            md(c.student),
            md(c.format) + _isa_mark(results, c.format),
            "withheld (teacher ≈ baseline)" if withheld else fmt(c.retention, 3),
            _paired_cell(by_key.get((c.task, c.student, c.format))),
            fmt(c.speedup, 2, "×"),
            fmt(c.compression, 2, "×"),
            fmt(c.train_cost_s, 1),
            fmt(c.reuse_score, 2),
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def sentence_md(sentence: str) -> str:
    """A recommendation's sentence in Markdown: the `quoted` names (model and format) in bold, everything
    escaped by :func:`reports.escape.md` (names are user strings: no raw HTML even inside a code span)."""
    def plain(text: str) -> str:  # md() trims; the spaces around a code span stay
        return (" " if text[:1].isspace() else "") + md(text) + (" " if text[-1:].isspace() else "")

    parts = sentence.split("`")
    return "".join(f"**{md(part)}**" if i % 2 else plain(part) for i, part in enumerate(parts) if part)


def _isa_mark(results: RunResults, fmt_name: str) -> str:
    """int8 accuracy and speed depend on the CPU: int8 formats carry the instruction sets they ran on."""
    if "int8" not in fmt_name:
        return ""
    return f" ({md(results.environment.get('isa_summary') or 'CPU unknown')})"


def _notes_section(results: RunResults) -> list[str]:
    lines = []
    for task in dict.fromkeys(r.task for r in results.records):
        lines += [f"- **{md(task)}**: {md(note)}" for note in task_notes(results, task)]
    for record in results.records:
        lines += [
            f"- {md(record.task)} · {md(record.model)} ({md(record.format)}): {md(note)}"
            for note in record_notes(results, record)
        ]
    return ["## Cautions", "", *lines, ""] if lines else []


def render_scorecard_md(results: RunResults) -> str:
    """The whole ``scorecard.md``."""
    env = results.environment
    measure = measure_settings(results)
    noisy = any(r.noisy for r in results.records)
    parts = [
        f"# reusebench scorecard — run {md_code(results.run_id)} ({ran_what(results.suite)[0]} "
        f"{md_code(ran_what(results.suite)[1])})",
        "",
        f"{md(env.get('cpu', '?'))} ({md(env.get('isa_summary', ''))}), {md(env.get('threads', '?'))} threads for "
        f"training, {md(measure.get('threads', '?'))} for latency; torch {md(env.get('torch', '?'))}, onnxruntime "
        f"{md(env.get('onnxruntime', '?'))}; seed {md(results.config.get('seed'))}; run wall time "
        f"{results.wall_s:.0f} s.",
        "",
        "## What to ship",
        "",
        *[f"- {sentence_md(r.sentence)}" for r in recommendations(results)],
        "",
        *_notes_section(results),
        "## Scorecards",
        "",
        scorecards_table(results),
        "",
        f"`{REUSE_SCORE_FORMULA}`. Retention = variant score / teacher PyTorch score on the same eval split; "
        "speedup = teacher PyTorch p50 / variant p50 at batch 1; compression = teacher size / variant size. "
        "Δ vs teacher: the variant's score minus the teacher's on the same examples, with a paired bootstrap "
        "interval; flips: examples right→wrong (↓) and wrong→right (↑); TOST: equivalence within the suite's "
        "margin (`equivalence_margin` points).",
        "",
        *ladder_section_md(results),
        *adaptation_section_md(results),
        *estimates_section_md(results),
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
