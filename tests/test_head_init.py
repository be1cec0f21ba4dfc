"""A new regression head starts at the training targets' mean (tasks.kinds.base.initialise_output_bias), and
the cache keys of the models trained from it say so, while the other kinds' keys stay as they were."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from harness.models import load_model_for_kind
from harness.stages.train import _TrainingStage
from tasks.kinds import get_kind
from tasks.kinds.base import initialise_output_bias
from tasks.spec import TaskSpec
from tests.tiny_models import save_tiny_model


@pytest.fixture()
def tiny(tmp_path):
    return save_tiny_model(tmp_path / "tiny")


def test_the_regression_head_predicts_the_target_mean_before_training(tiny):
    model = load_model_for_kind(str(tiny), "AutoModelForSequenceClassification",
                                {"num_labels": 1, "problem_type": "regression"})
    name = initialise_output_bias(model, [1.0, 2.0, 4.5])
    assert name == "classifier.bias"
    assert float(model.classifier.bias.detach()) == pytest.approx(2.5)
    with torch.no_grad():
        model.classifier.weight.zero_()  # what is left of a prediction is the bias alone
        out = model(input_ids=torch.tensor([[101, 7, 102]])).logits
    assert float(out) == pytest.approx(2.5)


def test_a_head_without_a_one_element_bias_is_left_alone(tiny):
    model = load_model_for_kind(str(tiny), "AutoModelForSequenceClassification", {"num_labels": 3})
    before = model.classifier.bias.detach().clone()
    assert initialise_output_bias(model, [0, 1, 2]) is None
    assert torch.equal(model.classifier.bias, before)


def _spec(kind: str, labels: list[str] | None) -> TaskSpec:
    columns = {"text": "a", "text_pair": "b", "label": "y"} if kind == "similarity" else {"text": "a", "label": "y"}
    return TaskSpec.model_validate({
        "name": "t", "kind": kind, "data": {"source": "builtin", "generator": "similarity"},
        "columns": columns, "labels": labels, "max_length": 16, "primary_metric": "accuracy" if labels else "pearson",
    })


@pytest.mark.parametrize(("kind", "labels", "expected"), [
    ("similarity", None, "target mean"),  # regression
    ("similarity", ["no", "yes"], None),  # pair classification
    ("classification", ["neg", "pos"], None),
])
def test_only_a_regression_head_is_started_at_the_mean_and_its_key_says_so(kind, labels, expected):
    spec = _spec(kind, labels)
    unit = SimpleNamespace(
        kind=get_kind(kind), spec=spec, data_fingerprint={"train": "f"}, teacher_source="/nowhere",
        options=SimpleNamespace(seed=0, device="cpu"),
    )
    assert unit.kind.head_bias_init(spec) == expected
    payload = _TrainingStage.pretrained_payload(unit)
    assert payload.get("head_bias") == expected
    assert ("head_bias" in payload) == (expected is not None)


@pytest.mark.parametrize(("labels", "target"), [(None, "sentence-regression"), (["no", "yes"], "sentence-class")])
def test_a_pair_classification_is_estimated_against_its_classes(labels, target):
    # MRPC (pair classification) was scored by LogME's regression form, and its H-score left out, as if its
    # labels were similarity scores
    assert get_kind("similarity").estimate_target_of(_spec("similarity", labels)) == target
    assert get_kind("classification").estimate_target_of(_spec("classification", ["a", "b"])) == "sentence-class"
