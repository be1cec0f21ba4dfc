"""Sentence-pair similarity: regression (STS-B style, a score) or pair classification (MRPC style).

A task with a ``labels`` list is pair classification (accuracy, F1; KD as for classification); a task
without one is regression on a single output (Pearson, Spearman; KD by MSE to the teacher's
prediction mixed with MSE to the gold score).
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from tasks.errors import DataError
from tasks.kinds.base import EvalOutput, TaskKind
from tasks.kinds.batching import forward_in_batches
from tasks.kinds.classification import ClassificationKind, require_columns, require_texts
from tasks.kinds.registry import register_kind
from tasks.labels import NUMBER

if TYPE_CHECKING:
    import datasets

    from tasks.kinds.predictor import Predictor
    from tasks.spec import DistillationConfig, TaskSpec

REGRESSION_KEYS = ("pearson", "spearman", "mse")


def score_value(value: Any) -> float | None:
    """A regression target as a float: a number, or text spelling a decimal number (``"4.5"``, ``"1e-2"``);
    None for anything else (a boolean, ``"1_000"``, non-ASCII digits, a list). NaN and infinities pass through."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if NUMBER.fullmatch(text) or text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            return float(text)
    return None


@register_kind
class SimilarityKind(TaskKind):
    """Two texts in, one similarity out (a score or a class)."""

    name = "similarity"
    auto_class = "AutoModelForSequenceClassification"
    onnx_task = "text-classification"
    estimate_target = "sentence-regression"
    loss_terms = ("hard_ce", "kd_kl", "hard_mse", "kd_mse")
    teacher_output_fields = ("logits",)
    default_weights = {"hard_mse": 0.5, "kd_mse": 0.5}
    _pair_classification = ClassificationKind()

    @staticmethod
    def is_regression(spec: TaskSpec) -> bool:
        """Regression unless the task lists labels."""
        return not spec.labels

    def distillation_weights(self, spec: TaskSpec) -> dict[str, float]:
        if not self.is_regression(spec) and not spec.distillation.weights:
            return dict(ClassificationKind.default_weights)
        weights = super().distillation_weights(spec)
        allowed = ("hard_mse", "kd_mse") if self.is_regression(spec) else ("hard_ce", "kd_kl")
        wrong = sorted(set(weights) - set(allowed))
        if wrong:
            from tasks.errors import ConfigError

            mode = "regression" if self.is_regression(spec) else "pair classification"
            raise ConfigError(
                f"task {spec.name!r}: field 'distillation.weights': {wrong} do not apply to {mode}; "
                f"allowed values: {', '.join(allowed)}"
            )
        return weights

    def metric_name(self, spec: TaskSpec) -> str:
        return "regression" if self.is_regression(spec) else "classification"

    def metric_keys(self, spec: TaskSpec) -> tuple[str, ...]:
        if self.is_regression(spec):
            return REGRESSION_KEYS
        return self._pair_classification.metric_keys(spec)

    def baseline(self, spec: TaskSpec, train: Any, eval_split: Any) -> dict[str, Any] | None:
        """Pair classification: the majority label. Regression has none (a constant has no correlation)."""
        return None if self.is_regression(spec) else self._pair_classification.baseline(spec, train, eval_split)

    def metric_kwargs(self, spec: TaskSpec) -> dict[str, Any]:
        return {} if self.is_regression(spec) else self._pair_classification.metric_kwargs(spec)

    def prepare_split(self, spec: TaskSpec, split: datasets.Dataset, origin: str, is_train: bool) -> datasets.Dataset:
        import datasets as hf_datasets

        prepared = self._prepare_pairs(spec, split, origin, is_train)
        if is_train and spec.swap_pairs:
            swapped = prepared.rename_columns({"text": "text_pair", "text_pair": "text"})
            prepared = hf_datasets.concatenate_datasets([prepared, swapped.select_columns(prepared.column_names)])
        return prepared

    def _prepare_pairs(
        self, spec: TaskSpec, split: datasets.Dataset, origin: str, is_train: bool
    ) -> datasets.Dataset:
        import datasets as hf_datasets

        require_columns(split, spec.columns, ("text", "text_pair", "label"), origin)
        if not self.is_regression(spec):
            return self._pair_classification.prepare_split(spec, split, origin, is_train)
        text_col, pair_col = spec.columns.get("text", "text"), spec.columns.get("text_pair", "text_pair")
        label_col = spec.columns.get("label", "label")
        scores = []
        for row, value in enumerate(split[label_col]):
            if value is None:
                raise DataError(f"{origin}: row {row}: column {label_col!r} is empty; every example needs a score")
            score = score_value(value)
            if score is None:
                raise DataError(f"{origin}: row {row}: column {label_col!r} must be a number, got {value!r}")
            if not math.isfinite(score):
                raise DataError(f"{origin}: row {row}: column {label_col!r} is {value!r}; scores must be finite")
            scores.append(score)
        if is_train and len(set(scores)) < 2:
            raise DataError(f"{origin}: every training score is {scores[0]}; a regression needs varied targets")
        texts, pairs = require_texts(split[text_col], text_col, origin), require_texts(split[pair_col], pair_col, origin)
        return hf_datasets.Dataset.from_dict({"text": texts, "text_pair": pairs, "label": scores})

    def model_kwargs(self, spec: TaskSpec) -> dict[str, Any]:
        if self.is_regression(spec):
            return {"num_labels": 1, "problem_type": "regression"}
        return self._pair_classification.model_kwargs(spec)

    def estimate_target_of(self, spec: TaskSpec) -> str:
        return "sentence-regression" if self.is_regression(spec) else "sentence-class"

    def head_bias_init(self, spec: TaskSpec) -> str | None:
        return "target mean" if self.is_regression(spec) else None

    def tokenize(self, spec: TaskSpec, tokenizer: Any, split: datasets.Dataset) -> datasets.Dataset:
        return self._pair_classification.tokenize(spec, tokenizer, split)

    def collator(self, tokenizer: Any, return_tensors: str = "pt") -> Any:
        return self._pair_classification.collator(tokenizer, return_tensors)

    def evaluate(
        self, spec: TaskSpec, predictor: Predictor, features: datasets.Dataset, raw: datasets.Dataset, tokenizer: Any
    ) -> EvalOutput:
        if not self.is_regression(spec):
            return self._pair_classification.evaluate(spec, predictor, features, raw, tokenizer)
        outputs = forward_in_batches(predictor, features, self.collator(tokenizer, return_tensors="np"))
        logits = np.stack([o["logits"] for o in outputs])
        return EvalOutput(
            predictions=logits[:, 0].astype(float).tolist(),
            references=[float(v) for v in raw["label"]],
            raw_outputs={"logits": logits},
        )

    def distillation_terms(
        self, student_outputs: Any, teacher_outputs: Any, inputs: dict, config: DistillationConfig
    ) -> dict:
        import torch.nn.functional as F

        from tasks.kinds.losses import hard_ce, kd_kl

        student, teacher = student_outputs.logits, teacher_outputs.logits
        if student.shape[-1] == 1:
            labels = inputs["labels"].to(student.dtype)
            return {
                "hard_mse": F.mse_loss(student.squeeze(-1), labels),
                "kd_mse": F.mse_loss(student.squeeze(-1), teacher.squeeze(-1)),
            }
        return {
            "hard_ce": hard_ce(student, inputs["labels"]),
            "kd_kl": kd_kl(student, teacher, config.temperature),
        }

    def agreement(self, predictions_a: list[Any], predictions_b: list[Any]) -> float | None:
        if predictions_a and isinstance(predictions_a[0], float):
            # For scores, agreement is their Pearson correlation.
            a, b = np.asarray(predictions_a), np.asarray(predictions_b)
            if a.std() == 0 or b.std() == 0:
                return None
            return float(np.corrcoef(a, b)[0, 1])
        return super().agreement(predictions_a, predictions_b)
