"""Generation teachers and students: build a teacher of each family, cut a student from it.

A ``warm-start`` teacher is an encoder-only checkpoint turned into a BERT2BERT encoder-decoder (Rothe et al.
2020); ``seq2seq`` and ``causal`` teachers load with their own heads. Students keep a subset of the
teacher's layers: the same layers of the encoder and of the decoder, evenly spread over a decoder of
another depth (:func:`tasks.kinds.layers.spread_layers`).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from tasks.errors import ConfigError, ModelError
from tasks.kinds.base import mark_new_parameters
from tasks.kinds.generation.decoding import greedy_generation_config
from tasks.kinds.generation.families import (
    CAUSAL,
    SEQ2SEQ,
    WARM_START,
    generation_setup,
    model_family,
    source_config,
)
from tasks.kinds.layers import keep_layers, spread_layers

if TYPE_CHECKING:
    from tasks.spec import TaskSpec

#: Name parts of the parameters a BERT2BERT warm start initialises from scratch.
WARM_START_NEW_PARAMETERS = (".crossattention.", "decoder.cls.predictions.")
#: T5-like model types keep their relative position bias in layer 0 only.
T5_MODEL_TYPES = ("t5", "mt5", "umt5", "longt5")


def _load_family(source: str, family: str) -> Any:
    """Load ``source`` as a ``family`` model (remote code off); one-line :class:`ModelError` on failure."""
    import transformers
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized cross-attention" warnings are expected
    try:
        if family == WARM_START:
            return transformers.EncoderDecoderModel.from_encoder_decoder_pretrained(source, source)
        if family == SEQ2SEQ:
            return transformers.AutoModelForSeq2SeqLM.from_pretrained(source, trust_remote_code=False)
        return transformers.AutoModelForCausalLM.from_pretrained(source, trust_remote_code=False)
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{source}: cannot load as a {family} generation model: {first}") from None
    finally:
        hf_logging.set_verbosity(verbosity)


def check_warm_start(source: str, config: Any) -> None:
    """An encoder-only checkpoint becomes a BERT2BERT decoder only when transformers has a causal-LM form of
    its architecture (with cross-attention): BERT, RoBERTa, ELECTRA have one; MPNet, DistilBERT do not."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    model_type = getattr(config, "model_type", "?")
    if model_family(config) == WARM_START and model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise ModelError(
            f"{source}: a {model_type!r} encoder cannot be warm-started as a generation model (transformers has "
            "no causal-LM form of it to decode with); generation needs an encoder-decoder, a decoder-only LM or "
            "an encoder with a causal-LM form (BERT, RoBERTa, ELECTRA...)"
        )


def _check_causal_positions(model: Any, spec: TaskSpec, source: str) -> None:
    """A causal LM reads source and target together: both must fit its position embeddings."""
    positions = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
    if positions and spec.max_length + spec.max_new_tokens > positions:
        raise ConfigError(
            f"task {spec.name!r}: max_length + max_new_tokens = {spec.max_length + spec.max_new_tokens} "
            f"exceeds the {positions} positions of {source} (a causal LM reads source and target together)"
        )


def build_teacher(source: str, spec: TaskSpec) -> Any:
    """The teacher for ``source``: its family's model with the tokenizer's special ids and greedy decoding."""
    import transformers

    config = source_config(source)
    if config is None:
        raise ModelError(f"{source}: cannot read its config.json")
    family = model_family(config)
    tokenizer = transformers.AutoTokenizer.from_pretrained(source)
    model = _load_family(source, family)
    if family == CAUSAL:
        _check_causal_positions(model, spec, source)
    setup = generation_setup(tokenizer, model.config if family != WARM_START else config)
    if family != CAUSAL:
        model.config.decoder_start_token_id = setup.start_id
    model.config.eos_token_id = setup.eos_id
    model.config.pad_token_id = setup.pad_id
    if family == WARM_START:
        model.config.vocab_size = model.config.decoder.vocab_size
        # What the warm start adds to an encoder checkpoint: the decoder's cross-attention, and its LM-head
        # transform (counted as new even for a checkpoint that has an MLM head, e.g. bert-base-uncased).
        mark_new_parameters(
            model, [n for n, _ in model.named_parameters() if any(m in n for m in WARM_START_NEW_PARAMETERS)]
        )
    model.generation_config = greedy_generation_config(model, setup, spec.max_new_tokens)
    return model


def _decoder_layers(layers: list[int], encoder_total: int, decoder_total: int) -> list[int]:
    """The decoder's kept layers: the encoder's when the depths match, else as many spread over the decoder."""
    if decoder_total == encoder_total:
        return layers
    return spread_layers(decoder_total, min(len(layers), decoder_total))


def build_student(teacher: Any, layers: list[int]) -> Any:
    """A copy of ``teacher`` keeping ``layers`` (of the encoder and the decoder, or of a decoder-only stack)."""
    config = teacher.config
    student = copy.deepcopy(teacher)
    if config.model_type == "encoder-decoder":
        # BERT2BERT: the same layers of the encoder and of the decoder (each decoder layer keeps its
        # cross-attention); embeddings and the LM head are copied with the rest.
        encoder_total = config.encoder.num_hidden_layers
        decoder_total = config.decoder.num_hidden_layers
        decoder_layers = _decoder_layers(layers, encoder_total, decoder_total)
        for sub, total, kept in ((student.encoder, encoder_total, layers),
                                 (student.decoder, decoder_total, decoder_layers)):
            keep_layers(sub, total, kept)
            sub.config.num_hidden_layers = len(kept)
        student.config.encoder.num_hidden_layers = len(layers)
        student.config.decoder.num_hidden_layers = len(decoder_layers)
        return student
    if config.is_encoder_decoder:
        return _cut_native_seq2seq(student, layers)
    # Decoder-only: the harness' generic cutter would keep the attention modules' old layer_idx,
    # which breaks the KV cache of the student; keep_layers renumbers them.
    keep_layers(student, config.num_hidden_layers, layers)
    student.config.num_hidden_layers = len(layers)
    return student


def _cut_native_seq2seq(student: Any, layers: list[int]) -> Any:
    """T5/BART-like: cut encoder and decoder stacks (the decoder's spread when its depth differs)."""
    config = student.config
    encoder_total = config.num_hidden_layers
    decoder_total = getattr(config, "num_decoder_layers", None) or getattr(config, "decoder_layers", None)
    decoder_total = decoder_total or encoder_total
    if config.model_type in T5_MODEL_TYPES and 0 not in layers:
        raise ConfigError(f"student layers {layers}: T5 keeps its relative position bias in layer 0; keep it")
    decoder_layers = _decoder_layers(layers, encoder_total, decoder_total)
    keep_layers(student.get_encoder(), encoder_total, layers)
    keep_layers(student.get_decoder(), decoder_total, decoder_layers)
    for attribute in ("num_layers", "encoder_layers", "num_hidden_layers"):
        if hasattr(config, attribute):
            setattr(config, attribute, len(layers))
    for attribute in ("num_decoder_layers", "decoder_layers"):
        if hasattr(config, attribute):
            setattr(config, attribute, len(decoder_layers))
    return student


def onnx_export_task(model: Any) -> str:
    """The optimum export task for a generation model (or a folder/Hub id naming one)."""
    config = getattr(model, "config", None) or source_config(str(model))
    if config is None:
        raise ModelError(f"{model}: cannot read its config to choose the ONNX export task")
    if config.model_type == "encoder-decoder":
        return "text2text-generation"  # optimum: a BERT decoder has no past key values to export
    if config.is_encoder_decoder:
        return "text2text-generation-with-past"
    return "text-generation-with-past"
