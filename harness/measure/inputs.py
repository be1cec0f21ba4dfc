"""The inputs latency is measured on: real eval examples, batched per measured batch size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.measure.isolated import save_inputs

INPUT_COLUMNS = ("input_ids", "attention_mask", "token_type_ids")


def write_measurement_inputs(unit: Any, folder: Path) -> Path:
    """Real eval inputs for each batch size of the suite: the first B eval examples, padded to their
    longest (or to ``measure.seq_len``), cycling when the split is smaller than B; saved to ``folder``."""
    collator = unit.kind.collator(unit.tokenizer, return_tensors="np")
    seq_len = unit.suite.measure.seq_len
    features = unit.eval_features
    columns = [c for c in INPUT_COLUMNS if c in features.column_names]
    batches = {}
    for batch_size in unit.suite.measure.batch_sizes:
        indices = [i % len(features) for i in range(batch_size)]
        rows = features.select(indices)
        examples = [{c: rows[i][c] for c in columns} for i in range(batch_size)]
        if seq_len:
            padded = unit.tokenizer.pad(examples, padding="max_length", max_length=seq_len, return_tensors="np")
        else:
            padded = collator(examples)
        batches[batch_size] = {c: np.asarray(padded[c], dtype=np.int64) for c in columns}
    folder.mkdir(parents=True, exist_ok=True)
    return save_inputs(folder / "measure_inputs.npz", batches)
