"""The linear probe and LoRA building blocks (harness.adaptation) on a tiny random BERT."""

from __future__ import annotations

import pytest
import torch

from harness.adaptation import (
    LoraSettings,
    adapted_layers,
    adapter_bytes,
    apply_lora,
    freeze_for_probe,
    head_modules,
    merge_lora,
    target_modules,
)
from harness.models import load_model_for_kind
from tasks.errors import ConfigError
from tasks.kinds.base import new_parameter_names
from tests.tiny_models import save_tiny_model


@pytest.fixture()
def classifier(tmp_path):
    """A tiny bare encoder loaded with a new 3-way classification head (as a teacher is)."""
    folder = save_tiny_model(tmp_path / "tiny")
    return load_model_for_kind(str(folder), "AutoModelForSequenceClassification", {"num_labels": 3})


def test_probe_trains_only_the_new_head(classifier):
    trainable = freeze_for_probe(classifier)
    trained = {name for name, p in classifier.named_parameters() if p.requires_grad}
    assert trained == set(new_parameter_names(classifier)) and trained
    assert trainable == 16 * 3 + 3  # hidden 16 -> 3 labels, weights and bias
    inputs = torch.tensor([[101, 2000, 102]])
    loss = torch.nn.functional.cross_entropy(classifier(input_ids=inputs).logits, torch.tensor([1]))
    loss.backward()
    frozen = [p for name, p in classifier.named_parameters() if name not in trained]
    assert all(p.grad is None for p in frozen)


def test_probe_refuses_a_model_without_a_new_head(tmp_path):
    folder = save_tiny_model(tmp_path / "tiny", head="sequence-classification")
    model = load_model_for_kind(str(folder), "AutoModelForSequenceClassification", {})
    with pytest.raises(ConfigError, match="no new task head"):
        freeze_for_probe(model)


def test_lora_default_targets_and_trainable_count(classifier):
    assert head_modules(classifier) == ["classifier"]
    assert target_modules(classifier, None) == ["query", "value"]
    wrapped, trainable = apply_lora(classifier, LoraSettings(rank=2))
    # 2 layers x (query, value) x (A: 2x16 + B: 16x2) plus the fully trained head (16x3 + 3)
    assert trainable == 2 * 2 * (2 * 16 + 16 * 2) + 16 * 3 + 3
    assert adapter_bytes(wrapped) == 2 * 2 * (2 * 16 + 16 * 2) * 4


def test_lora_on_chosen_blocks_adapts_only_those_and_stops_gradients_there(classifier):
    assert adapted_layers(classifier, ["query", "value"]) == [0, 1]
    wrapped, trainable = apply_lora(classifier, LoraSettings(rank=2, layers=(1,)))
    adapted = {name for name, _ in wrapped.named_parameters() if "lora_" in name}
    assert adapted and all(".layer.1." in name for name in adapted)
    assert trainable == 1 * 2 * (2 * 16 + 16 * 2) + 16 * 3 + 3  # one block's query and value, and the head
    loss = wrapped(input_ids=torch.tensor([[101, 2000, 102]])).logits.sum()
    loss.backward()
    # nothing below block 1 needs a gradient, so autograd computes none there (what makes it cheaper)
    assert all(p.grad is None for name, p in wrapped.named_parameters() if ".layer.0." in name)


def test_lora_blocks_the_model_lacks_are_named(classifier):
    with pytest.raises(ConfigError) as error:
        apply_lora(classifier, LoraSettings(rank=2, layers=(1, 5)))
    message = str(error.value)
    assert message.startswith("lora.layers: 5:") and "blocks: 0-1" in message and "\n" not in message


def test_the_wrapped_head_is_what_the_head_learning_rate_applies_to(classifier):
    from harness.train import parameter_groups

    wrapped, _ = apply_lora(classifier, LoraSettings(rank=2))
    head = new_parameter_names(wrapped)
    assert head and all("modules_to_save" in name and "classifier" in name for name in head)
    groups = parameter_groups(wrapped, set(), 0.0, learning_rate=2e-3, new_learning_rate=1e-2)
    rates = {id(param): group["lr"] for group in groups for param in group["params"]}
    named = dict(wrapped.named_parameters())
    assert {rates[id(named[name])] for name in head} == {1e-2}
    lora = [param for name, param in named.items() if "lora_" in name]
    assert lora and {rates[id(param)] for param in lora} == {2e-3}


def test_merged_model_computes_what_the_adapted_one_did(classifier):
    wrapped, _ = apply_lora(classifier, LoraSettings(rank=2, dropout=0.0))
    with torch.no_grad():  # move B away from zero so that merging has something to merge
        for name, param in wrapped.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                param.add_(0.05 * torch.randn_like(param))
    wrapped.eval()
    inputs = torch.tensor([[101, 2000, 2001, 102]])
    with torch.no_grad():
        expected = wrapped(input_ids=inputs).logits
    merged = merge_lora(wrapped).eval()
    assert type(merged).__name__ == "BertForSequenceClassification"
    assert not any("lora" in name for name, _ in merged.named_parameters())
    with torch.no_grad():
        assert torch.allclose(merged(input_ids=inputs).logits, expected, atol=1e-5)
    assert new_parameter_names(merged) == frozenset({"classifier.weight", "classifier.bias"})


def test_unknown_target_modules_name_the_model_layers(classifier):
    with pytest.raises(ConfigError) as error:
        target_modules(classifier, ("q_proj",))
    message = str(error.value)
    assert "lora.target_modules" in message and "q_proj" in message
    assert "query" in message and "dense" in message and "\n" not in message


def test_lora_keys_stay_as_they_were_unless_blocks_are_chosen():
    from harness.stages.adapt import settings_payload
    from tasks.suite_settings import LoraConfig, ProbeConfig

    assert "layers" not in settings_payload(LoraConfig())  # LoRAs cached before lora.layers keep their keys
    assert settings_payload(LoraConfig(layers=[3, 4]))["layers"] == [3, 4]
    assert settings_payload(ProbeConfig()) == ProbeConfig().model_dump(mode="json")
