"""Generation metric: ROUGE (rouge_score) and corpus BLEU / chrF (sacrebleu).

Multiple references: ROUGE takes the best reference per example (`RougeScorer.score_multi`, the
best by F-measure, for each ROUGE type separately). sacrebleu wants references as "streams"
(stream j holds the j-th reference of every example); when examples have different numbers of
references the shorter lists are padded with `None`, which sacrebleu 2.x documents and drops per
segment (`Metric._cache_references`). Padding with "" would be wrong: an empty string is a real,
empty reference that changes BLEU's closest reference length and chrF's best match.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import datasets
import evaluate
import numpy as np
import sacrebleu
from nltk.stem import porter
from rouge_score import rouge_scorer, tokenize, tokenizers
from sacrebleu.metrics import BLEU, CHRF

ROUGE_KEYS = ("rouge1", "rouge2", "rougeL")
SACREBLEU_KEYS = ("bleu", "chrf")
KEYS = ROUGE_KEYS + SACREBLEU_KEYS

_CITATION = """\
@inproceedings{lin-2004-rouge,
  title={{ROUGE}: A Package for Automatic Evaluation of Summaries},
  author={Lin, Chin-Yew}, booktitle={Text Summarization Branches Out}, year={2004}, pages={74--81}
}
@inproceedings{papineni-etal-2002-bleu,
  title={{B}leu: a Method for Automatic Evaluation of Machine Translation},
  author={Papineni, Kishore and Roukos, Salim and Ward, Todd and Zhu, Wei-Jing},
  booktitle={Proceedings of ACL}, year={2002}, pages={311--318}
}
@inproceedings{popovic-2015-chrf,
  title={chr{F}: character n-gram {F}-score for automatic {MT} evaluation},
  author={Popovi{\\'c}, Maja}, booktitle={Proceedings of WMT}, year={2015}, pages={392--395}
}
@inproceedings{post-2018-call,
  title={A Call for Clarity in Reporting {BLEU} Scores},
  author={Post, Matt}, booktitle={Proceedings of WMT}, year={2018}, pages={186--191}
}
"""

_INPUTS = """\
Args:
    predictions: list of generated strings.
    references: list of lists of reference strings (one or more per example).
Returns:
    rouge1, rouge2, rougeL: F-measure (stemmed), best reference per example, averaged, 0-1 scale.
    bleu, chrf: sacrebleu corpus scores with default settings, 0-100 scale.
"""


def check_inputs(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> None:
    """Raise ValueError unless there is at least one example and each has one or more references."""
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} predictions but {len(references)} references")
    if len(predictions) == 0:
        raise ValueError("generation metric needs at least one example")
    for i, refs in enumerate(references):
        if isinstance(refs, str) or len(refs) == 0:
            raise ValueError(f"example {i}: references must be a non-empty list of strings")


class _StemCachingTokenizer(tokenizers.Tokenizer):
    """rouge_score's `DefaultTokenizer(use_stemmer=True)` with a memoised Porter stemmer.

    Same tokens, same scores: it calls the same `rouge_score.tokenize.tokenize` with the same NLTK
    stemmer, but stemming is a pure function of the word and takes most of ROUGE's run time.
    """

    def __init__(self) -> None:
        self.stem = lru_cache(maxsize=1 << 16)(porter.PorterStemmer().stem)

    def tokenize(self, text: str) -> list[str]:
        return tokenize.tokenize(text, self)


@lru_cache(maxsize=1)
def _rouge_scorer() -> rouge_scorer.RougeScorer:
    # use_stemmer=True is what the passed tokenizer implements (RougeScorer ignores the flag then).
    return rouge_scorer.RougeScorer(list(ROUGE_KEYS), use_stemmer=True, tokenizer=_StemCachingTokenizer())


def rouge_per_example(
    predictions: Sequence[str], references: Sequence[Sequence[str]]
) -> dict[str, np.ndarray]:
    """Per-example ROUGE F-measures (best reference per example), one array per ROUGE type."""
    check_inputs(predictions, references)
    scorer = _rouge_scorer()
    rows = [scorer.score_multi(list(refs), pred) for pred, refs in zip(predictions, references, strict=True)]
    return {k: np.asarray([r[k].fmeasure for r in rows], dtype=np.float64) for k in ROUGE_KEYS}


def reference_streams(references: Sequence[Sequence[str]]) -> list[list[str | None]]:
    """Transpose per-example reference lists into sacrebleu streams, padding with None."""
    width = max(len(refs) for refs in references)
    return [[refs[j] if j < len(refs) else None for refs in references] for j in range(width)]


def sacrebleu_metric(key: str) -> BLEU | CHRF:
    """The sacrebleu metric object behind `key` ("bleu" or "chrf"), with default settings."""
    if key == "bleu":
        return BLEU()
    if key == "chrf":
        return CHRF()
    raise ValueError(f"sacrebleu key must be one of {SACREBLEU_KEYS}; got {key!r}")


def sacrebleu_stats(
    key: str, predictions: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[BLEU | CHRF, np.ndarray]:
    """Per-sentence sufficient statistics (n, k) for corpus BLEU or chrF, and the metric object.

    A corpus score is `metric._compute_score_from_stats(stats.sum(0))`. These are sacrebleu's
    private methods, the ones its own paired-bootstrap code (`sacrebleu.significance`) uses.
    """
    check_inputs(predictions, references)
    metric = sacrebleu_metric(key)
    stats = metric._extract_corpus_statistics(list(predictions), reference_streams(references))
    return metric, np.asarray(stats, dtype=np.float64)


def generation_scores(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """ROUGE-1/2/L F-measure (0-1) and sacrebleu corpus BLEU and chrF (0-100)."""
    rouge = rouge_per_example(predictions, references)
    preds, streams = list(predictions), reference_streams(references)
    scores = {k: float(v.mean()) for k, v in rouge.items()}
    scores["bleu"] = float(sacrebleu.corpus_bleu(preds, streams).score)
    scores["chrf"] = float(sacrebleu.corpus_chrf(preds, streams).score)
    return scores


class Generation(evaluate.Metric):
    """`evaluate` module wrapping :func:`generation_scores`."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="ROUGE-1/2/L (rouge_score, stemmed) and corpus BLEU and chrF (sacrebleu).",
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
        return generation_scores(predictions, references)
