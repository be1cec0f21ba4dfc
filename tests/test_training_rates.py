"""training.new_parameters_learning_rate: which parameters count as new, and the optimizer it builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.models import load_model_for_kind
from harness.train import _make_two_rate_trainer_class, parameter_groups
from tasks.kinds import get_kind
from tasks.kinds.base import mark_new_parameters, new_parameter_names
from tasks.spec import parse_task
from tests.tiny_models import save_tiny_model


@pytest.fixture(scope="module")
def bare_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("bare") / "model")


def test_a_new_classification_head_is_marked_new(bare_encoder):
    model = load_model_for_kind(str(bare_encoder), "AutoModelForSequenceClassification", {"num_labels": 3})
    # The bare checkpoint has the encoder and the pooler, not the classifier.
    assert new_parameter_names(model) == {"classifier.weight", "classifier.bias"}


def test_a_checkpoint_with_its_head_has_nothing_new(tmp_path):
    folder = save_tiny_model(tmp_path / "with-head", head="sequence-classification")
    model = load_model_for_kind(str(folder), "AutoModelForSequenceClassification", {"num_labels": 2})
    assert new_parameter_names(model) == frozenset()


def test_a_bert2bert_warm_start_marks_cross_attention_and_lm_head_transform(bare_encoder):
    spec = parse_task(
        {
            "name": "gen",
            "kind": "generation",
            "data": {"source": "local", "path": "d", "train": "t.jsonl", "eval": "e.jsonl"},
            "max_length": 32,
            "primary_metric": "rouge1",
        }
    )
    model = get_kind("generation").build_model(str(bare_encoder), spec)
    new = new_parameter_names(model)
    layers = 2  # the tiny model's
    assert sum(".crossattention." in name for name in new) == layers * 10  # q, k, v, output dense, LayerNorm
    assert {n for n in new if "cls.predictions" in n} == {
        "decoder.cls.predictions.bias",
        "decoder.cls.predictions.transform.dense.weight",
        "decoder.cls.predictions.transform.dense.bias",
        "decoder.cls.predictions.transform.LayerNorm.weight",
        "decoder.cls.predictions.transform.LayerNorm.bias",
    }
    assert not any(name.startswith("encoder.") for name in new)
    assert not any(".attention.self." in name and ".crossattention." not in name for name in new)


def test_parameter_groups_cross_new_and_decayed(bare_encoder):
    model = load_model_for_kind(str(bare_encoder), "AutoModelForSequenceClassification", {"num_labels": 2})
    decay = {n for n, _ in model.named_parameters() if not n.endswith("bias") and "LayerNorm" not in n}
    groups = parameter_groups(model, decay, weight_decay=0.01, learning_rate=1e-5, new_learning_rate=1e-3)
    by_id = {id(p): n for n, p in model.named_parameters()}
    named = [({by_id[id(p)] for p in g["params"]}, g["lr"], g["weight_decay"]) for g in groups]
    assert ({"classifier.weight"}, 1e-3, 0.01) in named
    assert ({"classifier.bias"}, 1e-3, 0.0) in named
    old = [names for names, lr, _ in named if lr == 1e-5]
    assert set().union(*old) == {n for n, _ in model.named_parameters()} - {"classifier.weight", "classifier.bias"}
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))  # each parameter once


def test_the_two_rate_trainer_builds_its_optimizer_from_the_groups(bare_encoder, tmp_path):
    from transformers import TrainingArguments

    model = load_model_for_kind(str(bare_encoder), "AutoModelForSequenceClassification", {"num_labels": 2})
    args = TrainingArguments(output_dir=str(tmp_path), learning_rate=2e-5, weight_decay=0.01, report_to=[])
    trainer = _make_two_rate_trainer_class(4e-4)(model=model, args=args)
    optimizer = trainer.create_optimizer()
    rates = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    parameters = dict(model.named_parameters())
    assert rates[id(parameters["classifier.weight"])] == 4e-4
    assert rates[id(parameters["bert.encoder.layer.0.attention.self.query.weight"])] == 2e-5


def test_marks_name_only_real_parameters(bare_encoder):
    model = load_model_for_kind(str(bare_encoder), "AutoModelForSequenceClassification", {"num_labels": 2})
    mark_new_parameters(model, ["classifier.weight", "not.a.parameter"])
    assert new_parameter_names(model) == {"classifier.weight"}
