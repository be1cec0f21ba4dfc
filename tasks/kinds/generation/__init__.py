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
  source unless the tokenizer already ends it with one), so no task-specific prompt words are needed. A task's
  ``prompt`` (``"Translate ...: {source}"``) replaces the separator: rendered through the tokenizer's chat
  template when it has one (SmolLM2-Instruct, ``smollm2``), so the model is tuned and asked in its own format and
  its end token (``<|im_end|>``) closes the target (:mod:`~tasks.kinds.generation.prompts`).

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

**Modules.** :mod:`~tasks.kinds.generation.families` (model family, special ids), :mod:`~.features` (labels,
collator), :mod:`~.decoding` (greedy decoding, shared with ``harness.backends``), :mod:`~.distill` (word-level
KD terms), :mod:`~.models` (teachers and students), :mod:`~.kind` (the :class:`GenerationKind` itself).
"""

from __future__ import annotations

from tasks.kinds.generation.decoding import (
    SEQUENCE_KD_BATCH_SIZE,
    greedy_generation_config,
    greedy_new_tokens,
    left_pad,
    teacher_generations,
    trim_at_eos,
)
from tasks.kinds.generation.distill import WORD_KD_TEMPERATURE, kd_temperature, token_kd_terms
from tasks.kinds.generation.families import (
    CAUSAL,
    CAUSAL_ARCHITECTURE_SUFFIXES,
    SEQ2SEQ,
    WARM_START,
    GenerationSetup,
    declared_family,
    generation_setup,
    model_family,
    source_config,
)
from tasks.kinds.generation.features import IGNORE_INDEX, GenerationCollator, prepare_labels
from tasks.kinds.generation.kind import METRIC_KEYS, GenerationKind
from tasks.kinds.generation.models import WARM_START_NEW_PARAMETERS
from tasks.kinds.layers import keep_layers

__all__ = [
    "CAUSAL",
    "CAUSAL_ARCHITECTURE_SUFFIXES",
    "IGNORE_INDEX",
    "METRIC_KEYS",
    "SEQ2SEQ",
    "SEQUENCE_KD_BATCH_SIZE",
    "WARM_START",
    "WARM_START_NEW_PARAMETERS",
    "WORD_KD_TEMPERATURE",
    "GenerationCollator",
    "GenerationKind",
    "GenerationSetup",
    "declared_family",
    "generation_setup",
    "greedy_generation_config",
    "greedy_new_tokens",
    "kd_temperature",
    "keep_layers",
    "left_pad",
    "model_family",
    "prepare_labels",
    "source_config",
    "teacher_generations",
    "token_kd_terms",
    "trim_at_eos",
]
