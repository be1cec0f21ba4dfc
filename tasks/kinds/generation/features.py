"""Generation features: decoder targets from tokenized text, and the collator that pads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tasks.kinds.generation.families import CAUSAL, GenerationSetup

IGNORE_INDEX = -100


def prepare_labels(token_ids: list[list[int]], setup: GenerationSetup, max_new_tokens: int) -> list[list[int]]:
    """Decoder targets: drop a leading decoder-start token, end with the end token, cut to ``max_new_tokens``."""
    labels = []
    for ids in token_ids:
        ids = list(ids)
        if ids and setup.start_id is not None and ids[0] == setup.start_id:
            ids = ids[1:]
        if not ids or ids[-1] != setup.eos_id:
            ids.append(setup.eos_id)
        if len(ids) > max_new_tokens:
            ids = ids[: max_new_tokens - 1] + [setup.eos_id]
        labels.append(ids)
    return labels


def _pad(rows: list[list[int]], value: int) -> np.ndarray:
    width = max(len(r) for r in rows) if rows else 0
    out = np.full((len(rows), width), value, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


@dataclass
class GenerationCollator:
    """Dynamic padding for generation features.

    With ``labels``: encoder-decoders get ``decoder_input_ids`` (start token + labels shifted right) so the
    teacher and the student can run without labels in distillation; causal LMs get ``source + target`` as
    input ids and ``-100`` labels on the source part. Padded label positions are ``-100``.
    """

    setup: GenerationSetup
    return_tensors: str = "pt"

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        inputs = [list(f["input_ids"]) for f in features]
        masks = [list(f["attention_mask"]) if "attention_mask" in f else [1] * len(f["input_ids"]) for f in features]
        batch: dict[str, np.ndarray] = {}
        if "labels" in features[0]:
            labels = [list(f["labels"]) for f in features]
            if self.setup.family == CAUSAL:
                inputs = [source + target for source, target in zip(inputs, labels, strict=True)]
                labels = [[IGNORE_INDEX] * (len(full) - len(target)) + target
                          for full, target in zip(inputs, labels, strict=True)]
                masks = [[1] * len(i) for i in inputs]
            else:
                starts = [[self.setup.start_id] + lab[:-1] for lab in labels]
                batch["decoder_input_ids"] = _pad(starts, self.setup.pad_id)
                # From the lengths, not from the pad id: T5 starts its decoder with the pad token.
                batch["decoder_attention_mask"] = _pad([[1] * len(lab) for lab in labels], 0)
            batch["labels"] = _pad(labels, IGNORE_INDEX)
        batch["input_ids"] = _pad(inputs, self.setup.pad_id)
        batch["attention_mask"] = _pad(masks, 0)
        if self.return_tensors == "pt":
            import torch

            return {k: torch.from_numpy(v) for k, v in batch.items()}
        return batch
