"""Text-to-text generation: e-mail subject lines (built-in, AESLC), short-sentence translation (Multi30k).

**Teacher.** :meth:`GenerationKind.build_model` reads the source's config and picks one of three families:

* ``warm-start`` -- an encoder-only checkpoint (the packaged MiniLM, any BERT-like model) becomes an encoder-decoder
  whose encoder *and* decoder start from that checkpoint, the decoder with new cross-attention (BERT2BERT, Rothe,
  Narayan & Severyn 2020, "Leveraging Pre-trained Checkpoints for Sequence Generation Tasks", TACL 8). The decoder
  starts from ``[CLS]`` and stops at ``[SEP]``; ``[PAD]`` pads (their BERT2BERT set-up).
* ``seq2seq`` -- a model whose config says ``is_encoder_decoder`` (T5, BART, Marian, a saved BERT2BERT) is loaded
  with ``AutoModelForSeq2SeqLM`` and keeps its own start, end and pad tokens.
* ``causal`` -- a decoder-only language model (GPT-2 and the like) reads ``source + separator`` and continues with
  the target; the loss covers the target tokens only. The separator is the end-of-text token (added after the
  source unless the tokenizer already ends it with one), so no task-specific prompt words are needed.

**Labels.** Targets are tokenized as the tokenizer does it and the first token is dropped when it equals the
decoder start token: a BERT2BERT target would otherwise read ``[CLS] [CLS] subject``, the decoder learns to emit
``[CLS]`` first, and generation returns empty strings (the pitfall recorded in the stack probe). Targets end with
the end token and are cut to ``max_new_tokens`` (end token included), the decoding budget at evaluation.

**Distillation** (``distillation.kd_mode``):

* ``word`` (default) -- word-level KD (Kim & Rush 2016, "Sequence-Level Knowledge Distillation", EMNLP): the
  student matches the teacher's next-token distribution at every real target position (padding excluded) under
  teacher forcing on the gold prefix. Terms ``hard_ce`` (cross-entropy to the gold tokens) and ``kd_kl``
  (``T^2 * KL(teacher_T || student_T)`` averaged over target tokens). Default weights 0.2 / 0.8 and temperature
  2.0: the defaults of the Hugging Face seq2seq distillation recipe used for DistilBART (Shleifer & Rush 2020,
  "Pre-trained Summarization Distillation"; ``examples/research_projects/seq2seq-distillation/distillation.py``:
  ``alpha_mlm=0.2``, ``alpha_ce=0.8``, ``temperature=2.0``, KL over non-pad decoder positions). The temperature
  is 2.0 unless the task file sets ``distillation.temperature`` itself (the field's 3.0 default is the
  classification recipe's).
* ``sequence`` -- sequence-level KD (Kim & Rush 2016): every training target is replaced by the
  teacher's own greedy output for that source and the student is trained on it with ``hard_ce`` only (default
  weight 1.0; add ``kd_kl`` in ``distillation.weights`` for their combined variant). Kim & Rush decode the
  teacher with beam search; greedy here keeps the cost at one greedy pass over the training set.

**Inference.** Greedy decoding (no sampling, one beam, no length or repetition penalties) for at most
``max_new_tokens`` tokens, stored in the model folder's ``generation_config.json`` so that every format and the
latency worker decode the same way. Predictors return ``{"sequences": new token ids}`` (see
:mod:`harness.backends`); raw outputs are those ids padded to ``max_new_tokens``, so identical generations give
a parity difference of exactly 0 and ``agreement`` is exact match of the decoded strings.

**Export.** BERT2BERT exports as ``text2text-generation`` (an encoder file and a decoder file without a KV cache:
optimum refuses ``-with-past`` for a BERT decoder); T5/BART as ``text2text-generation-with-past``; causal LMs as
``text-generation-with-past``. ONNX Runtime greedy decoding is token-identical to PyTorch (tested). Without a KV
cache every ONNX decoding step re-runs the decoder over the whole prefix and re-projects the encoder states for
cross-attention, while PyTorch caches both: on the 2-core AVX2 box ONNX is faster at batch 1 (built-in task,
teacher: 61 vs 87 ms for 6 tokens) but about 2x slower at batch 32 (1385 vs 680 ms), and the gap grows with the
output length (Multi30k, 24 tokens: 7.3 s vs 1.6 s).

**int8.** Every ``.onnx`` file of the folder (encoder and decoder) is quantized dynamically (weights and
activations u8 on CPUs without VNNI). On the 2-core AMD EPYC (AVX2, no VNNI) the int8 BERT2BERT decoder works: on
the built-in task the 3-layer student keeps rougeL 0.756 vs 0.763 in fp32 (76 % of the strings identical), at
31 vs 43 ms (ONNX fp32) per e-mail and 37 vs 146 MB. Whether it keeps the metric is still checked per run by
the harness' parity gate: status ``failed`` with the drop when the primary metric falls by more than the
suite's ``export_tolerance`` (on Multi30k after 300 examples BLEU fell from 0.33 to 0.28 and int8 was marked
failed; note that the tolerance is in the metric's own units, and BLEU and chrF run 0-100).

**Metrics.** ``generation`` (ROUGE-1/2/L F 0-1, sacrebleu BLEU and chrF 0-100) on the decoded strings (special
tokens skipped) against the ``references`` list column when the split has one (AESLC validation: three human
subject lines), else against the ``target`` column.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from tasks.errors import ConfigError, DataError, ModelError
from tasks.kinds.base import EvalOutput, TaskKind, mark_new_parameters
from tasks.kinds.batching import forward_in_batches
from tasks.kinds.classification import require_columns

if TYPE_CHECKING:
    import datasets
    import torch

    from harness.backends import Predictor
    from tasks.spec import DistillationConfig, TaskSpec

log = logging.getLogger("reusebench")

WARM_START, SEQ2SEQ, CAUSAL = "warm-start", "seq2seq", "causal"
#: Name parts of the parameters a BERT2BERT warm start initialises from scratch.
WARM_START_NEW_PARAMETERS = (".crossattention.", "decoder.cls.predictions.")
CAUSAL_ARCHITECTURE_SUFFIXES = ("ForCausalLM", "LMHeadModel")
METRIC_KEYS = ("rouge1", "rouge2", "rougeL", "bleu", "chrf")
# Shleifer & Rush 2020 (DistilBART), seq2seq-distillation/distillation.py: temperature = 2.0.
WORD_KD_TEMPERATURE = 2.0
SEQUENCE_KD_BATCH_SIZE = 32
IGNORE_INDEX = -100


def model_family(config: Any) -> str:
    """``seq2seq``, ``causal`` or ``warm-start`` (encoder-only checkpoint) for a transformers config."""
    if getattr(config, "is_encoder_decoder", False):
        return SEQ2SEQ
    architectures = getattr(config, "architectures", None) or []
    if any(name.endswith(CAUSAL_ARCHITECTURE_SUFFIXES) for name in architectures):
        return CAUSAL
    if not architectures:
        from transformers.models.auto.modeling_auto import (
            MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
            MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        )

        model_type = getattr(config, "model_type", "")
        if model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
            return CAUSAL
    return WARM_START


@lru_cache(maxsize=32)
def _source_config(source: str) -> Any | None:
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


def generation_setup(tokenizer: Any, config: Any | None = None) -> GenerationSetup:
    """The family and special ids for ``tokenizer``'s model (read from ``config`` or the tokenizer's folder).

    The tokenizer is the one the runner loads from the teacher source, so its ``name_or_path`` names the
    teacher's config. A tokenizer without a pad token gets its end token as pad (GPT-2).
    """
    if config is None:
        config = _source_config(str(tokenizer.name_or_path))
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


def _text_config(config: Any) -> Any:
    # A saved BERT2BERT keeps its token ids on the top-level config; others may nest a decoder config.
    return config if getattr(config, "eos_token_id", None) is not None else getattr(config, "decoder", config)


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


def token_kd_terms(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    shift: bool = False,
) -> dict[str, torch.Tensor]:
    """``hard_ce`` and ``kd_kl`` over the real target tokens (``labels != -100``).

    ``shift`` is for causal LMs, whose logits at position t predict token t + 1.
    """
    from tasks.kinds.losses import hard_ce, kd_kl

    if shift:
        student_logits, teacher_logits, labels = student_logits[:, :-1], teacher_logits[:, :-1], labels[:, 1:]
    mask = labels != IGNORE_INDEX
    terms = {"hard_ce": hard_ce(student_logits, labels, ignore_index=IGNORE_INDEX)}
    if not bool(mask.any()):
        terms["kd_kl"] = student_logits.sum() * 0.0
    else:
        terms["kd_kl"] = kd_kl(student_logits[mask], teacher_logits[mask].detach(), temperature)
    return terms


def _layer_stack(module: Any, count: int) -> tuple[Any, str, Any]:
    """The ModuleList of ``count`` transformer layers inside ``module``: (parent, attribute, list)."""
    import torch

    for name, child in module.named_modules():
        if isinstance(child, torch.nn.ModuleList) and len(child) == count and name:
            *parents, leaf = name.split(".")
            parent = module
            for part in parents:
                parent = getattr(parent, part)
            return parent, leaf, child
    raise ModelError(f"{type(module).__name__}: cannot find its {count} transformer layers to build a student")


def keep_layers(module: Any, count: int, layers: list[int]) -> None:
    """Keep ``layers`` of the ``count``-layer stack inside ``module`` (in place), renumbering ``layer_idx``.

    The renumbering matters for generation: KV caches are built for the student's layer count and indexed
    by each attention module's ``layer_idx`` (a kept layer 4 of 3 would be out of range).
    """
    import torch

    if max(layers) >= count:
        raise ConfigError(f"student layers {layers}: the teacher stack has only {count} layers")
    parent, leaf, stack = _layer_stack(module, count)
    kept = torch.nn.ModuleList([stack[i] for i in layers])
    for new_index, layer in enumerate(kept):
        for sub in layer.modules():
            if hasattr(sub, "layer_idx"):
                sub.layer_idx = new_index
    setattr(parent, leaf, kept)


def _spread(total: int, keep: int) -> list[int]:
    keep = min(keep, total)
    return [int(i * total / keep) for i in range(keep)]


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


class GenerationKind(TaskKind):
    """Sequence-to-sequence generation with greedy decoding; word- or sequence-level KD."""

    name = "generation"
    auto_class = "AutoModelForSeq2SeqLM"  # only used for 'model=' students; teachers go through build_model
    onnx_task = "text2text-generation"
    loss_terms = ("hard_ce", "kd_kl")
    # Shleifer & Rush 2020 (DistilBART recipe): alpha_mlm (hard CE) 0.2, alpha_ce (soft KL) 0.8.
    default_weights = {"hard_ce": 0.2, "kd_kl": 0.8}
    # Kim & Rush 2016, sequence-level KD: plain NLL on the teacher's outputs.
    sequence_kd_weights = {"hard_ce": 1.0}

    # -- model ------------------------------------------------------------------------------
    def build_model(self, source: str, spec: TaskSpec) -> Any:
        import transformers
        from transformers.utils import logging as hf_logging

        config = _source_config(source)
        if config is None:
            raise ModelError(f"{source}: cannot read its config.json")
        family = model_family(config)
        tokenizer = transformers.AutoTokenizer.from_pretrained(source)
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # "newly initialized cross-attention" warnings are expected
        try:
            if family == WARM_START:
                model = transformers.EncoderDecoderModel.from_encoder_decoder_pretrained(source, source)
            elif family == SEQ2SEQ:
                model = transformers.AutoModelForSeq2SeqLM.from_pretrained(source, trust_remote_code=False)
            else:
                model = transformers.AutoModelForCausalLM.from_pretrained(source, trust_remote_code=False)
        except (OSError, ValueError, KeyError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{source}: cannot load as a {family} generation model: {first}") from None
        finally:
            hf_logging.set_verbosity(verbosity)
        if family == CAUSAL:
            positions = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
            if positions and spec.max_length + spec.max_new_tokens > positions:
                raise ConfigError(
                    f"task {spec.name!r}: max_length + max_new_tokens = {spec.max_length + spec.max_new_tokens} "
                    f"exceeds the {positions} positions of {source} (a causal LM reads source and target together)"
                )
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

    def build_student(self, teacher: Any, layers: list[int]) -> Any:
        config = teacher.config
        student = copy.deepcopy(teacher)
        if config.model_type == "encoder-decoder":
            # BERT2BERT: the same layers of the encoder and of the decoder (each decoder layer keeps its
            # cross-attention); embeddings and the LM head are copied with the rest.
            encoder_total = config.encoder.num_hidden_layers
            decoder_total = config.decoder.num_hidden_layers
            decoder_layers = layers if decoder_total == encoder_total else _spread(decoder_total, len(layers))
            for sub, total, kept in ((student.encoder, encoder_total, layers),
                                     (student.decoder, decoder_total, decoder_layers)):
                keep_layers(sub, total, kept)
                sub.config.num_hidden_layers = len(kept)
            student.config.encoder.num_hidden_layers = len(layers)
            student.config.decoder.num_hidden_layers = len(decoder_layers)
            return student
        if config.is_encoder_decoder:
            return self._cut_native_seq2seq(student, layers)
        # Decoder-only: the harness' generic cutter would keep the attention modules' old layer_idx,
        # which breaks the KV cache of the student; keep_layers renumbers them.
        keep_layers(student, config.num_hidden_layers, layers)
        student.config.num_hidden_layers = len(layers)
        return student

    @staticmethod
    def _cut_native_seq2seq(student: Any, layers: list[int]) -> Any:
        """T5/BART-like: cut encoder and decoder stacks (the decoder's spread when its depth differs)."""
        config = student.config
        encoder_total = config.num_hidden_layers
        decoder_total = getattr(config, "num_decoder_layers", None) or getattr(config, "decoder_layers", None)
        decoder_total = decoder_total or encoder_total
        if config.model_type in ("t5", "mt5", "umt5", "longt5") and 0 not in layers:
            raise ConfigError(f"student layers {layers}: T5 keeps its relative position bias in layer 0; keep it")
        decoder_layers = layers if decoder_total == encoder_total else _spread(decoder_total, len(layers))
        keep_layers(student.get_encoder(), encoder_total, layers)
        keep_layers(student.get_decoder(), decoder_total, decoder_layers)
        for attribute in ("num_layers", "encoder_layers", "num_hidden_layers"):
            if hasattr(config, attribute):
                setattr(config, attribute, len(layers))
        for attribute in ("num_decoder_layers", "decoder_layers"):
            if hasattr(config, attribute):
                setattr(config, attribute, len(decoder_layers))
        return student

    def onnx_export_task(self, spec: TaskSpec, model: Any) -> str:
        config = getattr(model, "config", None) or _source_config(str(model))
        if config is None:
            raise ModelError(f"{model}: cannot read its config to choose the ONNX export task")
        if config.model_type == "encoder-decoder":
            return "text2text-generation"  # optimum: a BERT decoder has no past key values to export
        if config.is_encoder_decoder:
            return "text2text-generation-with-past"
        return "text-generation-with-past"

    def model_kwargs(self, spec: TaskSpec) -> dict[str, Any]:
        return {}

    # -- data -------------------------------------------------------------------------------
    def prepare_split(self, spec: TaskSpec, split: datasets.Dataset, origin: str, is_train: bool) -> datasets.Dataset:
        import datasets as hf_datasets

        source_col = spec.columns.get("source", "source")
        target_col = spec.columns.get("target", "target")
        references_col = spec.columns.get("references", "references")
        has_references = not is_train and references_col in split.column_names
        require_columns(split, spec.columns, ("source",) if has_references else ("source", "target"), origin)
        sources = split[source_col]
        targets = split[target_col] if target_col in split.column_names else None
        references = split[references_col] if has_references else None
        for i, text in enumerate(sources):
            if not isinstance(text, str) or not text.strip():
                raise DataError(f"{origin}: row {i}: column {source_col!r} must be non-empty text, got {text!r}")
        if targets is not None:
            for i, text in enumerate(targets):
                if not isinstance(text, str):
                    raise DataError(f"{origin}: row {i}: column {target_col!r} must be text, got {text!r}")
        rows_refs: list[list[str]] = []
        for i in range(len(sources)):
            refs = references[i] if references is not None else None
            if refs is not None and (isinstance(refs, str) or not all(isinstance(r, str) for r in refs)):
                raise DataError(f"{origin}: row {i}: column {references_col!r} must be a list of strings, got {refs!r}")
            refs = [r for r in (refs or []) if r.strip()]
            if not refs:
                if targets is None or not targets[i].strip():
                    raise DataError(f"{origin}: row {i}: no non-empty target or reference to score against")
                refs = [targets[i]]
            rows_refs.append(refs)
        target_texts = list(targets) if targets is not None else [refs[0] for refs in rows_refs]
        return hf_datasets.Dataset.from_dict(
            {"source": list(sources), "target": target_texts, "references": rows_refs}
        )

    def tokenize(self, spec: TaskSpec, tokenizer: Any, split: datasets.Dataset) -> datasets.Dataset:
        setup = generation_setup(tokenizer)

        def encode(batch: dict[str, list]) -> dict[str, list]:
            if setup.family == CAUSAL:
                prompts = tokenizer(batch["source"], truncation=True, max_length=spec.max_length - 1)["input_ids"]
                prompts = [p if p and p[-1] == setup.eos_id else p + [setup.eos_id] for p in prompts]
                encoded = {"input_ids": prompts, "attention_mask": [[1] * len(p) for p in prompts]}
                targets = tokenizer(batch["target"], add_special_tokens=False)["input_ids"]
            else:
                encoded = dict(tokenizer(batch["source"], truncation=True, max_length=spec.max_length,
                                         return_token_type_ids=False))
                targets = tokenizer(text_target=batch["target"], truncation=True,
                                    max_length=spec.max_new_tokens + 1)["input_ids"]
            encoded["labels"] = prepare_labels(targets, setup, spec.max_new_tokens)
            return encoded

        return split.map(encode, batched=True, remove_columns=split.column_names, desc="tokenize")

    def collator(self, tokenizer: Any, return_tensors: str = "pt") -> Any:
        return GenerationCollator(generation_setup(tokenizer), return_tensors=return_tensors)

    # -- distillation -----------------------------------------------------------------------
    def distillation_weights(self, spec: TaskSpec) -> dict[str, float]:
        if spec.distillation.kd_mode == "sequence" and not spec.distillation.weights:
            return dict(self.sequence_kd_weights)
        return super().distillation_weights(spec)

    @staticmethod
    def temperature(config: DistillationConfig) -> float:
        """The task file's temperature when it sets one, else the DistilBART recipe's 2.0."""
        return config.temperature if "temperature" in config.model_fields_set else WORD_KD_TEMPERATURE

    def distillation_terms(
        self, student_outputs: Any, teacher_outputs: Any, inputs: dict, config: DistillationConfig
    ) -> dict:
        return token_kd_terms(
            student_outputs.logits,
            teacher_outputs.logits,
            inputs["labels"],
            self.temperature(config),
            shift="decoder_input_ids" not in inputs,
        )

    def distillation_features(
        self, spec: TaskSpec, teacher: Any, tokenizer: Any, train_raw: datasets.Dataset, train_features: datasets.Dataset
    ) -> datasets.Dataset:
        if spec.distillation.kd_mode != "sequence":
            return train_features
        log.info("[%s] sequence-level KD: decoding %d training sources with the teacher", spec.name,
                 len(train_features))
        generated = teacher_generations(teacher, tokenizer, train_features, spec.max_new_tokens)
        return train_features.remove_columns("labels").add_column("labels", generated)

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(
        self, spec: TaskSpec, predictor: Predictor, features: datasets.Dataset, raw: datasets.Dataset, tokenizer: Any
    ) -> EvalOutput:
        setup = generation_setup(tokenizer)
        outputs = forward_in_batches(predictor, features, self.collator(tokenizer, return_tensors="np"))
        width = max([spec.max_new_tokens] + [len(o["sequences"]) for o in outputs])
        sequences = np.full((len(outputs), width), setup.pad_id, dtype=np.int64)
        for row, output in enumerate(outputs):
            ids = trim_at_eos(output["sequences"], setup.eos_id)
            sequences[row, : len(ids)] = ids
        predictions = [
            text.strip() for text in tokenizer.batch_decode(
                [trim_at_eos(row, setup.eos_id, keep_eos=False) for row in sequences], skip_special_tokens=True
            )
        ]
        return EvalOutput(predictions=predictions, references=list(raw["references"]),
                          raw_outputs={"sequences": sequences})

    def baseline(self, spec: TaskSpec, train: Any, eval_split: Any) -> dict[str, Any] | None:
        """Copy the input: each source text as its own prediction."""
        from tasks.metrics.generation import generation_scores

        scores = generation_scores(list(eval_split["source"]), list(eval_split["references"]))
        return {"name": "copy the input", "metrics": scores, "score": scores[spec.primary_metric]}

    def metric_name(self, spec: TaskSpec) -> str:
        return "generation"

    def metric_keys(self, spec: TaskSpec) -> tuple[str, ...]:
        return METRIC_KEYS


def trim_at_eos(ids: Any, eos_id: int, keep_eos: bool = True) -> list[int]:
    """Token ids up to the first end token (kept when ``keep_eos``); the rest (padding) is dropped."""
    ids = [int(i) for i in ids]
    if eos_id in ids:
        end = ids.index(eos_id)
        return ids[: end + 1] if keep_eos else ids[:end]
    return ids


def teacher_generations(teacher: Any, tokenizer: Any, features: datasets.Dataset, max_new_tokens: int) -> list[list[int]]:
    """The teacher's greedy output ids for every row of ``features`` (end token included), in order."""
    import torch

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
            ids, mask = batch["input_ids"], batch["attention_mask"]
            if setup.family == CAUSAL:
                ids, mask = left_pad(ids, mask, setup.pad_id)
            with torch.inference_mode():
                out = teacher.generate(
                    input_ids=torch.from_numpy(ids).to(device),
                    attention_mask=torch.from_numpy(mask).to(device),
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    num_beams=1,
                )
            new = out[:, ids.shape[1]:] if setup.family == CAUSAL else out[:, 1:]
            for row, index in enumerate(indices):
                tokens = trim_at_eos(new[row].tolist(), setup.eos_id)
                result[index] = tokens or [setup.eos_id]
    finally:
        teacher.train(was_training)
    return result  # type: ignore[return-value]
