"""Batched inference over a tokenized eval split, shared by the encoder task kinds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import datasets

    from tasks.kinds.predictor import Predictor

EVAL_BATCH_SIZE = 64
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def forward_in_batches(
    predictor: Predictor,
    features: datasets.Dataset,
    collator: Any,
    batch_size: int = EVAL_BATCH_SIZE,
    token_outputs: tuple[str, ...] = (),
) -> list[dict[str, np.ndarray]]:
    """Run ``predictor`` over ``features`` and return one dict of outputs per example, in order.

    Examples are batched in order of length so that padding is small; each output row is returned
    unpadded along the sequence axis for the outputs named in ``token_outputs`` (token-level heads).
    """
    lengths = np.array([len(ids) for ids in features["input_ids"]])
    order = np.argsort(lengths, kind="stable")
    columns = [c for c in MODEL_INPUTS if c in features.column_names]
    per_example: list[dict[str, np.ndarray] | None] = [None] * len(features)
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        rows = features.select(indices.tolist())
        batch = collator([{c: rows[i][c] for c in columns} for i in range(len(rows))])
        batch = {k: np.asarray(v, dtype=np.int64) for k, v in batch.items() if k in columns}
        outputs = predictor.forward(batch)
        for row, index in enumerate(indices):
            true_len = int(lengths[index])
            per_example[index] = {
                name: (value[row, :true_len] if name in token_outputs else value[row])
                for name, value in outputs.items()
            }
    return per_example  # type: ignore[return-value]
