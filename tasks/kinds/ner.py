"""Named-entity recognition (token classification with IOB2 tags), scored by seqeval.

Alignment: words are split into word-pieces by a fast tokenizer; a word's tag goes on its *first*
piece and every other piece (and [CLS]/[SEP]) gets -100, so it is neither trained nor scored
(``label_all_subtokens: true`` trains on every piece instead, B- turning into I- after the first,
as HF ``run_ner.py``'s ``label_all_tokens``). Prediction for a word = argmax at its first piece.

Truncation: a sentence longer than ``max_length`` pieces is cut; the words cut off get the
prediction "O", so the metric still sees every gold entity (a truncated entity counts as missed)
and scores stay comparable across ``max_length`` values. The same holds for a word the tokenizer
drops entirely (e.g. a lone zero-width space).

Distillation: hard cross-entropy on the gold tags plus temperature-scaled KL to the teacher, both
over the scored positions only (label != -100); defaults as for classification (torchdistill's GLUE
KD recipe: 0.9 / 0.1, T = 3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tasks.errors import ConfigError, DataError
from tasks.kinds.base import EvalOutput, TaskKind
from tasks.kinds.batching import forward_in_batches
from tasks.kinds.classification import require_columns
from tasks.kinds.registry import register_kind
from tasks.labels import class_label_names, class_label_value, label_map

if TYPE_CHECKING:
    import datasets
    import torch

    from tasks.kinds.predictor import Predictor
    from tasks.spec import DistillationConfig, TaskSpec

IGNORE = -100
NO_WORD = -1  # word id of special tokens in the stored ``word_ids`` column
TAG_PREFIXES = ("B-", "I-", "E-", "S-")


def require_fast_tokenizer(tokenizer: Any, kind: str) -> None:
    """Word and offset alignment need a fast (Rust) tokenizer."""
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(f"kind {kind}: the tokenizer {type(tokenizer).__name__} is not a fast tokenizer")


def align_labels(
    word_ids: list[int | None], tags: list[int], labels: list[str], all_subtokens: bool
) -> list[int]:
    """Token labels for one sentence: each word's tag on its first piece, -100 elsewhere.

    With ``all_subtokens`` the later pieces of a word get its tag too, with B-X turned into I-X.
    """
    aligned: list[int] = []
    previous: int | None = None
    for word in word_ids:
        if word is None:
            aligned.append(IGNORE)
        elif word != previous:
            aligned.append(tags[word])
        elif all_subtokens:
            tag = labels[tags[word]]
            inside = "I-" + tag[2:] if tag.startswith("B-") else tag
            aligned.append(labels.index(inside) if inside in labels else tags[word])
        else:
            aligned.append(IGNORE)
        previous = word
    return aligned


def word_predictions(
    token_label_ids: np.ndarray, word_ids: list[int], n_words: int, labels: list[str]
) -> list[str]:
    """Per-word tags from per-token label ids: the first piece of each word decides; words without
    a piece (cut off by truncation) are "O"."""
    tags = ["O"] * n_words
    seen: set[int] = set()
    for position, word in enumerate(word_ids):
        if word == NO_WORD or word in seen:
            continue
        seen.add(word)
        tags[word] = labels[int(token_label_ids[position])]
    return tags


def masked_kd_kl(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, mask: torch.Tensor, temperature: float
) -> torch.Tensor:
    """KD KL (T^2-scaled, averaged over rows) over the positions where ``mask`` is true only."""
    from tasks.kinds.losses import kd_kl

    if not bool(mask.any()):
        return student_logits.sum() * 0.0  # keeps the graph; nothing to distill in this batch
    return kd_kl(student_logits[mask], teacher_logits[mask], temperature)


@register_kind
class NerKind(TaskKind):
    """Token classification over IOB2 tags; KD per scored token."""

    name = "ner"
    auto_class = "AutoModelForTokenClassification"
    onnx_task = "token-classification"
    estimate_target = "token-class"
    loss_terms = ("hard_ce", "kd_kl")
    teacher_output_fields = ("logits",)
    teacher_outputs_per_token = True  # its terms ignore padding positions
    # torchdistill's official GLUE KD recipe (KDLoss, alpha 0.9, T 3), applied per token.
    default_weights = {"hard_ce": 0.9, "kd_kl": 0.1}

    def metric_name(self, spec: TaskSpec) -> str:
        return "seqeval"

    def metric_keys(self, spec: TaskSpec) -> tuple[str, ...]:
        return ("f1", "precision", "recall", "accuracy")

    def _labels(self, spec: TaskSpec) -> list[str]:
        if not spec.labels:
            raise ConfigError(f"task {spec.name!r}: field 'labels' is required for kind ner (the IOB2 tags)")
        bad = [
            tag for tag in spec.labels if tag != "O" and not (tag.startswith(TAG_PREFIXES) and len(tag) > 2)
        ]
        if bad:
            raise ConfigError(
                f"task {spec.name!r}: field 'labels': {bad} are not IOB2 tags; allowed forms: O, B-TYPE, I-TYPE"
            )
        return spec.labels

    def prepare_split(
        self, spec: TaskSpec, split: datasets.Dataset, origin: str, is_train: bool
    ) -> datasets.Dataset:
        import datasets as hf_datasets

        labels = self._labels(spec)
        require_columns(split, spec.columns, ("tokens", "ner_tags"), origin)
        tokens_col, tags_col = spec.columns.get("tokens", "tokens"), spec.columns.get("ner_tags", "ner_tags")
        all_tokens, all_tags = [], []
        tag_map = label_map(tuple(labels))  # one rule for every format: see tasks/labels.py
        names = class_label_names(split, tags_col)  # a Hub Sequence(ClassLabel) column: indices into its names
        for row, (tokens, tags) in enumerate(zip(split[tokens_col], split[tags_col], strict=True)):
            if not isinstance(tokens, list) or not tokens:
                raise DataError(
                    f"{origin}: row {row}: column {tokens_col!r} must be a non-empty list of words, got {tokens!r}"
                )
            if not isinstance(tags, list) or len(tags) != len(tokens):
                count = len(tags) if isinstance(tags, list) else type(tags).__name__
                raise DataError(
                    f"{origin}: row {row}: {len(tokens)} words in {tokens_col!r} but {count} tags in {tags_col!r}"
                )
            for position, word in enumerate(tokens):
                if not isinstance(word, str):
                    raise DataError(
                        f"{origin}: row {row}: word {position} of {tokens_col!r} is {word!r}, not text"
                    )
            ids = [
                tag_map.index(
                    class_label_value(tag, names), f"{origin}: row {row}: word {position} ({tokens[position]!r})", "tag"
                )
                for position, tag in enumerate(tags)
            ]
            all_tokens.append(tokens)
            all_tags.append(ids)
        return hf_datasets.Dataset.from_dict({"tokens": all_tokens, "ner_tags": all_tags})

    def model_kwargs(self, spec: TaskSpec) -> dict[str, Any]:
        labels = self._labels(spec)
        return {
            "num_labels": len(labels),
            "id2label": dict(enumerate(labels)),
            "label2id": {label: i for i, label in enumerate(labels)},
        }

    def tokenize(self, spec: TaskSpec, tokenizer: Any, split: datasets.Dataset) -> datasets.Dataset:
        require_fast_tokenizer(tokenizer, self.name)
        labels = self._labels(spec)

        def encode(batch: dict[str, list]) -> dict[str, list]:
            encoded = tokenizer(
                batch["tokens"], is_split_into_words=True, truncation=True, max_length=spec.max_length
            )
            encoded["labels"], encoded["word_ids"] = [], []
            for i, tags in enumerate(batch["ner_tags"]):
                word_ids = encoded.word_ids(i)
                encoded["labels"].append(align_labels(word_ids, tags, labels, spec.label_all_subtokens))
                # Kept for decoding; the Trainer drops it (not a model input), forward_in_batches ignores it.
                encoded["word_ids"].append([NO_WORD if w is None else w for w in word_ids])
            return encoded

        return split.map(encode, batched=True, remove_columns=split.column_names, desc="tokenize")

    def collator(self, tokenizer: Any, return_tensors: str = "pt") -> Any:
        from transformers import DataCollatorForTokenClassification

        return DataCollatorForTokenClassification(
            tokenizer, label_pad_token_id=IGNORE, return_tensors=return_tensors
        )

    def evaluate(
        self,
        spec: TaskSpec,
        predictor: Predictor,
        features: datasets.Dataset,
        raw: datasets.Dataset,
        tokenizer: Any,
    ) -> EvalOutput:
        labels = self._labels(spec)
        outputs = forward_in_batches(
            predictor, features, self.collator(tokenizer, return_tensors="np"), token_outputs=("logits",)
        )
        word_ids = features["word_ids"]
        sentences = raw["tokens"]
        predictions = [
            word_predictions(out["logits"].argmax(axis=-1), ids, len(words), labels)
            for out, ids, words in zip(outputs, word_ids, sentences, strict=True)
        ]
        references = [[labels[t] for t in tags] for tags in raw["ner_tags"]]
        longest = max(out["logits"].shape[0] for out in outputs)
        padded = np.zeros((len(outputs), longest, len(labels)), dtype=np.float32)
        for i, out in enumerate(outputs):
            padded[i, : out["logits"].shape[0]] = out["logits"]
        return EvalOutput(predictions=predictions, references=references, raw_outputs={"logits": padded})

    def distillation_terms(
        self, student_outputs: Any, teacher_outputs: Any, inputs: dict, config: DistillationConfig
    ) -> dict:
        from tasks.kinds.losses import hard_ce

        labels = inputs["labels"]
        scored = labels != IGNORE
        if bool(scored.any()):
            hard = hard_ce(student_outputs.logits, labels, ignore_index=IGNORE)
        else:  # cross-entropy over no target is NaN
            hard = student_outputs.logits.sum() * 0.0
        return {
            "hard_ce": hard,
            "kd_kl": masked_kd_kl(student_outputs.logits, teacher_outputs.logits, scored, config.temperature),
        }

    def agreement(self, predictions_a: list[Any], predictions_b: list[Any]) -> float | None:
        """Share of words (over all sentences) with the same predicted tag."""
        a = [tag for sentence in predictions_a for tag in sentence]
        b = [tag for sentence in predictions_b for tag in sentence]
        if not a:
            return None
        return float(np.mean([x == y for x, y in zip(a, b, strict=True)]))
