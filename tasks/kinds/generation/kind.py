"""The generation task kind: the :class:`~tasks.kinds.base.TaskKind` methods, over the package's parts.

See :mod:`tasks.kinds.generation` for the recipe (families, labels, distillation, inference, export).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from tasks.errors import DataError
from tasks.kinds.base import EvalOutput, TaskKind
from tasks.kinds.batching import forward_in_batches
from tasks.kinds.classification import require_columns
from tasks.kinds.generation import models
from tasks.kinds.generation.decoding import teacher_generations, trim_at_eos
from tasks.kinds.generation.distill import kd_temperature, token_kd_terms
from tasks.kinds.generation.families import CAUSAL, generation_setup
from tasks.kinds.generation.features import GenerationCollator, prepare_labels
from tasks.kinds.generation.prompts import prompt_token_ids
from tasks.kinds.registry import register_kind

if TYPE_CHECKING:
    import datasets

    from tasks.kinds.predictor import Predictor
    from tasks.spec import DistillationConfig, TaskSpec

log = logging.getLogger("reusebench")

METRIC_KEYS = ("rouge1", "rouge2", "rougeL", "bleu", "chrf")


def _references(
    sources: list[Any], targets: list[Any] | None, references: list[Any] | None, column: str, origin: str
) -> list[list[str]]:
    """Per row, the non-empty references to score against (the target when the split has no references)."""
    rows_refs: list[list[str]] = []
    for i in range(len(sources)):
        refs = references[i] if references is not None else None
        if refs is not None and (isinstance(refs, str) or not all(isinstance(r, str) for r in refs)):
            raise DataError(f"{origin}: row {i}: column {column!r} must be a list of strings, got {refs!r}")
        refs = [r for r in (refs or []) if r.strip()]
        if not refs:
            if targets is None or not targets[i].strip():
                raise DataError(f"{origin}: row {i}: no non-empty target or reference to score against")
            refs = [targets[i]]
        rows_refs.append(refs)
    return rows_refs


@register_kind
class GenerationKind(TaskKind):
    """Sequence-to-sequence generation with greedy decoding; word- or sequence-level KD."""

    name = "generation"
    auto_class = "AutoModelForSeq2SeqLM"  # only used for 'model=' students; teachers go through build_model
    onnx_task = "text2text-generation"
    # no linear probe: a warm-started decoder's cross-attention is new, so frozen features hold nothing to
    # decode; no estimate: LogME and H-score score labels, and a generated text has none
    adaptation_methods = ("lora", "full")
    loss_terms = ("hard_ce", "kd_kl")
    # Not yet: the decoder's hidden states and cross-attention (the encoder-decoder's outputs differ).
    intermediate_terms = ()
    # Shleifer & Rush 2020 (DistilBART recipe): alpha_mlm (hard CE) 0.2, alpha_ce (soft KL) 0.8.
    default_weights = {"hard_ce": 0.2, "kd_kl": 0.8}
    # Kim & Rush 2016, sequence-level KD: plain NLL on the teacher's outputs.
    sequence_kd_weights = {"hard_ce": 1.0}
    # BERT2BERT: the encoder (12·L·H² per block) and a decoder of as many blocks with cross-attention
    # (16·L·H²); measured on the quick suite, generation's training took 2.3× the time its estimate gave at 1
    params_per_encoder_param = 28 / 12

    # -- model ------------------------------------------------------------------------------
    def build_model(self, source: str, spec: TaskSpec) -> Any:
        return models.build_teacher(source, spec)

    def check_model_config(self, source: str, config: Any) -> None:
        models.check_warm_start(source, config)

    def build_student(self, teacher: Any, layers: list[int]) -> Any:
        return models.build_student(teacher, layers)

    def onnx_export_task(self, spec: TaskSpec, model: Any) -> str:
        return models.onnx_export_task(model)

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
        rows_refs = _references(sources, targets, references, references_col, origin)
        target_texts = list(targets) if targets is not None else [refs[0] for refs in rows_refs]
        return hf_datasets.Dataset.from_dict(
            {"source": list(sources), "target": target_texts, "references": rows_refs}
        )

    def tokenize(self, spec: TaskSpec, tokenizer: Any, split: datasets.Dataset) -> datasets.Dataset:
        setup = generation_setup(tokenizer)

        def encode(batch: dict[str, list]) -> dict[str, list]:
            if setup.family == CAUSAL and spec.prompt is not None:
                prompts = prompt_token_ids(tokenizer, batch["source"], spec)
                encoded = {"input_ids": prompts, "attention_mask": [[1] * len(p) for p in prompts]}
                targets = tokenizer(batch["target"], add_special_tokens=False)["input_ids"]
            elif setup.family == CAUSAL:
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
        return kd_temperature(config)

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
