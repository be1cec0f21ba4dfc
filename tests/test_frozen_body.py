"""The frozen body of a linear probe (harness.frozen_body): it runs once per input, in eval mode, and hands
the head exactly what the pretrained body computes; the model gets its own body back afterwards."""

from __future__ import annotations

import pytest
import torch

from harness.frozen_body import frozen_body
from harness.models import load_model_for_kind
from harness.teacher_memo import TeacherMemo
from tests.test_teacher_memo import batch
from tests.tiny_models import save_tiny_model


@pytest.fixture()
def classifier(tmp_path):
    """A tiny bare encoder (dropout 0.1 in its body) with a new 2-way classification head."""
    folder = save_tiny_model(tmp_path / "tiny")
    return load_model_for_kind(str(folder), "AutoModelForSequenceClassification", {"num_labels": 2})


def _reference(model, inputs):
    """What the pretrained body computes for ``inputs`` in eval mode."""
    model.eval()
    with torch.no_grad():
        return model.bert(**inputs)


def test_the_body_runs_once_per_input_in_eval_mode_and_hands_back_its_outputs(classifier):
    first = batch([[101, 7, 8, 102], [101, 9, 102]], width=5)
    reordered = batch([[101, 9, 102], [101, 7, 8, 102]], width=4)
    expected = _reference(classifier, reordered)
    body = classifier.bert
    with frozen_body(classifier) as frozen:
        classifier.train()  # what the Trainer does every step: the body must stay in eval mode (no dropout)
        assert not body.training and classifier.classifier.training
        classifier(**first)
        got = frozen(**reordered)  # the same two inputs in another order and padding: from the memo
        assert frozen.batches_run == 1 and frozen.tokens_run == 7
        assert isinstance(got, type(expected))
        mask = reordered["attention_mask"].bool()
        assert torch.allclose(got.pooler_output, expected.pooler_output, atol=1e-6)
        assert torch.allclose(got.last_hidden_state[mask], expected.last_hidden_state[mask], atol=1e-6)
        assert torch.equal(got.last_hidden_state[~mask], torch.zeros_like(got.last_hidden_state[~mask]))
        pooled = frozen(**reordered, return_dict=False)[1]  # what BERT's heads index
        assert torch.allclose(pooled, expected.pooler_output, atol=1e-6)
        new = batch([[101, 5, 102]], width=3)
        frozen(**new)  # an input it has not seen: the body runs
        assert frozen.batches_run == 2
    assert classifier.bert is body  # restored: the saved model has its own parameter names
    assert all(not name.startswith("bert.body.") for name in classifier.state_dict())


def test_the_head_trains_on_the_kept_outputs_and_gradients_stay_in_the_head(classifier):
    inputs = batch([[101, 7, 8, 102], [101, 9, 102]], width=4)
    labels = torch.tensor([0, 1])
    for param in classifier.bert.parameters():
        param.requires_grad = False
    with frozen_body(classifier) as frozen:
        for _ in range(3):
            loss = classifier(**inputs, labels=labels).loss
            loss.backward()
        assert frozen.batches_run == 1
    assert classifier.classifier.weight.grad is not None
    assert all(p.grad is None for p in classifier.bert.parameters())


def test_what_the_memo_cannot_key_on_runs_the_body_every_time(classifier):
    inputs = batch([[101, 7, 102]], width=3)
    with frozen_body(classifier) as frozen:
        frozen(**inputs)
        frozen(**inputs, output_hidden_states=True)  # asks for more than the memo keeps
        assert frozen.batches_run == 2


def test_a_model_without_a_body_to_freeze_is_refused():
    with pytest.raises(ValueError, match="no pretrained body under base_model_prefix"):
        with frozen_body(torch.nn.Linear(2, 2)):
            pass


def test_the_memo_keeps_per_token_and_per_example_fields_side_by_side():
    memo = TeacherMemo(("hidden", "pooled"), per_token=(True, False))
    inputs = batch([[4, 5, 6], [7]], width=3)
    hidden = torch.arange(2 * 3 * 2, dtype=torch.float).reshape(2, 3, 2)
    pooled = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    memo.store(inputs, type("Out", (), {"hidden": hidden, "pooled": pooled})())
    again = batch([[7], [4, 5, 6]], width=4)
    got = memo.lookup(again)
    assert torch.equal(got.pooled, pooled.flip(0))
    assert torch.equal(got.hidden[1, :3], hidden[0]) and torch.equal(got.hidden[0, 0], hidden[1, 0])
    assert torch.equal(got.hidden[0, 1:], torch.zeros(3, 2))
    with pytest.raises(ValueError, match="2 fields but 1 per-token flags"):
        TeacherMemo(("a", "b"), per_token=(True,))
