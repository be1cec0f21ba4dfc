"""The generation kind: labels, KD terms, students, ONNX parity, metrics, and one end-to-end run.

Models are tiny (hidden size 32, 2-4 layers) with the packaged MiniLM tokenizer, so that everything except
the end-to-end run (marked slow, the packaged MiniLM warm-started as BERT2BERT) takes seconds.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from harness.backends import (
    OnnxGenerationPredictor,
    TorchGenerationPredictor,
    generation_family,
    load_predictor,
)
from harness.evaluation import evaluate_predictor, parity
from harness.export import copy_side_files, export_onnx, quantize_dynamic_int8
from harness.models import DEFAULT_TEACHER, resolve_model_source
from harness.train import fine_tune
from tasks.data import load_splits
from tasks.kinds.generation import (
    CAUSAL,
    WARM_START,
    GenerationCollator,
    GenerationSetup,
    generation_setup,
    left_pad,
    model_family,
    prepare_labels,
    token_kd_terms,
)
from tasks.spec import parse_task

TINY = {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64, "vocab_size": 30522}


def make_spec(**overrides):
    data = {
        "name": "tiny-gen",
        "kind": "generation",
        "data": {"source": "builtin", "generator": "generation", "train_size": 160, "eval_size": 24, "seed": 1},
        "columns": {"source": "source", "target": "target"},
        "max_length": 48,
        "max_new_tokens": 10,
        "primary_metric": "rougeL",
        "training": {"epochs": 4, "learning_rate": 1.0e-2, "batch_size": 16, "warmup_ratio": 0.0},
    }
    data.update(overrides)
    return parse_task(data)


@pytest.fixture(scope="module")
def kind():
    from tasks.kinds.generation import GenerationKind

    return GenerationKind()


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model_source(DEFAULT_TEACHER))


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory, tokenizer):
    """A tiny 4-layer BERT encoder with the MiniLM tokenizer: an encoder-only source to warm-start from."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-bert")
    BertModel(BertConfig(num_hidden_layers=4, **TINY)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory, kind, tiny_bert_dir):
    """A tiny BERT2BERT warm-started from ``tiny_bert_dir`` and fine-tuned for a few steps through the kind."""
    from transformers import AutoTokenizer

    spec = make_spec()
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    raw = load_splits(spec)
    train = kind.prepare_split(spec, raw.train, "train", is_train=True)
    evaluation = kind.prepare_split(spec, raw.eval, "eval", is_train=False)
    model = kind.build_model(str(tiny_bert_dir), spec)
    root = tmp_path_factory.mktemp("trained")
    torch.manual_seed(0)
    cost = fine_tune(model, kind, tokenizer, kind.tokenize(spec, tokenizer, train), spec.training, root / "work", 0,
                     progress=False)
    folder = root / "pytorch"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return {"spec": spec, "model": model.eval(), "dir": folder, "tokenizer": tokenizer, "train": train,
            "eval": evaluation, "eval_features": kind.tokenize(spec, tokenizer, evaluation), "cost": cost}


# -- labels and collation ---------------------------------------------------------------------------------
def test_labels_have_no_leading_cls_and_padding_is_ignored(kind, tokenizer):
    spec = make_spec()
    import datasets

    split = kind.prepare_split(spec, datasets.Dataset.from_dict(
        {"source": ["the budget meeting moved to friday .", "hi"], "target": ["budget meeting moved to friday", "hi"]}
    ), "mem", is_train=True)
    features = kind.tokenize(spec, tokenizer, split)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    labels = features["labels"]
    assert all(row[0] != cls and row[-1] == sep for row in labels)
    assert tokenizer.decode(labels[0], skip_special_tokens=True) == "budget meeting moved to friday"
    assert "token_type_ids" not in features.column_names  # encoder inputs only: what ONNX exports take

    batch = kind.collator(tokenizer, return_tensors="np")([features[0], features[1]])
    assert batch["labels"].shape == batch["decoder_input_ids"].shape
    short = len(labels[1])
    assert (batch["labels"][1, short:] == -100).all() and (batch["labels"][1, :short] != -100).all()
    # The decoder reads [CLS] + labels shifted right: the start token is supplied once, by the collator.
    assert batch["decoder_input_ids"][0, 0] == cls
    assert (batch["decoder_input_ids"][0, 1 : len(labels[0])] == np.asarray(labels[0][:-1])).all()
    assert (batch["attention_mask"][1, len(features[1]["input_ids"]):] == 0).all()


def test_long_targets_are_cut_to_the_decoding_budget_and_keep_the_end_token():
    setup = GenerationSetup(family=WARM_START, start_id=101, eos_id=102, pad_id=0)
    assert prepare_labels([[101, 5, 6, 7, 8, 102]], setup, max_new_tokens=3) == [[5, 6, 102]]
    assert prepare_labels([[5, 6]], setup, max_new_tokens=8) == [[5, 6, 102]]  # T5-like: no start token to drop


def test_causal_collator_puts_target_after_prompt_and_ignores_the_prompt():
    setup = GenerationSetup(family=CAUSAL, start_id=None, eos_id=9, pad_id=0)
    collate = GenerationCollator(setup, return_tensors="np")
    batch = collate([{"input_ids": [1, 2, 9], "attention_mask": [1, 1, 1], "labels": [4, 9]},
                     {"input_ids": [3, 9], "attention_mask": [1, 1], "labels": [5, 6, 9]}])
    assert batch["input_ids"].tolist() == [[1, 2, 9, 4, 9], [3, 9, 5, 6, 9]]
    assert batch["labels"].tolist() == [[-100, -100, -100, 4, 9], [-100, -100, 5, 6, 9]]
    assert "decoder_input_ids" not in batch
    ids, mask = left_pad(np.array([[3, 9, 0, 0], [1, 2, 3, 9]]), np.array([[1, 1, 0, 0], [1, 1, 1, 1]]), pad_id=0)
    assert ids.tolist() == [[0, 0, 3, 9], [1, 2, 3, 9]] and mask.tolist() == [[0, 0, 1, 1], [1, 1, 1, 1]]


# -- distillation terms -----------------------------------------------------------------------------------
def test_kd_kl_covers_real_target_tokens_only():
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 3, 5), torch.randn(2, 3, 5)
    labels = torch.tensor([[1, 2, -100], [3, -100, -100]])
    terms = token_kd_terms(student, teacher, labels, temperature=2.0)
    # By hand: mean over the 3 real tokens of T^2 * KL(teacher_T || student_T).
    expected = []
    for b, t in ((0, 0), (0, 1), (1, 0)):
        p = torch.softmax(teacher[b, t] / 2, -1)
        q = torch.log_softmax(student[b, t] / 2, -1)
        expected.append(float((p * (p.log() - q)).sum()) * 4)
    assert terms["kd_kl"].item() == pytest.approx(np.mean(expected), rel=1e-5)
    ce = np.mean([-float(torch.log_softmax(student[b, t], -1)[labels[b, t]]) for b, t in ((0, 0), (0, 1), (1, 0))])
    assert terms["hard_ce"].item() == pytest.approx(ce, rel=1e-5)
    # Padded positions change nothing, whatever the logits there.
    student2, teacher2 = student.clone(), teacher.clone()
    student2[0, 2] += 100.0
    teacher2[1, 1:] -= 50.0
    again = token_kd_terms(student2, teacher2, labels, temperature=2.0)
    assert again["kd_kl"].item() == pytest.approx(terms["kd_kl"].item(), rel=1e-6)
    assert again["hard_ce"].item() == pytest.approx(terms["hard_ce"].item(), rel=1e-6)
    # A student equal to its teacher on the real tokens has zero KL.
    same = teacher.clone()
    same[0, 2] = 7.0
    assert token_kd_terms(same, teacher, labels, temperature=2.0)["kd_kl"].item() == pytest.approx(0.0, abs=1e-6)


def test_causal_kd_terms_are_shifted():
    torch.manual_seed(1)
    student, teacher = torch.randn(1, 4, 6), torch.randn(1, 4, 6)
    labels = torch.tensor([[-100, -100, 2, 3]])  # prompt of 2 tokens, target [2, 3]
    shifted = token_kd_terms(student, teacher, labels, temperature=1.0, shift=True)
    # Logits at positions 1 and 2 predict the target tokens at positions 2 and 3.
    direct = token_kd_terms(student[:, 1:3], teacher[:, 1:3], torch.tensor([[2, 3]]), temperature=1.0)
    assert shifted["kd_kl"].item() == pytest.approx(direct["kd_kl"].item(), rel=1e-6)
    assert shifted["hard_ce"].item() == pytest.approx(direct["hard_ce"].item(), rel=1e-6)


def test_default_weights_and_sequence_mode(kind):
    assert kind.distillation_weights(make_spec()) == {"hard_ce": 0.2, "kd_kl": 0.8}
    sequence = make_spec(distillation={"kd_mode": "sequence"})
    assert kind.distillation_weights(sequence) == {"hard_ce": 1.0}
    both = make_spec(distillation={"kd_mode": "sequence", "weights": {"hard_ce": 0.5, "kd_kl": 0.5}})
    assert kind.distillation_weights(both) == {"hard_ce": 0.5, "kd_kl": 0.5}
    assert kind.temperature(make_spec().distillation) == 2.0
    assert kind.temperature(make_spec(distillation={"temperature": 4.0}).distillation) == 4.0


# -- families, students, export tasks ---------------------------------------------------------------------
def test_family_and_export_task_follow_the_config(kind):
    from transformers import BertConfig, EncoderDecoderConfig, GPT2Config, T5Config

    bert = BertConfig(**TINY)
    assert model_family(bert) == WARM_START
    assert model_family(BertConfig(architectures=["BertModel"], **TINY)) == WARM_START
    assert model_family(GPT2Config()) == CAUSAL
    assert model_family(GPT2Config(architectures=["GPT2LMHeadModel"])) == CAUSAL
    b2b = EncoderDecoderConfig.from_encoder_decoder_configs(bert, BertConfig(**TINY))
    spec = make_spec()

    class Holder:
        def __init__(self, config):
            self.config = config

    assert kind.onnx_export_task(spec, Holder(b2b)) == "text2text-generation"
    assert kind.onnx_export_task(spec, Holder(T5Config())) == "text2text-generation-with-past"
    assert kind.onnx_export_task(spec, Holder(GPT2Config())) == "text-generation-with-past"


def test_bert2bert_student_keeps_the_chosen_layers(kind, tiny_bert_dir, tmp_path):
    teacher = kind.build_model(str(tiny_bert_dir), make_spec())
    assert teacher.config.decoder_start_token_id == 101 and teacher.config.eos_token_id == 102
    assert teacher.config.decoder.add_cross_attention and teacher.config.decoder.is_decoder
    student = kind.build_student(teacher, [0, 3])
    assert len(student.encoder.encoder.layer) == 2 and len(student.decoder.bert.encoder.layer) == 2
    assert student.config.encoder.num_hidden_layers == 2 and student.config.decoder.num_hidden_layers == 2
    t_state, s_state = teacher.state_dict(), student.state_dict()
    for new, old in ((0, 0), (1, 3)):
        for prefix in ("encoder.encoder.layer", "decoder.bert.encoder.layer"):
            for suffix in ("attention.self.query.weight", "output.dense.weight"):
                assert torch.equal(s_state[f"{prefix}.{new}.{suffix}"], t_state[f"{prefix}.{old}.{suffix}"])
        cross = f"decoder.bert.encoder.layer.{new}.crossattention.self.key.weight"
        assert torch.equal(s_state[cross], t_state[cross.replace(f".{new}.", f".{old}.")])
    for name in ("encoder.embeddings.word_embeddings.weight", "decoder.bert.embeddings.word_embeddings.weight",
                 "decoder.cls.predictions.transform.dense.weight", "decoder.cls.predictions.bias"):
        assert torch.equal(s_state[name], t_state[name])
    assert [layer.attention.self.layer_idx for layer in student.decoder.bert.encoder.layer] == [0, 1]
    # The teacher is untouched, and the student decodes (KV cache sized for 2 layers) and reloads.
    assert len(teacher.decoder.bert.encoder.layer) == 4
    ids = torch.tensor([[101, 7592, 2045, 102]])
    out = student.eval().generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=3)
    assert out.shape[1] <= 4
    student.save_pretrained(tmp_path)
    from transformers import EncoderDecoderModel

    reloaded = EncoderDecoderModel.from_pretrained(tmp_path)
    assert len(reloaded.decoder.bert.encoder.layer) == 2


def test_causal_student_renumbers_layers_for_the_cache(kind):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    teacher = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_positions=32, n_embd=16, n_layer=3, n_head=2))
    student = kind.build_student(teacher, [0, 2])
    assert student.config.n_layer == 2 and [b.attn.layer_idx for b in student.transformer.h] == [0, 1]
    assert torch.equal(student.transformer.h[1].attn.c_attn.weight, teacher.transformer.h[2].attn.c_attn.weight)
    ids = torch.randint(1, 64, (2, 5))
    student.train()(input_ids=ids, labels=ids).loss.backward()  # the cache is built during training too
    student.eval().generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=3, pad_token_id=0)


# -- training, ONNX parity, int8 --------------------------------------------------------------------------
def test_teacher_learns_and_onnx_generation_is_token_identical(kind, trained, tmp_path):
    spec, tokenizer = trained["spec"], trained["tokenizer"]
    assert trained["cost"].final_loss < 4.0  # from ~10.3 (uniform over 30522 tokens)
    task = kind.onnx_export_task(spec, trained["dir"])
    assert task == "text2text-generation"
    onnx_dir = tmp_path / "onnx"
    main = export_onnx(trained["dir"], onnx_dir, task)
    copy_side_files(trained["dir"], onnx_dir)
    assert main.name == "encoder_model.onnx" and (onnx_dir / "decoder_model.onnx").is_file()
    assert generation_family(onnx_dir) == "seq2seq" and generation_family(trained["dir"]) == "seq2seq"

    torch_predictor = load_predictor(trained["dir"], "pytorch", threads=1)
    onnx_predictor = load_predictor(onnx_dir, "onnx", threads=1)
    assert isinstance(torch_predictor, TorchGenerationPredictor)
    assert isinstance(onnx_predictor, OnnxGenerationPredictor)
    evals = {}
    for name, predictor in (("pytorch", torch_predictor), ("onnx", onnx_predictor)):
        evals[name] = evaluate_predictor(spec, kind, predictor, trained["eval_features"], trained["eval"],
                                         tokenizer, resamples=50)
    ref, onnx = evals["pytorch"], evals["onnx"]
    np.testing.assert_array_equal(ref.output.raw_outputs["sequences"], onnx.output.raw_outputs["sequences"])
    assert ref.output.raw_outputs["sequences"].shape == (24, spec.max_new_tokens)
    assert any(p for p in ref.output.predictions), "the tiny teacher should generate something"
    check = parity(ref, onnx, kind, tolerance=0.0)
    assert check["passed"] and check["prediction_agreement"] == 1.0
    assert check["max_abs_diff"]["sequences"] == 0.0
    assert onnx_predictor.last_generated_tokens is not None and onnx_predictor.last_generated_tokens <= 10

    int8_dir = tmp_path / "int8"
    quantize_dynamic_int8(onnx_dir, int8_dir, cpu_flags=[])
    assert sorted(p.name for p in int8_dir.glob("*.onnx")) == ["decoder_model.onnx", "encoder_model.onnx"]
    int8 = evaluate_predictor(spec, kind, load_predictor(int8_dir, "onnx-int8", threads=1),
                              trained["eval_features"], trained["eval"], tokenizer, resamples=50)
    assert int8.output.raw_outputs["sequences"].shape == ref.output.raw_outputs["sequences"].shape
    assert 0.0 <= int8.score <= 1.0


def test_gpt2_onnx_generation_with_past_is_token_identical(kind, tokenizer, tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=30522, n_positions=96, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    source_dir = tmp_path / "gpt2-source"
    GPT2LMHeadModel(config).save_pretrained(source_dir)
    tokenizer.save_pretrained(source_dir)
    spec = make_spec(training={"epochs": 2, "learning_rate": 3.0e-3, "batch_size": 16, "warmup_ratio": 0.0})
    from transformers import AutoTokenizer

    gpt_tokenizer = AutoTokenizer.from_pretrained(source_dir)
    assert generation_setup(gpt_tokenizer).family == CAUSAL
    raw = load_splits(spec)
    train = kind.prepare_split(spec, raw.train, "train", is_train=True)
    evaluation = kind.prepare_split(spec, raw.eval, "eval", is_train=False)
    model = kind.build_model(str(source_dir), spec)
    features = kind.tokenize(spec, gpt_tokenizer, train)
    fine_tune(model, kind, gpt_tokenizer, features, spec.training, tmp_path / "work", 0, progress=False)
    trained_dir = tmp_path / "gpt2"
    model.save_pretrained(trained_dir)
    gpt_tokenizer.save_pretrained(trained_dir)
    assert kind.onnx_export_task(spec, trained_dir) == "text-generation-with-past"
    export_onnx(trained_dir, tmp_path / "onnx", "text-generation-with-past")
    copy_side_files(trained_dir, tmp_path / "onnx")
    eval_features = kind.tokenize(spec, gpt_tokenizer, evaluation)
    outputs = [
        evaluate_predictor(spec, kind, load_predictor(folder, fmt, threads=1), eval_features, evaluation,
                           gpt_tokenizer, resamples=20).output
        for folder, fmt in ((trained_dir, "pytorch"), (tmp_path / "onnx", "onnx"))
    ]
    np.testing.assert_array_equal(outputs[0].raw_outputs["sequences"], outputs[1].raw_outputs["sequences"])
    assert outputs[0].predictions == outputs[1].predictions


def test_sequence_kd_replaces_targets_by_teacher_outputs(kind, trained):
    spec = make_spec(distillation={"kd_mode": "sequence"})
    features = trained["eval_features"]
    replaced = kind.distillation_features(spec, trained["model"], trained["tokenizer"], trained["eval"], features)
    torch_predictor = load_predictor(trained["dir"], "pytorch", threads=1)
    generated = kind.evaluate(spec, torch_predictor, features, trained["eval"], trained["tokenizer"])
    sep = trained["tokenizer"].sep_token_id
    for labels, row in zip(replaced["labels"], generated.raw_outputs["sequences"], strict=True):
        assert labels[-1] == sep or len(labels) == spec.max_new_tokens
        assert labels == [int(t) for t in row[: len(labels)]]
    assert replaced["input_ids"] == features["input_ids"]
    assert kind.distillation_features(make_spec(), trained["model"], trained["tokenizer"], trained["eval"],
                                      features) is features


# -- metrics through the kind -----------------------------------------------------------------------------
class EchoPredictor:
    """Returns fixed token ids per source (looked up by input ids), like a model that generated them."""

    fmt = "pytorch"
    input_names = ["input_ids", "attention_mask"]

    def __init__(self, table: dict[tuple[int, ...], list[int]], pad_id: int):
        self.table, self.pad_id = table, pad_id

    def forward(self, batch):
        rows = []
        for ids, mask in zip(batch["input_ids"], batch["attention_mask"], strict=True):
            rows.append(self.table[tuple(int(i) for i, m in zip(ids, mask, strict=True) if m)])
        width = max(len(r) for r in rows)
        return {"sequences": np.array([r + [self.pad_id] * (width - len(r)) for r in rows], dtype=np.int64)}


def test_metric_values_through_the_kind_with_several_references(kind, tokenizer):
    import datasets

    spec = make_spec(primary_metric="rouge1")
    split = datasets.Dataset.from_dict({
        "source": ["please confirm the meeting on monday", "the lunch is moved to friday"],
        "target": ["Original subject A", "lunch moved to friday"],
        "references": [["meeting confirmation", "confirm monday meeting", "meeting"], ["lunch moved to friday"]],
    })
    raw = kind.prepare_split(spec, split, "mem", is_train=False)
    assert raw["references"][0] == ["meeting confirmation", "confirm monday meeting", "meeting"]
    features = kind.tokenize(spec, tokenizer, raw)
    outputs = ["confirm monday meeting", "lunch moved to friday"]
    table = {}
    for ids, text in zip(features["input_ids"], outputs, strict=True):
        table[tuple(ids)] = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.sep_token_id]
    result = evaluate_predictor(spec, kind, EchoPredictor(table, tokenizer.pad_token_id), features, raw, tokenizer,
                                resamples=100)
    assert result.output.predictions == outputs
    # Each output equals one of its references: every score is perfect, and the CI is the point.
    assert result.metrics["rouge1"] == pytest.approx(1.0) and result.metrics["rougeL"] == pytest.approx(1.0)
    assert result.metrics["bleu"] == pytest.approx(100.0) and result.metrics["chrf"] == pytest.approx(100.0)
    assert result.score_ci == [pytest.approx(1.0), pytest.approx(1.0)]
    assert kind.agreement(outputs, ["confirm monday meeting", "lunch moved"]) == 0.5
    # Against the original subject only (no references column), the first output scores 0 on rouge1.
    plain = kind.prepare_split(spec, split.remove_columns("references"), "mem", is_train=False)
    assert plain["references"] == [["Original subject A"], ["lunch moved to friday"]]
    again = evaluate_predictor(spec, kind, EchoPredictor(table, tokenizer.pad_token_id), features, plain, tokenizer,
                               resamples=100)
    assert again.metrics["rouge1"] == pytest.approx(0.5)


def test_prepare_split_names_bad_rows(kind):
    import datasets

    from tasks.errors import DataError

    spec = make_spec()
    with pytest.raises(DataError, match="row 1: column 'source'"):
        kind.prepare_split(spec, datasets.Dataset.from_dict({"source": ["a", " "], "target": ["b", "c"]}), "f.jsonl",
                           is_train=True)
    with pytest.raises(DataError, match="column 'target'"):
        kind.prepare_split(spec, datasets.Dataset.from_dict({"source": ["a"]}), "f.jsonl", is_train=True)


# -- end to end -------------------------------------------------------------------------------------------
TASK = """
name: tiny-gen
kind: generation
data: {source: builtin, generator: generation, train_size: 960, eval_size: 40, seed: 5}
columns: {source: source, target: target}
max_length: 48
max_new_tokens: 12
primary_metric: rougeL
training: {epochs: 1, learning_rate: 3.0e-4, batch_size: 16}
distillation: {epochs: 0.34, learning_rate: 3.0e-4, temperature: 2.0}
"""

SUITE = """
name: tiny
tasks: [{task}]
students: ["layers=3"]
formats: [pytorch, onnx, onnx-int8]
measure: {{batch_sizes: [1, 4], warmup: 1, min_iterations: 3, min_seconds: 0.1, threads: 1}}
"""


@pytest.mark.slow
def test_end_to_end_generation_run(tmp_path):
    from harness.cli import main

    task = tmp_path / "tiny-gen.yaml"
    task.write_text(TASK)
    suite = tmp_path / "tiny.yaml"
    suite.write_text(SUITE.format(task=task))
    out = tmp_path / "run"
    # A private stage cache: a model cached by another run (or older code) must not stand in for this one.
    argv = ["run", "--suite", str(suite), "--out", str(out), "--quiet", "--bootstrap", "100",
            "--cache-dir", str(tmp_path / "cache")]
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    records = {(r["role"], r["format"]): r for r in results["records"]}
    assert set(records) == {("teacher", "pytorch"), ("teacher", "onnx"), ("student", "pytorch"),
                            ("student", "onnx"), ("student", "onnx-int8")}
    for (role, fmt), record in records.items():
        assert record["kind"] == "generation"
        if fmt == "onnx-int8" and record["status"] == "failed":
            # A failed int8 must say why: the metric drop beyond the export tolerance.
            assert "after export to onnx-int8" in record["status_reason"]
        else:
            assert record["status"] == "ok", (role, fmt, record.get("status_reason"))
        low, high = record["score_ci"]
        assert low <= record["score"] <= high
        assert set(record["metrics"]) >= {"rouge1", "rouge2", "rougeL", "bleu", "chrf"}
        for key in ("batch_1", "batch_4"):
            block = record["latency_ms"][key]
            assert 0 < block["p50"] <= block["p99"] and block["n"] >= 3
            assert block["generated_tokens"] >= 1 and math.isfinite(block["ms_per_token"])
    teacher, onnx = records[("teacher", "pytorch")], records[("teacher", "onnx")]
    # Copying the e-mail as its own subject line is the baseline to beat (rougeL about 0.45).
    from tasks.builtin.generation import generate
    from tasks.metrics.generation import generation_scores

    rows = generate(960, 40, seed=5)["validation"]
    copy = generation_scores([r["source"] for r in rows], [[r["target"]] for r in rows])["rougeL"]
    assert teacher["score"] > copy + 0.05, (teacher["score"], copy)
    assert onnx["parity"]["prediction_agreement"] == 1.0 and onnx["score"] == teacher["score"]
    assert records[("student", "pytorch")]["params"] < teacher["params"]
    assert records[("student", "pytorch")]["teacher_agreement"] is not None


def test_decoder_only_families_are_told_apart_from_encoders():
    from transformers import BertConfig, GPT2Config, LlamaConfig, MPNetConfig, RobertaConfig, T5Config

    from harness.models import is_decoder_only

    assert is_decoder_only(LlamaConfig()) and is_decoder_only(GPT2Config())
    # BERT and RoBERTa have causal-LM heads too, but are masked-LM encoders; T5 is an encoder-decoder
    assert not any(is_decoder_only(c) for c in (BertConfig(), RobertaConfig(), MPNetConfig(), T5Config()))
