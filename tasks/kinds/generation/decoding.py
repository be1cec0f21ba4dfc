"""Greedy decoding: the one decoding loop for evaluation, latency and sequence-level KD.

``harness.backends``' generation predictors (PyTorch and ONNX Runtime) and :func:`teacher_generations` all
decode through :func:`greedy_new_tokens`: no sampling, one beam, at most ``max_new_tokens`` tokens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tasks.kinds.generation.families import CAUSAL, GenerationSetup, generation_setup
from tasks.kinds.generation.features import GenerationCollator

if TYPE_CHECKING:
    import datasets

SEQUENCE_KD_BATCH_SIZE = 32


def left_pad(input_ids: np.ndarray, attention_mask: np.ndarray, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Move right padding to the left (decoder-only models continue from the last column)."""
    lengths = attention_mask.sum(axis=1).astype(np.int64)
    ids = np.full_like(input_ids, pad_id)
    mask = np.zeros_like(attention_mask)
    width = input_ids.shape[1]
    for row, length in enumerate(lengths):
        ids[row, width - length :] = input_ids[row, :length]
        mask[row, width - length :] = 1
    return ids, mask


def trim_at_eos(ids: Any, eos_id: int, keep_eos: bool = True) -> list[int]:
    """Token ids up to the first end token (kept when ``keep_eos``); the rest (padding) is dropped."""
    ids = [int(i) for i in ids]
    if eos_id in ids:
        end = ids.index(eos_id)
        return ids[: end + 1] if keep_eos else ids[:end]
    return ids


def greedy_generation_config(model: Any, setup: GenerationSetup, max_new_tokens: int) -> Any:
    """A clean greedy GenerationConfig: the model's special ids, no sampling, beams or penalties."""
    from transformers import GenerationConfig

    old = getattr(model, "generation_config", None)
    return GenerationConfig(
        decoder_start_token_id=setup.start_id,
        bos_token_id=getattr(old, "bos_token_id", None),
        eos_token_id=setup.eos_id,
        pad_token_id=setup.pad_id,
        forced_bos_token_id=getattr(old, "forced_bos_token_id", None),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
    )


def greedy_new_tokens(
    model: Any,
    input_ids: np.ndarray,
    attention_mask: np.ndarray,
    *,
    causal: bool,
    pad_id: int,
    max_new_tokens: int,
    device: Any,
    pass_pad_id: bool = True,
) -> np.ndarray:
    """Decode one batch greedily with ``model.generate``; only the new tokens, int64 ``(batch, steps)``.

    A causal LM reads its prompts left-padded with ``pad_id`` and continues after the last column; an
    encoder-decoder's output starts with the decoder start token, which is dropped. ``pass_pad_id`` also gives
    ``pad_id`` to ``generate`` (a model loaded from a folder); without it the model's own generation config
    decides (a teacher built by the kind carries :func:`greedy_generation_config`).
    """
    import torch

    input_ids = np.asarray(input_ids, dtype=np.int64)
    attention_mask = np.asarray(attention_mask, dtype=np.int64)
    if causal:
        input_ids, attention_mask = left_pad(input_ids, attention_mask, pad_id)
    extra = {"pad_token_id": pad_id} if pass_pad_id else {}
    with torch.inference_mode():
        output = model.generate(
            input_ids=torch.from_numpy(input_ids).to(device),
            attention_mask=torch.from_numpy(attention_mask).to(device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            **extra,
        )
    new = output[:, input_ids.shape[1] :] if causal else output[:, 1:]
    return new.cpu().numpy().astype(np.int64)


def teacher_generations(teacher: Any, tokenizer: Any, features: datasets.Dataset, max_new_tokens: int) -> list[list[int]]:
    """The teacher's greedy output ids for every row of ``features`` (end token included), in order."""
    setup = generation_setup(tokenizer)
    collate = GenerationCollator(setup, return_tensors="np")
    device = next(teacher.parameters()).device
    was_training = teacher.training
    teacher.eval()
    lengths = np.array([len(ids) for ids in features["input_ids"]])
    order = np.argsort(lengths, kind="stable")
    result: list[list[int] | None] = [None] * len(features)
    try:
        for start in range(0, len(order), SEQUENCE_KD_BATCH_SIZE):
            indices = order[start : start + SEQUENCE_KD_BATCH_SIZE].tolist()
            rows = features.select(indices)
            batch = collate([{"input_ids": r["input_ids"], "attention_mask": r["attention_mask"]} for r in rows])
            new = greedy_new_tokens(
                teacher, batch["input_ids"], batch["attention_mask"], causal=setup.family == CAUSAL,
                pad_id=setup.pad_id, max_new_tokens=max_new_tokens, device=device, pass_pad_id=False,
            )
            for row, index in enumerate(indices):
                tokens = trim_at_eos(new[row].tolist(), setup.eos_id)
                result[index] = tokens or [setup.eos_id]
    finally:
        teacher.train(was_training)
    return result  # type: ignore[return-value]
