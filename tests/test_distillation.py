"""Knowledge-distillation loss terms and layer-subset students."""

import math

import pytest
import torch

from harness.models import build_layer_student, spread_layers
from harness.students import parse_student
from tasks.errors import ConfigError
from tasks.kinds.losses import hard_ce, kd_kl


def test_kd_kl_matches_hand_computed_value():
    student = torch.tensor([[1.0, 0.0]])
    teacher = torch.tensor([[0.0, 2.0]])
    temperature = 2.0
    # By hand: p = softmax(teacher / T) = softmax([0, 1]); q = softmax(student / T) = softmax([0.5, 0]).
    p1 = 1 / (1 + math.exp(-1))
    p = [1 - p1, p1]
    q0 = 1 / (1 + math.exp(-0.5))
    q = [q0, 1 - q0]
    kl = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    expected = kl * temperature**2
    assert kd_kl(student, teacher, temperature).item() == pytest.approx(expected, rel=1e-6)


def test_kd_kl_is_zero_for_identical_logits_and_averages_rows():
    logits = torch.tensor([[0.3, -1.2, 2.0], [1.0, 1.0, 1.0]])
    assert kd_kl(logits, logits, 3.0).item() == pytest.approx(0.0, abs=1e-7)
    one = kd_kl(logits[:1], logits[1:], 3.0)
    both = kd_kl(torch.cat([logits[:1], logits[:1]]), torch.cat([logits[1:], logits[1:]]), 3.0)
    assert both.item() == pytest.approx(one.item(), rel=1e-6)


def test_hard_ce_ignores_padding_labels():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    labels = torch.tensor([0, -100])
    expected = -math.log(math.exp(2) / (math.exp(2) + 1))
    assert hard_ce(logits, labels).item() == pytest.approx(expected, rel=1e-6)


def test_spread_layers_is_distilbert_every_other_layer():
    assert spread_layers(6, 3) == [0, 2, 4]
    assert spread_layers(12, 6) == [0, 2, 4, 6, 8, 10]
    assert spread_layers(6, 6) == list(range(6))
    with pytest.raises(ConfigError):
        spread_layers(3, 6)


@pytest.mark.parametrize(
    "text,expected",
    [("layers=3", (None, 3, None)), ("layers=4,0,2", ((0, 2, 4), None, None)), ("model=org/x", (None, None, "org/x"))],
)
def test_parse_student(text, expected):
    spec = parse_student(text)
    assert (spec.layers, spec.layer_count, spec.model) == expected


@pytest.mark.parametrize("text", ["layers", "layers=", "layers=a", "layers=0", "layers=1,1", "depth=3"])
def test_parse_student_rejects(text):
    with pytest.raises(ConfigError):
        parse_student(text)


def test_layer_student_copies_chosen_layers_and_runs():
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=6, num_attention_heads=2, intermediate_size=32)
    teacher = BertForSequenceClassification(config).eval()
    student = build_layer_student(teacher, [0, 2, 4]).eval()
    assert student.config.num_hidden_layers == 3
    assert len(student.bert.encoder.layer) == 3
    for s_index, t_index in enumerate([0, 2, 4]):
        s_weight = student.bert.encoder.layer[s_index].attention.self.query.weight
        t_weight = teacher.bert.encoder.layer[t_index].attention.self.query.weight
        assert torch.equal(s_weight, t_weight)
        assert s_weight.data_ptr() != t_weight.data_ptr()  # a copy, not shared storage
    assert len(teacher.bert.encoder.layer) == 6  # the teacher is untouched
    ids = torch.tensor([[1, 5, 7, 2]])
    assert student(input_ids=ids).logits.shape == (1, 2)
