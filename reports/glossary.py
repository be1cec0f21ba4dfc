"""What every column and mark on reusebench's pages means, in plain language.

Each page ends with :func:`glossary_section` (a ``<details>`` list of the terms it uses) and every table
header carries its entry as a tooltip (:func:`header_help`), so "adaptation PFLOP" or a ⚠ is never left
for the reader to guess.
"""

from __future__ import annotations

from collections.abc import Iterable

from reports.page import esc

#: term -> explanation, in the order the glossary lists them.
GLOSSARY: dict[str, str] = {
    "teacher": "The large pretrained model, fine-tuned on the task. Its PyTorch record is the reference every "
    "other model of the task is compared with.",
    "student / variant": "A model derived from the teacher: a smaller student distilled from it, or the "
    "teacher or a student exported to another format.",
    "format": "How the model is run: pytorch (the trained model as it is), onnx (exported to ONNX Runtime), "
    "onnx-int8 (ONNX with int8 weights, quantized after training), onnx-int8-static (int8 weights and "
    "activations, calibrated on training examples). Each format has one colour in every plot.",
    "score": "The task's primary metric (accuracy, f1, pearson, rougeL …) on the eval split; higher is better.",
    "95% CI": "The 95 % confidence interval under a score, from a bootstrap over the eval examples: another "
    "sample of the same size would most likely score in this range. When two intervals overlap, the two "
    "scores cannot be told apart.",
    "fine-tuned score": "The teacher's score after fine-tuning on the task (its PyTorch record).",
    "retention": "Variant score ÷ teacher score on the same eval split: 1.00 keeps all of it, 0.95 loses 5 %. "
    "The interval is the variant's CI divided by the teacher's score; ▼ marks a loss beyond that interval (the "
    "teacher's score lies above the variant's whole CI).",
    "speedup": "Teacher PyTorch p50 latency ÷ variant p50 latency, at batch 1 on this machine's CPU: 4× means "
    "it answers four times as fast.",
    "compression": "Teacher size on disk ÷ variant size on disk: 5× means a file five times smaller.",
    "reuse score": "How much the variant is worth for deployment: √(speedup × compression) × gate(retention). "
    "The gate is 1 at ≥ 97 % retention (or when the paired test shows it equivalent to the teacher), falls "
    "linearly to 0 at 90 %, and is 0 for failed exports. Above 1: worth more than the teacher itself.",
    "adaptation s": "Wall time of the training that produced the model, in seconds: the teacher's fine-tuning, "
    "or the student's distillation (an export inherits the time of the model it was exported from).",
    "adaptation PFLOP": "The same training's estimated compute, in peta floating-point operations (10¹⁵): "
    "6 × non-embedding parameters × training tokens, plus the teacher's forward passes for a distillation. "
    "Unlike seconds, it is comparable across machines.",
    "export parity": "After export, the change of the task metric (Δ) and the share of predictions that agree "
    "with the PyTorch model it came from; ✓ within the suite's tolerance, ✗ outside it.",
    "p50 ms": "Median time of one forward pass, in milliseconds, at the batch size shown (b1: one input), "
    "measured in an isolated process on real eval inputs after warm-up runs. Half the calls were faster.",
    "⚠ (noisy latency)": "The latency was measured while the machine was busy (other programs used CPU) or "
    "varied too much between calls, even after retries. The note beside it says what and what to do; treat "
    "such a speedup as approximate.",
    "size MB": "The model's files on disk, in megabytes.",
    "params M": "Number of parameters, in millions.",
    "peak RSS MB": "The most memory the measuring process held, in megabytes.",
    "rank": "Position within the model's role: teachers by fine-tuned score, variants by reuse score. "
    "3= shares rank 3: the scores are statistically tied (their CIs overlap), or the reuse scores are equal.",
    "tied with (≈)": "The models whose 95 % CI overlaps this one's: no significant difference.",
    "mean rank": "The mean of a model's ranks over the tasks it covers (lower is better); models covering "
    "more tasks are listed first.",
    "Pareto front": "The models no other model beats on both axes at once (faster and better). A point off "
    "the front has a rival that is both faster and at least as good.",
    "status": "ok, or failed with the reason (a failed export gets a reuse score of 0).",
}

#: The terms of a run's report (the ranking terms are the leaderboard's).
REPORT_TERMS = [t for t in GLOSSARY if t not in ("rank", "tied with (≈)", "mean rank")]

#: Table headers (or their start) -> glossary term.
_HEADERS = {
    "teacher": "teacher",
    "variant": "student / variant",
    "best variant": "student / variant",
    "metric": "score",
    "model": "student / variant",
    "role": "student / variant",
    "format": "format",
    "score [95% CI]": "score",
    "fine-tuned score": "fine-tuned score",
    "best score": "score",
    "retention": "retention",
    "speedup": "speedup",
    "compression": "compression",
    "reuse score": "reuse score",
    "best reuse score": "reuse score",
    "mean reuse score": "reuse score",
    "adaptation s": "adaptation s",
    "train s": "adaptation s",
    "adaptation PFLOP": "adaptation PFLOP",
    "export parity": "export parity",
    "p50 ms": "p50 ms",
    "size MB": "size MB",
    "params M": "params M",
    "peak RSS MB": "peak RSS MB",
    "rank": "rank",
    "tied with": "tied with (≈)",
    "mean rank": "mean rank",
    "status": "status",
}


def header_help(header: str) -> str | None:
    """The glossary entry a table header refers to (matched on the header or its start), if any; a header
    that shows a CI or an interval gets the CI's entry too."""
    term = _HEADERS.get(header)
    if term is None:
        term = next(
            (
                t
                for start, t in sorted(_HEADERS.items(), key=lambda i: -len(i[0]))
                if header.startswith(start)
            ),
            None,
        )
    if term is None:
        return None
    text = GLOSSARY[term]
    if "CI]" in header and term != "95% CI":
        text += " " + GLOSSARY["95% CI"]
    return text


def glossary_section(terms: Iterable[str] | None = None, *, open_: bool = True) -> str:
    """The glossary as a ``<details>`` list (``terms``: a subset, in glossary order; default: all)."""
    wanted = set(terms) if terms is not None else set(GLOSSARY)
    items = "".join(
        f"<dt>{esc(term)}</dt><dd>{esc(text)}</dd>" for term, text in GLOSSARY.items() if term in wanted
    )
    return (
        f'<details class="glossary" id="glossary"{" open" if open_ else ""}><summary>Glossary: what every column '
        f"and mark means</summary><dl>{items}</dl></details>"
    )
