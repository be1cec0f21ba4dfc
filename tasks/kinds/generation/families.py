"""Which family a generation model belongs to, and the special token ids it generates with.

One copy of the family test for the whole project: :func:`declared_family` reads a transformers config or a
``config.json`` mapping, and ``harness.backends.generation_family`` uses it to tell a model folder apart.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tasks.errors import ModelError

log = logging.getLogger("reusebench")

WARM_START, SEQ2SEQ, CAUSAL = "warm-start", "seq2seq", "causal"
CAUSAL_ARCHITECTURE_SUFFIXES = ("ForCausalLM", "LMHeadModel")


def _field(config: Any, name: str) -> Any:
    return config.get(name) if isinstance(config, Mapping) else getattr(config, name, None)


def declared_family(config: Any) -> str | None:
    """``seq2seq`` or ``causal`` when the config says so, else None.

    ``config`` is a transformers config or a ``config.json`` mapping. Seq2seq: ``is_encoder_decoder``
    (BERT2BERT, T5, BART); causal: a ``*ForCausalLM`` / ``*LMHeadModel`` architecture (GPT-2 and the like).
    """
    if _field(config, "is_encoder_decoder"):
        return SEQ2SEQ
    if any(str(name).endswith(CAUSAL_ARCHITECTURE_SUFFIXES) for name in _field(config, "architectures") or []):
        return CAUSAL
    return None


def model_family(config: Any) -> str:
    """``seq2seq``, ``causal`` or ``warm-start`` (encoder-only checkpoint) for a transformers config."""
    family = declared_family(config)
    if family is not None:
        return family
    if not getattr(config, "architectures", None):
        from transformers.models.auto.modeling_auto import (
            MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
            MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        )

        model_type = getattr(config, "model_type", "")
        if model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
            return CAUSAL
    return WARM_START


@lru_cache(maxsize=32)
def source_config(source: str) -> Any | None:
    """The transformers config of a model folder or Hub id (remote code off), or None when unreadable."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(source, trust_remote_code=False)
    except (OSError, ValueError, KeyError):
        return None


@dataclass(frozen=True)
class GenerationSetup:
    """The family of the model a tokenizer belongs to, and the special token ids generation uses."""

    family: str
    start_id: int | None  # decoder start (None for causal LMs)
    eos_id: int
    pad_id: int


def _first_id(*candidates: int | None) -> int | None:
    return next((c for c in candidates if c is not None), None)


def _text_config(config: Any) -> Any:
    # A saved BERT2BERT keeps its token ids on the top-level config; others may nest a decoder config.
    return config if getattr(config, "eos_token_id", None) is not None else getattr(config, "decoder", config)


def generation_setup(tokenizer: Any, config: Any | None = None) -> GenerationSetup:
    """The family and special ids for ``tokenizer``'s model (read from ``config`` or the tokenizer's folder).

    The tokenizer is the one the runner loads from the teacher source, so its ``name_or_path`` names the
    teacher's config. A tokenizer without a pad token gets its end token as pad (GPT-2).
    """
    if config is None:
        config = source_config(str(tokenizer.name_or_path))
        if config is None:
            log.warning("generation: cannot read the config of %s; assuming an encoder-only checkpoint",
                        tokenizer.name_or_path)
    family = model_family(config) if config is not None else WARM_START
    if family == WARM_START:
        start = _first_id(tokenizer.cls_token_id, tokenizer.bos_token_id)
        eos = _first_id(tokenizer.sep_token_id, tokenizer.eos_token_id)
    else:
        generation = _text_config(config)
        start = _first_id(getattr(config, "decoder_start_token_id", None), tokenizer.cls_token_id,
                          tokenizer.bos_token_id) if family == SEQ2SEQ else None
        eos = _first_id(getattr(generation, "eos_token_id", None), tokenizer.eos_token_id, tokenizer.sep_token_id)
    if isinstance(eos, list):
        eos = eos[0]
    if eos is None or (family != CAUSAL and start is None):
        raise ModelError(f"{tokenizer.name_or_path}: the tokenizer has no start/end tokens to generate with")
    # The tokenizer declares the model's end (and pad) token: the Trainer aligns the model config with the
    # tokenizer's special tokens, and a BERT tokenizer has no eos_token (it would set eos_token_id to None).
    if tokenizer.eos_token_id is None:
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(eos)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.convert_ids_to_tokens(eos)
    return GenerationSetup(family=family, start_id=start, eos_id=int(eos), pad_id=int(tokenizer.pad_token_id))
