"""Regression verdicts: compare a candidate run with a baseline, record by record.

Records are matched by (task, role, format); where a run holds several models in one such slot
(several students), by model name too, and a single unmatched model on each side is paired with the
other (a renamed student). For every matched pair:

* **Score** — a *regression* when the candidate's score is lower by more than ``max_score_drop``
  (absolute, default 0.01) **and** the drop is significant: one run's score lies outside the other's
  95 % bootstrap CI on the wrong side (candidate CI high < baseline score, or candidate score < baseline
  CI low; non-overlapping CIs imply both). The CIs come from the same eval examples, so this treats
  each run's score as fixed against the other's sampling noise, a conservative stand-in for a paired test
  (per-example predictions are not stored). Without CIs the absolute threshold alone decides, and the
  verdict says so.
* **Latency** — for every batch size measured in both: a *regression* when the candidate's p50 exceeds
  the baseline's p50 by more than ``max_latency_increase`` (relative, default 0.10) **and** exceeds the
  baseline's p90, i.e. it lies beyond the spread the baseline itself recorded.
* **Status** — a record that was ``ok`` and is now ``failed`` is a regression.
* **Missing** — a baseline record with no candidate counterpart is a regression (something stopped
  being produced) unless ``allow_missing``; candidate-only records are listed as new.

Improvements are reported with the mirror rules. Machine differences (CPU, threads) are reported as
notes, since latencies from different machines are not comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.results import Record, RunResults
from reports.escape import md
from reports.text import batch_label, batch_order, ci_text, fmt

DEFAULT_MAX_SCORE_DROP = 0.01
#: The start of every verdict :func:`render_markdown` writes (``--markdown FILE`` overwrites only such a file).
MARKDOWN_SIGNATURE = b"## reusebench compare"
DEFAULT_MAX_LATENCY_INCREASE = 0.10


@dataclass(frozen=True)
class Thresholds:
    """How much worse a candidate may be before it counts as a regression."""

    max_score_drop: float = DEFAULT_MAX_SCORE_DROP
    max_latency_increase: float = DEFAULT_MAX_LATENCY_INCREASE


@dataclass
class LatencyDelta:
    """One batch size of one matched pair."""

    key: str
    baseline_p50: float
    baseline_p90: float | None
    candidate_p50: float
    ratio: float
    limit: float
    verdict: str  # "ok" | "regression" | "faster"


@dataclass
class RowComparison:
    """One matched (or unmatched) record."""

    task: str
    role: str
    format: str
    model: str
    candidate_model: str | None
    baseline: Record | None
    candidate: Record | None
    score_delta: float | None = None
    score_significant: bool | None = None
    latency: list[LatencyDelta] = field(default_factory=list)
    verdict: str = "ok"  # "ok" | "regression" | "improved" | "missing" | "new"
    reasons: list[str] = field(default_factory=list)  # Markdown; user strings already escaped


@dataclass
class Comparison:
    """The whole verdict."""

    baseline_id: str
    candidate_id: str
    thresholds: Thresholds
    rows: list[RowComparison]
    notes: list[str]

    @property
    def regressions(self) -> list[RowComparison]:
        """Rows whose verdict is a regression (including missing records, unless allowed)."""
        return [r for r in self.rows if r.verdict in ("regression", "missing")]

    @property
    def regressed(self) -> bool:
        """True when the candidate regressed anywhere."""
        return bool(self.regressions)


def _score(record: Record) -> float | None:
    if record.score is not None:
        return float(record.score)
    value = record.metrics.get(record.primary_metric)
    return float(value) if value is not None else None


def _match(
    baseline: Sequence[Record], candidate: Sequence[Record]
) -> tuple[list[tuple[Record, Record]], list[Record], list[Record]]:
    pairs: list[tuple[Record, Record]] = []
    missing: list[Record] = []
    new: list[Record] = []
    slots: dict[tuple[str, str, str], tuple[list[Record], list[Record]]] = {}
    for r in baseline:
        slots.setdefault((r.task, r.role, r.format), ([], []))[0].append(r)
    for r in candidate:
        slots.setdefault((r.task, r.role, r.format), ([], []))[1].append(r)
    for base, cand in slots.values():
        cand_left = list(cand)
        base_left = []
        for b in base:
            same = next((c for c in cand_left if c.model == b.model), None)
            if same is not None:
                pairs.append((b, same))
                cand_left.remove(same)
            else:
                base_left.append(b)
        if len(base_left) == 1 and len(cand_left) == 1:
            pairs.append((base_left[0], cand_left[0]))
        else:
            missing += base_left
            new += cand_left
    return pairs, missing, new


def _compare_score(row: RowComparison, base: Record, cand: Record, thresholds: Thresholds) -> None:
    b, c = _score(base), _score(cand)
    if b is None or c is None:
        return
    row.score_delta = c - b
    b_ci, c_ci = base.score_ci, cand.score_ci
    metric = md(base.primary_metric)
    if b_ci and c_ci:
        worse = c_ci.below(b) or c < b_ci.low
        better = c_ci.above(b) or c > b_ci.high
        row.score_significant = worse if row.score_delta < 0 else better
        basis = "outside the 95 % CIs"
    else:
        row.score_significant = None
        worse = better = True
        basis = "no CI recorded: threshold only"
    if row.score_delta < -thresholds.max_score_drop and worse:
        row.verdict = "regression"
        row.reasons.append(
            f"{metric} fell {b:.4f} → {c:.4f} ({row.score_delta:+.4f}, more than the allowed "
            f"{thresholds.max_score_drop:g}; {basis}"
            + (
                f": baseline CI{ci_text(b_ci, 4)}, candidate CI{ci_text(c_ci, 4)}"
                if b_ci and c_ci
                else ""
            )
            + ")"
        )
    elif row.score_delta > thresholds.max_score_drop and better:
        row.reasons.append(f"{metric} rose {b:.4f} → {c:.4f} ({row.score_delta:+.4f}, {basis})")
        if row.verdict == "ok":
            row.verdict = "improved"


def _compare_latency(row: RowComparison, base: Record, cand: Record, thresholds: Thresholds) -> None:
    for key in sorted(set(base.latency_ms) & set(cand.latency_ms), key=batch_order):
        b_block, c_block = base.latency_ms[key], cand.latency_ms[key]
        b50, c50 = b_block.p50, c_block.p50
        if not b50 or c50 is None or b50 <= 0:
            continue
        b90 = b_block.p90
        limit = max(b50 * (1 + thresholds.max_latency_increase), b90 or 0.0)
        ratio = c50 / b50
        if c50 > limit:
            verdict = "regression"
            row.verdict = "regression"
            row.reasons.append(
                f"p50 latency at {batch_label(key)} rose {b50:.2f} → {c50:.2f} ms (×{ratio:.2f}; limit {limit:.2f} ms "
                f"= max(baseline p50 × {1 + thresholds.max_latency_increase:g}, baseline p90"
                + (f" {b90:.2f}" if b90 else " n/a")
                + "))"
            )
        elif c50 < b50 / (1 + thresholds.max_latency_increase) and (c_block.p90 or c50) < b50:
            verdict = "faster"
        else:
            verdict = "ok"
        row.latency.append(
            LatencyDelta(key, float(b50), float(b90) if b90 else None, float(c50), ratio, limit, verdict)
        )
    if row.verdict == "ok" and any(d.verdict == "faster" for d in row.latency):
        row.verdict = "improved"
        row.reasons.append(
            "faster: "
            + ", ".join(
                f"{batch_label(d.key)} ×{d.ratio:.2f}" for d in row.latency if d.verdict == "faster"
            )
        )


def _environment_notes(baseline: RunResults, candidate: RunResults) -> list[str]:
    notes = []
    for key in ("cpu", "threads", "measure_threads", "gpu"):
        b, c = baseline.environment.get(key), candidate.environment.get(key)
        if b != c:
            notes.append(
                f"environment differs: {key} {md(repr(b))} (baseline) vs {md(repr(c))} (candidate); "
                "latencies may not be comparable"
            )
    for name, run in (("baseline", baseline), ("candidate", candidate)):
        noisy = sum(1 for r in run.records if r.noisy)
        if noisy:
            notes.append(
                f"{noisy} {name} record(s) have latencies flagged noisy (measured on a busy machine): "
                "latency verdicts on them are less certain"
            )
    return notes


def compare_runs(
    baseline: RunResults,
    candidate: RunResults,
    thresholds: Thresholds | None = None,
    *,
    allow_missing: bool = False,
) -> Comparison:
    """Compare two runs record by record (see the module docstring for the rules)."""
    thresholds = thresholds or Thresholds()
    pairs, missing, new = _match(baseline.records, candidate.records)
    rows: list[RowComparison] = []
    for base, cand in pairs:
        row = RowComparison(base.task, base.role, base.format, base.model, cand.model, base, cand)
        if cand.model != base.model:
            row.reasons.append(f"matched {md(base.model)} with candidate {md(cand.model)}")
        if base.status == "ok" and cand.status != "ok":
            row.verdict = "regression"
            row.reasons.append(f"status ok → {cand.status}: {md(cand.status_reason or 'no reason given')}")
        _compare_score(row, base, cand, thresholds)
        _compare_latency(row, base, cand, thresholds)
        rows.append(row)
    for base in missing:
        row = RowComparison(base.task, base.role, base.format, base.model, None, base, None)
        row.verdict = "ok" if allow_missing else "missing"
        row.reasons.append("missing in the candidate" + (" (allowed)" if allow_missing else ""))
        rows.append(row)
    for cand in new:
        row = RowComparison(
            cand.task, cand.role, cand.format, cand.model, cand.model, None, cand, verdict="new"
        )
        row.reasons.append("new in the candidate")
        rows.append(row)
    rows.sort(key=lambda r: (r.task, r.role != "teacher", r.model, r.format))
    notes = _environment_notes(baseline, candidate)
    return Comparison(baseline.run_id, candidate.run_id, thresholds, rows, notes)


VERDICT_MARK = {
    "ok": "ok",
    "regression": "❌ regression",
    "missing": "❌ missing",
    "improved": "✅ improved",
    "new": "new",
}


def _listed(title: str, rows: Sequence[RowComparison], *, bold: bool) -> list[str]:
    """A Markdown section listing rows with their reasons; nothing when there are no rows."""
    if not rows:
        return []
    lines = [f"### {title}", ""]
    for row in rows:
        where = f"{md(row.task)} · {row.role} {md(row.model)} · {row.format}"
        lines.append((f"- **{where}**: " if bold else f"- {where}: ") + "; ".join(row.reasons))
    return [*lines, ""]


def _records_table(comparison: Comparison) -> list[str]:
    """One table row per compared record: scores, Δ, p50 per batch size (base → cand), verdict."""
    keys = sorted({d.key for r in comparison.rows for d in r.latency}, key=batch_order)
    header = ["task", "role", "model", "format", "baseline score", "candidate score", "Δ score"]
    header += [f"p50 ms {batch_label(k)} (base → cand)" for k in keys]
    header += ["verdict"]
    lines = ["### Records", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in comparison.rows:
        base_score = _score(row.baseline) if row.baseline else None
        cand_score = _score(row.candidate) if row.candidate else None
        delta = (
            "–"
            if row.score_delta is None
            else f"{row.score_delta:+.4f}" + (" *" if row.score_significant else "")
        )
        model = (
            row.model if row.candidate_model in (None, row.model) else f"{row.model} → {row.candidate_model}"
        )
        cells = [md(row.task), row.role, md(model), row.format, fmt(base_score, 4), fmt(cand_score, 4), delta]
        by_key = {d.key: d for d in row.latency}
        for key in keys:
            d = by_key.get(key)
            cells.append(
                "–" if d is None else f"{d.baseline_p50:.2f} → {d.candidate_p50:.2f} (×{d.ratio:.2f})"
            )
        verdict = VERDICT_MARK.get(row.verdict, row.verdict)
        cells.append("missing (allowed)" if row.candidate is None and row.verdict == "ok" else verdict)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_markdown(comparison: Comparison) -> str:
    """The verdict as Markdown, fit for a CI job summary or a pull-request comment."""
    t = comparison.thresholds
    regressions = comparison.regressions
    head = (
        f"## reusebench compare: ❌ {len(regressions)} regression(s)"
        if regressions
        else "## reusebench compare: ✅ no regression"
    )
    lines = [
        head,
        "",
        f"Baseline **{md(comparison.baseline_id)}** → candidate **{md(comparison.candidate_id)}**. "
        f"Thresholds: score drop > {t.max_score_drop:g} (absolute) and significant (outside the 95 % CIs); "
        f"p50 latency > baseline p50 × {1 + t.max_latency_increase:g} and > baseline p90.",
        "",
    ]
    lines += _listed("Regressions", regressions, bold=True)
    others = [r for r in comparison.rows if r.reasons and r.verdict not in ("regression", "missing")]
    lines += _listed("Other changes", others, bold=False)
    lines += _records_table(comparison)
    lines += ["", "`*` significant: outside the 95 % CIs."]
    if comparison.notes:
        lines += ["", "### Notes", ""] + [f"- {n}" for n in comparison.notes]
    return "\n".join(lines) + "\n"
