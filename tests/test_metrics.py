"""Tests for tasks.metrics: each metric against its reference library, and the fast bootstrap."""

# ruff: noqa: E402  (HF_HUB_OFFLINE must be set before evaluate / huggingface_hub are imported)

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import math

import numpy as np
import pytest
import sacrebleu
import seqeval.metrics as sm
from rouge_score import rouge_scorer
from scipy import stats
from seqeval.scheme import IOB2
from sklearn import metrics as skm

import tasks.metrics.bootstrap as bootstrap_module
from tasks.metrics import (
    METRIC_NAMES,
    bootstrap_ci,
    bootstrap_distribution,
    compute,
    get_metric,
    resample_indices,
)
from tasks.metrics.squad import f1_score as squad_f1
from tasks.metrics.squad import normalize_answer

# --- small hand-made cases, shared by the library checks and the bootstrap checks -----------------

CLS_PRED = [0, 1, 2, 2, 1, 0, 0, 2, 1, 1, 0, 2]
CLS_REF = [0, 1, 2, 1, 1, 0, 2, 2, 0, 1, 0, 1]
BIN_PRED = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1]
BIN_REF = [1, 0, 0, 1, 0, 1, 1, 0, 1, 0]
REG_PRED = [0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.5, 0.5, 0.15]
REG_REF = [0.0, 0.5, 0.3, 1.0, 0.6, 0.3, 0.8, 0.4, 0.6, 0.1]
SEQ_REF = [
    ["B-PER", "I-PER", "O", "B-LOC"],
    ["O", "B-ORG", "I-ORG", "O", "B-PER"],
    ["B-LOC", "O"],
    ["O", "O", "B-MISC", "I-MISC"],
    ["B-PER", "O", "B-LOC", "I-LOC"],
]
SEQ_PRED = [
    ["B-PER", "I-PER", "O", "I-LOC"],  # I-LOC opens an entity in conlleval mode, not in strict mode
    ["O", "B-ORG", "O", "O", "B-PER"],
    ["B-LOC", "O"],
    ["O", "O", "B-MISC", "I-MISC"],
    ["B-ORG", "O", "B-LOC", "I-LOC"],
]
SQUAD_PRED = ["the Eiffel Tower!", "the big red house", "cat cat cat", "Paris", "1889", "blue"]
SQUAD_REF = [
    ["Eiffel tower"],
    ["a red house on the hill"],
    ["cat dog"],
    ["Paris", "paris, France"],
    ["1887"],
    ["red"],
]
GEN_PRED = [
    "the cat sat on the mat today",
    "a dog barks loudly at night",
    "the weather is sunny and warm",
    "students read many books in the library",
    "he runs quickly to the station",
]
GEN_REF = [
    ["the cat sat on a mat today", "there is a cat sitting on the mat"],
    ["the dog barked loudly all night"],
    ["it is sunny and warm", "the weather is warm and sunny", "sunny weather"],
    ["many books are read by students in the library"],
    ["he ran quickly to the train station", "quickly he runs to the station"],
]

CASES = {
    "classification": (CLS_PRED, CLS_REF, {}),
    "binary": (BIN_PRED, BIN_REF, {"num_labels": 2}),
    "regression": (REG_PRED, REG_REF, {}),
    "seqeval": (SEQ_PRED, SEQ_REF, {}),
    "seqeval_strict": (SEQ_PRED, SEQ_REF, {"mode": "strict"}),
    "squad": (SQUAD_PRED, SQUAD_REF, {}),
    "generation": (GEN_PRED, GEN_REF, {}),
}
METRIC_OF = {"binary": "classification", "seqeval_strict": "seqeval"}


def _case(case: str) -> tuple[str, list, list, dict]:
    preds, refs, kwargs = CASES[case]
    return METRIC_OF.get(case, case), preds, refs, kwargs


# --- each metric against its library -------------------------------------------------------------


def test_classification_matches_sklearn() -> None:
    got = compute("classification", CLS_PRED, CLS_REF)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(CLS_REF, CLS_PRED))
    assert got["f1"] == pytest.approx(skm.f1_score(CLS_REF, CLS_PRED, average="macro"))
    assert got["f1_macro"] == got["f1"]
    assert got["mcc"] == pytest.approx(skm.matthews_corrcoef(CLS_REF, CLS_PRED))


def test_binary_f1_is_f1_of_label_one() -> None:
    got = compute("classification", BIN_PRED, BIN_REF, num_labels=2)
    assert got["f1"] == pytest.approx(skm.f1_score(BIN_REF, BIN_PRED, pos_label=1))
    assert got["f1_macro"] == pytest.approx(skm.f1_score(BIN_REF, BIN_PRED, average="macro"))
    assert got["f1"] != pytest.approx(got["f1_macro"])
    assert got["mcc"] == pytest.approx(skm.matthews_corrcoef(BIN_REF, BIN_PRED))


def test_classification_rejects_label_outside_num_labels() -> None:
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        compute("classification", [0, 2], [0, 1], num_labels=2)


def test_regression_matches_scipy() -> None:
    got = compute("regression", REG_PRED, REG_REF)
    assert got["pearson"] == pytest.approx(stats.pearsonr(REG_PRED, REG_REF).statistic)
    assert got["spearman"] == pytest.approx(stats.spearmanr(REG_PRED, REG_REF).statistic)
    assert got["mse"] == pytest.approx(np.mean((np.array(REG_PRED) - np.array(REG_REF)) ** 2))


def test_regression_constant_input_gives_zero_correlation() -> None:
    got = compute("regression", [0.5, 0.5, 0.5], [0.1, 0.2, 0.3])
    assert got["pearson"] == 0.0 and got["spearman"] == 0.0
    assert got["mse"] == pytest.approx((0.16 + 0.09 + 0.04) / 3)


@pytest.mark.parametrize("mode", [None, "strict"])
def test_seqeval_matches_library(mode: str | None) -> None:
    kw = {"mode": "strict", "scheme": IOB2} if mode else {}
    got = compute("seqeval", SEQ_PRED, SEQ_REF, mode=mode)
    assert got["precision"] == pytest.approx(sm.precision_score(SEQ_REF, SEQ_PRED, **kw))
    assert got["recall"] == pytest.approx(sm.recall_score(SEQ_REF, SEQ_PRED, **kw))
    assert got["f1"] == pytest.approx(sm.f1_score(SEQ_REF, SEQ_PRED, **kw))
    assert got["accuracy"] == pytest.approx(sm.accuracy_score(SEQ_REF, SEQ_PRED))


def test_seqeval_strict_mode_differs_on_dangling_inside_tag() -> None:
    # Gold has PER and LOC; the prediction's LOC starts with I-, which only conlleval mode accepts.
    pred, ref = [["B-PER", "I-PER", "O", "I-LOC"]], [["B-PER", "I-PER", "O", "B-LOC"]]
    assert compute("seqeval", pred, ref)["recall"] == 1.0
    assert compute("seqeval", pred, ref, mode="strict")["recall"] == 0.5


def test_seqeval_rejects_mismatched_sentence_lengths() -> None:
    with pytest.raises(ValueError, match="sentence 0"):
        compute("seqeval", [["O", "O"]], [["O"]])


def test_squad_normalization_and_hand_computed_scores() -> None:
    assert normalize_answer("the Eiffel Tower!") == "eiffel tower"
    # "the big red house" -> [big, red, house]; "a red house on the hill" -> [red, house, on, hill].
    # Overlap 2: P = 2/3, R = 2/4, F1 = 2 * (2/3) * (1/2) / (2/3 + 1/2) = 4/7.
    assert squad_f1("the big red house", "a red house on the hill") == pytest.approx(4 / 7)
    # Counter overlap counts repeats once per gold occurrence: overlap 1, P = 1/3, R = 1/2, F1 = 2/5.
    assert squad_f1("cat cat cat", "cat dog") == pytest.approx(2 / 5)
    got = compute("squad", SQUAD_PRED, SQUAD_REF)
    # EM: Eiffel (1), house (0), cat (0), Paris (1, first gold), 1889 (0), blue (0) -> 2/6.
    assert got["exact_match"] == pytest.approx(2 / 6)
    # F1: 1 + 4/7 + 2/5 + 1 + 0 + 0, averaged over 6 questions.
    assert got["f1"] == pytest.approx((1 + 4 / 7 + 2 / 5 + 1) / 6)


def test_generation_rouge_matches_rouge_score() -> None:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    got = compute("generation", GEN_PRED, GEN_REF)
    for key in ("rouge1", "rouge2", "rougeL"):
        best = [
            max(scorer.score(r, p)[key].fmeasure for r in refs)
            for p, refs in zip(GEN_PRED, GEN_REF, strict=True)
        ]
        assert got[key] == pytest.approx(np.mean(best), abs=1e-12)


def test_generation_sacrebleu_with_uneven_reference_counts() -> None:
    # A duplicated reference changes neither BLEU (max n-gram counts, closest length) nor chrF
    # (best reference), so padding each example to 3 refs by repeating its own first ref gives
    # an independent expected value for the None-padded streams used by compute().
    width = max(len(r) for r in GEN_REF)
    padded = [list(r) + [r[0]] * (width - len(r)) for r in GEN_REF]
    streams = [[r[j] for r in padded] for j in range(width)]
    got = compute("generation", GEN_PRED, GEN_REF)
    assert got["bleu"] == pytest.approx(sacrebleu.corpus_bleu(GEN_PRED, streams).score, abs=1e-9)
    assert got["chrf"] == pytest.approx(sacrebleu.corpus_chrf(GEN_PRED, streams).score, abs=1e-9)
    # And with one reference each, plain single-stream sacrebleu.
    first = [r[0] for r in GEN_REF]
    single = compute("generation", GEN_PRED, [[r] for r in first])
    assert single["bleu"] == pytest.approx(sacrebleu.corpus_bleu(GEN_PRED, [first]).score, abs=1e-9)
    assert single["chrf"] == pytest.approx(sacrebleu.corpus_chrf(GEN_PRED, [first]).score, abs=1e-9)


def test_perfect_predictions() -> None:
    assert all(v == pytest.approx(1.0) for v in compute("classification", CLS_REF, CLS_REF).values())
    assert compute("classification", BIN_REF, BIN_REF, num_labels=2)["f1"] == 1.0
    reg = compute("regression", REG_REF, REG_REF)
    assert reg["pearson"] == pytest.approx(1.0) and reg["spearman"] == pytest.approx(1.0) and reg["mse"] == 0
    assert set(compute("seqeval", SEQ_REF, SEQ_REF).values()) == {1.0}
    assert set(compute("seqeval", SEQ_REF, SEQ_REF, mode="strict").values()) == {1.0}
    assert set(compute("squad", [r[0] for r in SQUAD_REF], SQUAD_REF).values()) == {1.0}
    gen = compute("generation", [r[-1] for r in GEN_REF], GEN_REF)
    assert gen["rouge1"] == gen["rouge2"] == gen["rougeL"] == pytest.approx(1.0)
    assert gen["bleu"] == pytest.approx(100.0) and gen["chrf"] == pytest.approx(100.0)


# --- evaluate modules and the registry -----------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_evaluate_module_equals_pure_function(case: str) -> None:
    name, preds, refs, kwargs = _case(case)
    metric = get_metric(name)
    assert metric.compute(predictions=preds, references=refs, **kwargs) == compute(
        name, preds, refs, **kwargs
    )


def test_unknown_metric_lists_allowed_names() -> None:
    assert set(METRIC_NAMES) == {"classification", "regression", "seqeval", "squad", "generation"}
    for call in (
        lambda: get_metric("bleurt"),
        lambda: compute("bleurt", [1], [1]),
        lambda: bootstrap_ci("bleurt", [1], [1], "f1"),
    ):
        with pytest.raises(ValueError) as err:
            call()
        assert all(name in str(err.value) for name in METRIC_NAMES)


def test_unknown_key_lists_allowed_keys() -> None:
    with pytest.raises(ValueError, match="accuracy, f1, f1_macro, mcc"):
        bootstrap_ci("classification", CLS_PRED, CLS_REF, "auc")


# --- bootstrap -----------------------------------------------------------------------------------

KEYS_OF = {
    "classification": ["accuracy", "f1", "f1_macro", "mcc"],
    "binary": ["f1", "mcc"],
    "regression": ["pearson", "spearman", "mse"],
    "seqeval": ["precision", "recall", "f1", "accuracy"],
    "seqeval_strict": ["f1"],
    "squad": ["exact_match", "f1"],
    "generation": ["rouge1", "rouge2", "rougeL", "bleu", "chrf"],
}


@pytest.mark.parametrize("case,key", [(c, k) for c, keys in KEYS_OF.items() for k in keys])
def test_decomposed_bootstrap_equals_naive_recompute(case: str, key: str) -> None:
    name, preds, refs, kwargs = _case(case)
    indices = resample_indices(len(preds), n_resamples=15, seed=7)
    fast = bootstrap_distribution(name, preds, refs, key, indices, **kwargs)
    naive = [compute(name, [preds[i] for i in row], [refs[i] for i in row], **kwargs)[key] for row in indices]
    np.testing.assert_allclose(fast, naive, rtol=0, atol=1e-9)


@pytest.mark.parametrize("case,key", [("classification", "mcc"), ("squad", "f1"), ("generation", "bleu")])
def test_bootstrap_ci_brackets_point_and_is_deterministic(case: str, key: str) -> None:
    name, preds, refs, kwargs = _case(case)
    point = compute(name, preds, refs, **kwargs)[key]
    low, high = bootstrap_ci(name, preds, refs, key, n_resamples=300, seed=3, **kwargs)
    assert low <= point <= high and low < high
    assert bootstrap_ci(name, preds, refs, key, n_resamples=300, seed=3, **kwargs) == (low, high)


def test_bootstrap_ci_uses_resample_indices_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny chunks (3 resamples of 12 examples) must draw the same indices as one big draw.
    monkeypatch.setattr(bootstrap_module, "_CHUNK_ELEMENTS", 36)
    scores = bootstrap_distribution("classification", CLS_PRED, CLS_REF, "mcc", resample_indices(12, 100, 5))
    expected = tuple(np.percentile(scores, [5.0, 95.0]))
    got = bootstrap_ci("classification", CLS_PRED, CLS_REF, "mcc", n_resamples=100, confidence=0.9, seed=5)
    assert got == pytest.approx(expected, abs=1e-12)


def test_bootstrap_ci_narrows_as_n_grows() -> None:
    rng = np.random.default_rng(0)
    refs = rng.integers(0, 2, 4000)
    preds = np.where(rng.random(4000) < 0.8, refs, 1 - refs)
    widths = []
    for n in (100, 400, 1600):
        low, high = bootstrap_ci("classification", preds[:n].tolist(), refs[:n].tolist(), "accuracy")
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    # Percentile CI of a mean: width ~ 2 * 1.96 * sqrt(p(1-p)/n); quadrupling n halves it.
    assert widths[1] / widths[0] == pytest.approx(0.5, abs=0.12)


def test_bootstrap_matches_normal_approximation_for_a_mean() -> None:
    rng = np.random.default_rng(1)
    refs = rng.normal(size=500)
    preds = refs + rng.normal(size=500)
    low, high = bootstrap_ci("regression", preds.tolist(), refs.tolist(), "mse", n_resamples=2000)
    se = np.std((preds - refs) ** 2) / math.sqrt(500)
    assert (high - low) == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_bootstrap_degenerate_sizes() -> None:
    with pytest.raises(ValueError, match="at least one example"):
        bootstrap_ci("squad", [], [], "f1")
    low, high = bootstrap_ci("squad", ["the big red house"], [["a red house on the hill"]], "f1")
    assert low == high == pytest.approx(4 / 7)
    low, high = bootstrap_ci("generation", GEN_PRED[:1], GEN_REF[:1], "bleu")
    assert low == high == pytest.approx(compute("generation", GEN_PRED[:1], GEN_REF[:1])["bleu"])
