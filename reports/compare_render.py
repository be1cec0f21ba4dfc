"""A comparison as Markdown (a CI job summary or a pull-request comment) and as JUnit XML (``--junit``)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reports.escape import md
from reports.text import batch_label, batch_order, fmt

if TYPE_CHECKING:
    import pandas as pd

    from reports.compare import Comparison, RowComparison

#: The start of every verdict :func:`render_markdown` writes (``--markdown FILE`` overwrites only such a file).
MARKDOWN_SIGNATURE = b"## reusebench compare"
#: Near the start of every JUnit file :func:`write_junit` writes (``--junit FILE`` overwrites only such a file).
JUNIT_SIGNATURE = b'<testsuites name="reusebench compare"'

VERDICT_MARK = {
    "ok": "ok",
    "equivalent": "✅ equivalent",
    "inconclusive": "❔ inconclusive",
    "regression": "❌ regression",
    "missing": "❌ missing",
    "improved": "✅ improved",
    "new": "new",
}


def _where(row: RowComparison) -> str:
    return f"{md(row.task)} · {row.role} {md(row.model)} · {row.format}"


def _listed(title: str, rows: Sequence[RowComparison], *, bold: bool) -> list[str]:
    """A Markdown section listing rows with their reasons; nothing when there are no rows."""
    if not rows:
        return []
    lines = [f"### {title}", ""]
    for row in rows:
        reasons = "; ".join(row.reasons) or "no change beyond the tolerance could be shown"
        lines.append((f"- **{_where(row)}**: " if bold else f"- {_where(row)}: ") + reasons)
    return [*lines, ""]


def comparison_frame(comparison: Comparison) -> pd.DataFrame:
    """The comparison as data: one row per compared record (pandas), with the primary metric's baseline and
    candidate values, the paired difference and its interval, flips, McNemar's and TOST's p-values, the p50
    latencies per batch size and the verdict. The Markdown table is rendered from it."""
    import pandas as pd

    keys = sorted({d.key for r in comparison.rows for d in r.latency}, key=batch_order)
    rows = []
    for row in comparison.rows:
        record = row.baseline or row.candidate
        primary = row.primary
        values: dict[str, object] = {
            "task": row.task, "role": row.role, "model": row.model, "candidate_model": row.candidate_model,
            "format": row.format, "metric": record.primary_metric if record else None,
            "baseline": primary.baseline if primary else (row.baseline.score if row.baseline else None),
            "candidate": primary.candidate if primary else (row.candidate.score if row.candidate else None),
            "difference": primary.difference if primary else None,
            "ci_low": primary.ci[0] if primary and primary.ci else None,
            "ci_high": primary.ci[1] if primary and primary.ci else None,
            "significant": bool(primary and primary.significant),
            "paired": bool(primary and primary.paired),
            "right_to_wrong": primary.flips[0] if primary and primary.flips else None,
            "wrong_to_right": primary.flips[1] if primary and primary.flips else None,
            "mcnemar_p": primary.mcnemar_p if primary else None,
            "tost_p": primary.tost_p if primary else None,
            "verdict": row.verdict,
        }
        by_key = {d.key: d for d in row.latency}
        for key in keys:
            d = by_key.get(key)
            values[f"{key}.baseline_p50"] = d.baseline_p50 if d else None
            values[f"{key}.candidate_p50"] = d.candidate_p50 if d else None
        rows.append(values)
    frame = pd.DataFrame.from_records(rows)
    for column in ("right_to_wrong", "wrong_to_right"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _delta_cell(row: dict) -> str:
    if _missing(row["difference"]):
        return "–"
    text = f"{row['difference']:+.4f}"
    if not _missing(row["ci_low"]):
        text += f" [{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]"
    return text + (" *" if row["significant"] else "")


def _tests_cell(row: dict) -> str:
    if _missing(row["difference"]):
        return "–"
    if not row["paired"]:
        return "unpaired"
    parts = []
    if not _missing(row["right_to_wrong"]):
        parts.append(f"{row['right_to_wrong']}↓ {row['wrong_to_right']}↑, McNemar p {row['mcnemar_p']:.3g}")
    if not _missing(row["tost_p"]):
        parts.append(f"TOST p {row['tost_p']:.3g}")
    return "; ".join(parts) or "paired"


def _records_table(comparison: Comparison) -> list[str]:
    """One table row per compared record, from :func:`comparison_frame`."""
    frame = comparison_frame(comparison)
    keys = sorted({d.key for r in comparison.rows for d in r.latency}, key=batch_order)
    header = ["task", "role", "model", "format", "metric", "baseline", "candidate", "Δ [paired 95 % CI]",
              "flips · tests"]
    header += [f"p50 ms {batch_label(k)} (base → cand)" for k in keys]
    header += ["verdict"]
    lines = ["### Records", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        model = row["model"]
        if row["candidate_model"] not in (None, row["model"]):
            model = f"{row['model']} → {row['candidate_model']}"
        cells = [
            md(row["task"]), row["role"], md(model), row["format"], md(row["metric"]) if row["metric"] else "–",
            fmt(row["baseline"], 4), fmt(row["candidate"], 4), _delta_cell(row), _tests_cell(row),
        ]
        for key in keys:
            b, c = row[f"{key}.baseline_p50"], row[f"{key}.candidate_p50"]
            cells.append("–" if b is None else f"{b:.2f} → {c:.2f} (×{c / b:.2f})")
        verdict = VERDICT_MARK.get(row["verdict"], row["verdict"])
        cells.append("missing (allowed)" if row["verdict"] == "ok" and row["candidate_model"] is None else verdict)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _counts(comparison: Comparison) -> str:
    counts: dict[str, int] = {}
    for row in comparison.rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    order = ("regression", "missing", "inconclusive", "equivalent", "improved", "ok", "new")
    return ", ".join(f"{counts[v]} {v}" for v in order if v in counts)


def render_markdown(comparison: Comparison) -> str:
    """The verdict as Markdown, fit for a CI job summary or a pull-request comment."""
    t = comparison.thresholds
    regressions = comparison.regressions
    head = (
        f"## reusebench compare: ❌ {len(regressions)} regression(s)"
        if regressions
        else "## reusebench compare: ✅ no regression"
    )
    custom = "; ".join(f"{md(k)} {v.text()}" for k, v in sorted(t.tolerances.items()))
    lines = [
        head,
        "",
        f"Baseline **{md(comparison.baseline_id)}** → candidate **{md(comparison.candidate_id)}**: {_counts(comparison)}.",
        "",
        f"A score regresses when its paired 95 % interval (same eval examples, resampled jointly) lies wholly "
        f"below −tolerance; it is equivalent when TOST shows it within ±tolerance (p < 0.05); otherwise "
        f"inconclusive. Tolerance: {t.max_score_drop * 100:g} point(s) of each metric"
        + (f" ({custom})" if custom else "")
        + f". Latency regresses when p50 > baseline p50 × {1 + t.max_latency_increase:g} and > baseline p90.",
        "",
    ]
    lines += _listed("Regressions", regressions, bold=True)
    inconclusive = [r for r in comparison.rows if r.verdict == "inconclusive" and r not in regressions]
    lines += _listed("Inconclusive", inconclusive, bold=False)
    others = [
        r for r in comparison.rows
        if r.reasons and r.verdict not in ("regression", "missing", "inconclusive") and r not in regressions
    ]
    lines += _listed("Other changes", others, bold=False)
    lines += _records_table(comparison)
    lines += ["", "`*` significant at 95 %. Flips: ↓ right→wrong, ↑ wrong→right (examples the baseline got right "
              "and the candidate wrong, and the reverse)."]
    if comparison.notes:
        lines += ["", "### Notes", ""] + [f"- {n}" for n in comparison.notes]
    return "\n".join(lines) + "\n"


def _plain(text: str) -> str:
    """Reasons are Markdown with escaped user strings: undo the backslash escapes for XML."""
    return text.replace("\\", "")


def write_junit(comparison: Comparison) -> str:
    """The comparison as JUnit XML: one test case per record; regressions (and missing records) fail,
    inconclusive verdicts are skipped with the reason, everything else passes."""
    failing = comparison.regressions
    suite = ET.Element(
        "testsuite",
        name="reusebench compare",
        tests=str(len(comparison.rows)),
        failures=str(len(failing)),
        errors="0",
        skipped=str(sum(1 for r in comparison.rows if r.verdict == "inconclusive" and r not in failing)),
    )
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="baseline", value=comparison.baseline_id)
    suite.find("properties").append(ET.Element("property", name="candidate", value=comparison.candidate_id))
    for row in comparison.rows:
        case = ET.SubElement(suite, "testcase", classname=f"reusebench.{row.task}",
                             name=f"{row.role} {row.model} ({row.format})")
        message = _plain("; ".join(row.reasons)) or row.verdict
        if row in failing:
            failure = ET.SubElement(case, "failure", message=message[:500], type=row.verdict)
            failure.text = message
        elif row.verdict == "inconclusive":
            ET.SubElement(case, "skipped", message=message[:500])
        else:
            ET.SubElement(case, "system-out").text = f"{row.verdict}: {message}"
    root = ET.Element("testsuites", name="reusebench compare")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
