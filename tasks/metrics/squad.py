"""Extractive QA metric: exact match and token F1 as the official SQuAD v1.1 script defines them.

The functions `normalize_answer`, `f1_score`, `exact_match_score` and
`metric_max_over_ground_truths` follow the official "Official evaluation script for v1.1 of the
SQuAD dataset" (evaluate-v1.1.py, distributed with SQuAD, Rajpurkar et al. 2016; the same code
is in Hugging Face `evaluate`'s squad module). No pip package ships it, hence the copy. One
deliberate difference: scores are on a 0-1 scale, not the script's 0-100.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence

import datasets
import evaluate
import numpy as np

KEYS = ("exact_match", "f1")

_CITATION = """\
@inproceedings{rajpurkar-etal-2016-squad,
  title={{SQ}u{AD}: 100,000+ Questions for Machine Comprehension of Text},
  author={Rajpurkar, Pranav and Zhang, Jian and Lopyrev, Konstantin and Liang, Percy},
  booktitle={Proceedings of EMNLP},
  year={2016},
  pages={2383--2392}
}
"""

_INPUTS = """\
Args:
    predictions: list of predicted answer strings.
    references: list of lists of gold answer strings (all gold answers of each question).
Returns:
    exact_match, f1: SQuAD v1.1 scores, max over gold answers, averaged, on a 0-1 scale.
"""

_PUNCTUATION = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (SQuAD v1.1)."""

    def remove_articles(text: str) -> str:
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        return "".join(ch for ch in text if ch not in _PUNCTUATION)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def f1_score(prediction: str, ground_truth: str) -> float:
    """Token-level F1 between normalized answers, counting repeated tokens (SQuAD v1.1)."""
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def exact_match_score(prediction: str, ground_truth: str) -> float:
    """1.0 when the normalized answers are identical, else 0.0 (SQuAD v1.1)."""
    return float(normalize_answer(prediction) == normalize_answer(ground_truth))


def metric_max_over_ground_truths(
    metric_fn: Callable[[str, str], float], prediction: str, ground_truths: Sequence[str]
) -> float:
    """Best score of `prediction` against any of the gold answers (SQuAD v1.1)."""
    return max(metric_fn(prediction, gt) for gt in ground_truths)


def per_example_scores(
    predictions: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-question exact match and F1 (each the max over that question's gold answers)."""
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} predictions but {len(references)} references")
    if len(predictions) == 0:
        raise ValueError("squad metric needs at least one example")
    em, f1 = [], []
    for i, (pred, golds) in enumerate(zip(predictions, references, strict=True)):
        if isinstance(golds, str) or len(golds) == 0:
            raise ValueError(f"example {i}: references must be a non-empty list of answer strings")
        em.append(metric_max_over_ground_truths(exact_match_score, pred, golds))
        f1.append(metric_max_over_ground_truths(f1_score, pred, golds))
    return np.asarray(em, dtype=np.float64), np.asarray(f1, dtype=np.float64)


def squad_scores(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Mean SQuAD v1.1 exact match and F1 over questions, on a 0-1 scale."""
    em, f1 = per_example_scores(predictions, references)
    return {"exact_match": float(em.mean()), "f1": float(f1.mean())}


class Squad(evaluate.Metric):
    """`evaluate` module wrapping :func:`squad_scores`."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="SQuAD v1.1 exact match and token F1 (0-1 scale).",
            citation=_CITATION,
            inputs_description=_INPUTS,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("string"),
                    "references": datasets.List(datasets.Value("string")),
                }
            ),
        )

    def _compute(self, predictions, references) -> dict[str, float]:
        return squad_scores(predictions, references)
