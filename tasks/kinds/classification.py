"""Single-text (or text-pair) classification: sentiment, topic, paraphrase."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tasks.errors import DataError
from tasks.kinds.base import EvalOutput, TaskKind
from tasks.kinds.batching import forward_in_batches
from tasks.kinds.registry import register_kind
from tasks.labels import class_label_names, class_label_value, resolve_label

__all__ = ["ClassificationKind", "require_columns", "require_texts", "resolve_label"]

if TYPE_CHECKING:
    import datasets

    from tasks.kinds.predictor import Predictor
    from tasks.spec import DistillationConfig, TaskSpec


def require_columns(split: datasets.Dataset, columns: dict[str, str], roles: tuple[str, ...], origin: str) -> None:
    """Fail naming the file, the role and the missing column when a mapped column is absent."""
    for role in roles:
        column = columns.get(role, role)
        if column not in split.column_names:
            raise DataError(
                f"{origin}: column {column!r} (columns.{role}) not found; the file has: {', '.join(split.column_names)}"
            )


def require_texts(values: list[Any], column: str, origin: str) -> list[str]:
    """Fail naming the file, the row and the column unless every value is non-empty text."""
    for row, text in enumerate(values):
        if not isinstance(text, str) or not text.strip():
            shown = text if not isinstance(text, str) else text[:60]
            raise DataError(f"{origin}: row {row}: column {column!r} must be non-empty text, got {shown!r}")
    return values


@register_kind
class ClassificationKind(TaskKind):
    """Sequence classification with a softmax head; KD on the logits."""

    name = "classification"
    auto_class = "AutoModelForSequenceClassification"
    onnx_task = "text-classification"
    loss_terms = ("hard_ce", "kd_kl")
    teacher_output_fields = ("logits",)
    # torchdistill's official GLUE KD recipe: KDLoss with alpha 0.9 on the hard loss, temperature 3.
    default_weights = {"hard_ce": 0.9, "kd_kl": 0.1}

    def metric_name(self, spec: TaskSpec) -> str:
        return "classification"

    def metric_keys(self, spec: TaskSpec) -> tuple[str, ...]:
        return ("accuracy", "f1", "f1_macro", "mcc")

    def _labels(self, spec: TaskSpec) -> list[str]:
        if not spec.labels:
            raise DataError(f"task {spec.name!r}: field 'labels' is required for kind classification")
        return spec.labels

    def prepare_split(self, spec: TaskSpec, split: datasets.Dataset, origin: str, is_train: bool) -> datasets.Dataset:
        import datasets as hf_datasets

        labels = self._labels(spec)
        has_pair = "text_pair" in spec.columns
        roles = ("text", "label") + (("text_pair",) if has_pair else ())
        require_columns(split, spec.columns, roles, origin)
        text_col, label_col = spec.columns.get("text", "text"), spec.columns.get("label", "label")
        texts = require_texts(split[text_col], text_col, origin)
        pairs = require_texts(split[spec.columns["text_pair"]], spec.columns["text_pair"], origin) if has_pair else None
        names = class_label_names(split, label_col)  # a Hub ClassLabel column: indices into its own names
        label_ids = [
            resolve_label(class_label_value(v, names), labels, origin, i, label_col)
            for i, v in enumerate(split[label_col])
        ]
        if is_train and len(set(label_ids)) < 2:
            raise DataError(
                f"{origin}: the training split has a single class ({labels[label_ids[0]]!r}); "
                "a classifier needs at least two"
            )
        columns = {"text": texts, "label": label_ids}
        if pairs is not None:
            columns["text_pair"] = pairs
        return hf_datasets.Dataset.from_dict(columns)

    def model_kwargs(self, spec: TaskSpec) -> dict[str, Any]:
        labels = self._labels(spec)
        return {
            "num_labels": len(labels),
            "id2label": dict(enumerate(labels)),
            "label2id": {label: i for i, label in enumerate(labels)},
        }

    def tokenize(self, spec: TaskSpec, tokenizer: Any, split: datasets.Dataset) -> datasets.Dataset:
        def encode(batch: dict[str, list]) -> dict[str, list]:
            pair = batch.get("text_pair")
            encoded = tokenizer(batch["text"], pair, truncation=True, max_length=spec.max_length)
            encoded["labels"] = batch["label"]
            return encoded

        return split.map(encode, batched=True, remove_columns=split.column_names, desc="tokenize")

    def collator(self, tokenizer: Any, return_tensors: str = "pt") -> Any:
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(tokenizer, return_tensors=return_tensors)

    def evaluate(
        self, spec: TaskSpec, predictor: Predictor, features: datasets.Dataset, raw: datasets.Dataset, tokenizer: Any
    ) -> EvalOutput:
        outputs = forward_in_batches(predictor, features, self.collator(tokenizer, return_tensors="np"))
        logits = np.stack([o["logits"] for o in outputs])
        return EvalOutput(
            predictions=logits.argmax(axis=-1).tolist(),
            references=list(raw["label"]),
            raw_outputs={"logits": logits},
        )

    def baseline(self, spec: TaskSpec, train: Any, eval_split: Any) -> dict[str, Any] | None:
        """Always predict the training split's most frequent label."""
        from collections import Counter

        from tasks.metrics import get_metric

        majority = Counter(train["label"]).most_common(1)[0][0]
        references = list(eval_split["label"])
        metrics = get_metric(self.metric_name(spec)).compute(
            predictions=[majority] * len(references), references=references, **self.metric_kwargs(spec)
        )
        metrics = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
        return {"name": "majority label", "metrics": metrics, "score": metrics.get(spec.primary_metric)}

    def metric_kwargs(self, spec: TaskSpec) -> dict[str, Any]:
        return {"num_labels": len(self._labels(spec))}

    def distillation_terms(
        self, student_outputs: Any, teacher_outputs: Any, inputs: dict, config: DistillationConfig
    ) -> dict:
        from tasks.kinds.losses import hard_ce, kd_kl

        return {
            "hard_ce": hard_ce(student_outputs.logits, inputs["labels"]),
            "kd_kl": kd_kl(student_outputs.logits, teacher_outputs.logits, config.temperature),
        }
