"""Sequence-labelling metric: entity-level precision/recall/F1 and token accuracy from seqeval."""

from __future__ import annotations

from collections.abc import Sequence

import datasets
import evaluate
import numpy as np
from seqeval.metrics import accuracy_score, precision_score, recall_score
from seqeval.metrics import f1_score as seqeval_f1
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2, Entities

KEYS = ("precision", "recall", "f1", "accuracy")
MODES = (None, "strict")

_CITATION = """\
@misc{seqeval,
  title={{seqeval}: A Python framework for sequence labeling evaluation},
  url={https://github.com/chakki-works/seqeval},
  author={Hiroki Nakayama},
  year={2018}
}
"""

_INPUTS = """\
Args:
    predictions: list of sentences, each a list of IOB2 tag strings.
    references: list of sentences, each a list of IOB2 tag strings (same lengths).
    mode: None (default, conlleval-compatible) or "strict" (strict IOB2 entity matching).
Returns:
    precision, recall, f1 (micro-averaged over entities) and token accuracy (floats).
"""


def tag_lists(
    predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]], mode: str | None = None
) -> tuple[list[list[str]], list[list[str]]]:
    """Validate inputs (sentence counts and lengths, mode) and return them as lists of lists."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} predicted sentences but {len(references)} references")
    if len(predictions) == 0:
        raise ValueError("seqeval metric needs at least one sentence")
    preds = [list(s) for s in predictions]
    refs = [list(s) for s in references]
    for i, (p, r) in enumerate(zip(preds, refs, strict=True)):
        if len(p) != len(r):
            raise ValueError(f"sentence {i}: {len(p)} predicted tags but {len(r)} reference tags")
    return preds, refs


def seqeval_scores(
    predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]], mode: str | None = None
) -> dict[str, float]:
    """Entity-level micro precision/recall/F1 and token accuracy (seqeval).

    `mode=None` is seqeval's default, conlleval-compatible chunking (an I- tag may open an entity);
    `mode="strict"` only counts entities that are well-formed IOB2.
    """
    preds, refs = tag_lists(predictions, references, mode)
    kw = {"mode": "strict", "scheme": IOB2} if mode == "strict" else {}
    return {
        "precision": float(precision_score(refs, preds, zero_division=0, **kw)),
        "recall": float(recall_score(refs, preds, zero_division=0, **kw)),
        "f1": float(seqeval_f1(refs, preds, zero_division=0, **kw)),
        "accuracy": float(accuracy_score(refs, preds)),
    }


def sentence_counts(
    predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]], mode: str | None = None
) -> np.ndarray:
    """Per-sentence sufficient statistics, shape (n, 5).

    Columns: true-positive entities, predicted entities, gold entities, correct tokens, tokens.
    Entities come from seqeval's own extraction (`get_entities`, or `Entities` with IOB2 in strict
    mode); seqeval never lets an entity cross a sentence boundary, so corpus-level counts are the
    sums of these rows.
    """
    preds, refs = tag_lists(predictions, references, mode)
    if mode == "strict":
        pred_ents = [set(s) for s in Entities(preds, IOB2).entities]
        true_ents = [set(s) for s in Entities(refs, IOB2).entities]
    else:
        pred_ents = [set(get_entities(s)) for s in preds]
        true_ents = [set(get_entities(s)) for s in refs]
    rows = [
        (len(t & p), len(p), len(t), sum(a == b for a, b in zip(ps, rs, strict=True)), len(rs))
        for p, t, ps, rs in zip(pred_ents, true_ents, preds, refs, strict=True)
    ]
    return np.asarray(rows, dtype=np.float64)


class Seqeval(evaluate.Metric):
    """`evaluate` module wrapping :func:`seqeval_scores`."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Entity-level precision, recall and F1 and token accuracy (seqeval).",
            citation=_CITATION,
            inputs_description=_INPUTS,
            features=datasets.Features(
                {
                    "predictions": datasets.List(datasets.Value("string")),
                    "references": datasets.List(datasets.Value("string")),
                }
            ),
        )

    def _compute(self, predictions, references, mode: str | None = None) -> dict[str, float]:
        return seqeval_scores(predictions, references, mode=mode)
