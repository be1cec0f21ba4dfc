"""The reuse card: per task and teacher, how far each way of adapting the pretrained model gets and what it costs.

One row per method (linear probe, LoRA, full fine-tuning) from the PyTorch records of a run: the score and its
CI, the parameters the method trained, the training's wall time, tokens, FLOPs and peak memory, and the
fraction of the full fine-tuning score the method reaches on the same eval split. Empty for a run that
adapted one way only, so the reports of such runs are as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.results import Record, RunResults
from reports.escape import md
from reports.page import CellLike, esc, num, table
from reports.text import MISSING, ci_text, fmt

#: Methods in the order the card shows them, cheapest first, with their names in reports.
METHOD_NAMES = {"probe": "linear probe", "lora": "LoRA", "full": "full fine-tuning"}


@dataclass(frozen=True)
class AdaptationRow:
    """One method's result on one task for one teacher."""

    task: str
    teacher: str
    method: str
    record: Record
    #: the method's score over the full fine-tuning score (None without a positive full score)
    of_full: float | None

    @property
    def trainable_params(self) -> int:
        """Parameters the method trained (all of them for full fine-tuning)."""
        return self.record.trainable_params if self.record.trainable_params is not None else self.record.params


def _method(record: Record) -> str | None:
    if record.role == "teacher":
        return "full"
    return record.adaptation if record.role == "adapted" else None


def adaptation_rows(results: RunResults) -> list[AdaptationRow]:
    """The card's rows, per (task, teacher), cheapest method first; none unless a cheaper method ran."""
    by_unit: dict[tuple[str, str], dict[str, Record]] = {}
    for record in results.records:
        method = _method(record)
        if method is None or record.format != "pytorch" or record.status != "ok":
            continue
        by_unit.setdefault((record.task, record.teacher or ""), {})[method] = record
    rows = []
    for (task, teacher), methods in by_unit.items():
        if set(methods) == {"full"}:
            continue
        full = methods.get("full")
        for method in METHOD_NAMES:
            record = methods.get(method)
            if record is None:
                continue
            of_full = None
            if full is not None and full.score and full.score > 0 and record.score is not None:
                of_full = record.score / full.score
            rows.append(AdaptationRow(task, teacher, method, record, of_full))
    return rows


HEADERS = ["task", "method", "metric", "score [95% CI]", "of full", "trainable params", "train s", "tokens",
           "FLOPs", "peak RSS MB"]


def _flops(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2e}"


def adaptation_table_md(rows: Sequence[AdaptationRow]) -> str:
    """The reuse card as a Markdown table."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for row in rows:
        r, train = row.record, row.record.train
        cells = [
            md(row.task),
            METHOD_NAMES[row.method],
            md(r.primary_metric),
            fmt(r.score, 4) + ci_text(r.score_ci),
            fmt(row.of_full, 3),
            f"{row.trainable_params:,}",
            fmt(train.wall_s if train else None, 1),
            f"{train.tokens:,}" if train and train.tokens is not None else MISSING,
            _flops(train.flops if train else None),
            fmt(train.peak_rss_mb if train else None, 0),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def adaptation_note(results: RunResults) -> str:
    """The table's caption, with the LoRA settings the run used (``config.suite.lora``)."""
    suite = results.config.get("suite") if isinstance(results.config, dict) else None
    lora = suite.get("lora") if isinstance(suite, dict) else None
    lora = lora if isinstance(lora, dict) else {}
    targets = lora.get("target_modules")
    if targets in ("all-linear", ["all-linear"]):
        where = "every linear layer of the blocks"
    elif targets:
        where = f"the linear layers named {', '.join(str(t) for t in targets)}"
    else:
        where = "the attention query and value projections (the model type's default)"
    rank = f"rank-{lora['rank']}" if lora.get("rank") else "rank-r"
    return (
        "Each method starts from the same pretrained checkpoint and head initialisation. Linear probe: only the new "
        f"task head trains, on frozen features. LoRA: {rank} updates of {where} and the new head train (peft), "
        "merged into the weights afterwards. *of full*: the method's score over the full fine-tuning score on the "
        "same eval split. FLOPs count what each method computes (docs/adaptation.md)."
    )


def adaptation_section_md(results: RunResults) -> list[str]:
    """``## Adaptation`` of ``scorecard.md`` (no lines when the run adapted one way only)."""
    rows = adaptation_rows(results)
    if not rows:
        return []
    return ["## Adaptation", "", adaptation_table_md(rows), "", adaptation_note(results), ""]


def adaptation_section_html(results: RunResults, table_id: str = "adaptation") -> str:
    """The reuse card as an HTML table with its note ('' when the run adapted one way only)."""
    rows = adaptation_rows(results)
    if not rows:
        return ""
    cells: list[list[CellLike]] = []
    for row in rows:
        r, train = row.record, row.record.train
        cells.append(
            [
                row.task,
                METHOD_NAMES[row.method],
                r.primary_metric,
                fmt(r.score, 4) + ci_text(r.score_ci),
                num(row.of_full, 3),
                num(row.trainable_params, 0),
                num(train.wall_s if train else None, 1),
                num(train.tokens if train else None, 0),
                _flops(train.flops if train else None),
                num(train.peak_rss_mb if train else None, 0),
            ]
        )
    return (
        '<h2 id="adaptation">Adaptation: how little it takes</h2>'
        + table(table_id, HEADERS, cells)
        + f'<p class="muted">{esc(adaptation_note(results).replace("*", ""))}</p>'
    )


@dataclass(frozen=True)
class EstimateRow:
    """The transferability estimates of one (task, pretrained model) and the score fine-tuning then reached."""

    task: str
    teacher: str
    record: Record

    def value(self, estimator: str) -> float | None:
        """The estimate ``estimator`` (``logme``, ``hscore``, ``leep``), None when it does not apply."""
        value = (self.record.transferability or {}).get(estimator)
        return float(value) if isinstance(value, (int, float)) else None


#: The estimators as reports name them.
ESTIMATOR_NAMES = {"logme": "LogME", "hscore": "H-score", "leep": "LEEP"}


def estimate_rows(results: RunResults) -> list[EstimateRow]:
    """One row per teacher PyTorch record that carries estimates."""
    return [
        EstimateRow(r.task, r.teacher or r.model, r)
        for r in results.records
        if r.role == "teacher" and r.format == "pytorch" and r.transferability
    ]


@dataclass(frozen=True)
class EstimateTrust:
    """Kendall's τ between one estimator and the fine-tuned scores over the run's (task, model) pairs."""

    estimator: str
    pairs: int
    tau: float | None
    p_value: float | None
    reason: str | None = None


#: Fewest (task, model) pairs a rank correlation is computed over.
MIN_TAU_PAIRS = 3


def estimate_trust(rows: Sequence[EstimateRow]) -> list[EstimateTrust]:
    """Per estimator: Kendall's τ (scipy, through :func:`tasks.metrics.transferability.kendall_tau`) between its values and the fine-tuned scores, or why there is none."""
    from tasks.metrics.transferability import kendall_tau

    trust = []
    for estimator in ESTIMATOR_NAMES:
        pairs = [(row.value(estimator), row.record.score) for row in rows]
        pairs = [(e, s) for e, s in pairs if e is not None and s is not None]
        if len(pairs) < MIN_TAU_PAIRS:
            reason = f"{len(pairs)} (task, model) pair(s) with a value; τ needs {MIN_TAU_PAIRS}"
            trust.append(EstimateTrust(estimator, len(pairs), None, None, reason))
            continue
        tau, p_value = kendall_tau([e for e, _ in pairs], [s for _, s in pairs])
        if tau != tau:  # NaN: one side is constant
            trust.append(EstimateTrust(estimator, len(pairs), None, None, "one side is constant"))
            continue
        trust.append(EstimateTrust(estimator, len(pairs), tau, p_value))
    return trust


ESTIMATE_HEADERS = ["task", "model", "LogME", "H-score", "LEEP", "estimate s", "fine-tuned score"]


def _estimate_cells(row: EstimateRow) -> list[str]:
    data = row.record.transferability or {}
    notes = data.get("notes") or {}
    cells = [fmt(row.value(key), 3) if row.value(key) is not None else f"n/a ({notes.get(key, 'not computed')})"
             for key in ESTIMATOR_NAMES]
    return [row.task, row.teacher, *cells, fmt(data.get("seconds"), 1), fmt(row.record.score, 4)]


def _trust_text(trust: EstimateTrust) -> str:
    name = ESTIMATOR_NAMES[trust.estimator]
    if trust.tau is None:
        return f"{name}: no τ ({trust.reason})"
    return f"{name}: Kendall's τ = {trust.tau:+.2f} (p = {trust.p_value:.3f}, {trust.pairs} pairs)"


ESTIMATE_NOTE = (
    "Estimates score the pretrained model's frozen features on the training split (up to 1,000 examples) "
    "before any training; a higher value predicts a better fine-tuned score. τ ranks the estimates against the "
    "fine-tuned scores over every (task, model) pair of the run: a model-selection estimate worth trusting has a "
    "τ near +1 with a small p-value (across tasks with different metrics, read it with care)."
)


def estimates_section_md(results: RunResults) -> list[str]:
    """``## Transferability estimates`` of ``scorecard.md`` (no lines without estimates)."""
    rows = estimate_rows(results)
    if not rows:
        return []
    lines = ["## Transferability estimates", "", "| " + " | ".join(ESTIMATE_HEADERS) + " |",
             "|" + "---|" * len(ESTIMATE_HEADERS)]
    lines += ["| " + " | ".join(md(cell) for cell in _estimate_cells(row)) + " |" for row in rows]
    lines += ["", *[f"- {md(_trust_text(t))}" for t in estimate_trust(rows)], "", ESTIMATE_NOTE, ""]
    return lines


def estimates_section_html(results: RunResults, table_id: str = "estimates") -> str:
    """The estimates table and their rank correlation with the fine-tuned scores ('' without estimates)."""
    rows = estimate_rows(results)
    if not rows:
        return ""
    trust = "".join(f"<li>{esc(_trust_text(t))}</li>" for t in estimate_trust(rows))
    return (
        '<h3 id="estimates-section">Transferability estimates</h3>'
        + table(table_id, ESTIMATE_HEADERS, [_estimate_cells(row) for row in rows])
        + f"<ul>{trust}</ul><p class=\"muted\">{esc(ESTIMATE_NOTE)}</p>"
    )
