"""Frozen features of a pretrained model on a task's training split: what transferability estimates score.

The pretrained encoder (``AutoModel``, no task head, safetensors) runs once over up to :data:`MAX_EXAMPLES`
training examples. What is kept follows the kind's ``estimate_target``:

- ``sentence-class`` / ``sentence-regression``: the mean of the last hidden states over the real tokens
  (the pooling the sentence-transformers checkpoints were trained with), one row per example;
- ``token-class``: one row per labelled token (sub-tokens the kind ignores, label -100, are left out);
- ``span``: one row per real token, labelled 1 at the answer's start, 2 at its end (the end wins when they
  coincide) and 0 elsewhere: span extraction as the token classification its start and end heads perform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: Training examples the estimates read (the first ones of the tokenized split, in its seeded order).
MAX_EXAMPLES = 1000
#: Token rows kept for the token-level targets (enough for LogME's SVD to settle; seconds on 2 cores).
MAX_TOKENS = 30_000


@dataclass
class FrozenFeatures:
    """Feature rows, their targets, and where they came from."""

    features: np.ndarray
    labels: np.ndarray
    target: str
    examples: int

    @property
    def regression(self) -> bool:
        """True when the targets are real numbers (LogME's regression form)."""
        return self.target == "sentence-regression"


def _batches(
    features: Any, collator: Any, input_names: list[str], label_keys: tuple[str, ...], batch_size: int = 32
) -> Any:
    # only what the model and the targets read: a kind's own columns (NER's word ids) do not collate
    keep = {*input_names, *label_keys}
    rows = [{k: v for k, v in features[i].items() if k in keep} for i in range(min(len(features), MAX_EXAMPLES))]
    for start in range(0, len(rows), batch_size):
        batch = collator(rows[start : start + batch_size])
        yield {k: v for k, v in batch.items() if k not in label_keys}, {k: batch[k] for k in label_keys if k in batch}


def _rows(target: str, hidden: Any, mask: Any, labels: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The feature rows and targets of one batch."""
    hidden, mask = hidden.float().numpy(), mask.numpy().astype(bool)
    if target.startswith("sentence"):
        pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return pooled, labels["labels"].numpy()
    if target == "token-class":
        token_labels = labels["labels"].numpy()
        keep = token_labels != -100
        return hidden[keep], token_labels[keep]
    token_labels = np.zeros(mask.shape, dtype=np.int64)
    rows = np.arange(mask.shape[0])
    token_labels[rows, labels["start_positions"].numpy()] = 1
    token_labels[rows, labels["end_positions"].numpy()] = 2
    return hidden[mask], token_labels[mask]


def frozen_features(
    source: str,
    target: str,
    features: Any,
    collator: Any,
    label_keys: tuple[str, ...],
    input_names: list[str],
    *,
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
) -> FrozenFeatures:
    """Run the pretrained encoder at ``source`` over the tokenized ``features`` and keep the rows ``target`` asks for."""
    import torch

    from harness.models import load_model_for_kind

    model = load_model_for_kind(
        source, "AutoModel", {}, trust_remote_code=trust_remote_code, allow_pickle=allow_pickle
    ).eval()
    xs, ys, examples = [], [], 0
    with torch.no_grad():
        for inputs, labels in _batches(features, collator, input_names, label_keys):
            hidden = model(**inputs).last_hidden_state
            x, y = _rows(target, hidden, inputs["attention_mask"], labels)
            xs.append(x)
            ys.append(y)
            examples += len(inputs["input_ids"])
            if not target.startswith("sentence") and sum(len(part) for part in xs) >= MAX_TOKENS:
                break
    return FrozenFeatures(np.concatenate(xs)[:MAX_TOKENS], np.concatenate(ys)[:MAX_TOKENS], target, examples)
