"""A toy task kind defined outside ``tasks/``: proof that a new kind is one module plus one registration.

``toy`` is a binary classification of text length: a text is ``long`` when it has more than
:data:`LONG_WORDS` words. It reuses the classification machinery (head, collator, metric, distillation)
and only replaces how a split is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tasks.kinds.classification import ClassificationKind, require_columns, require_texts
from tasks.kinds.registry import register_kind, unregister_kind

LONG_WORDS = 14

TOY_TASK = """
name: toy-length
kind: toy
description: Is a generated review longer than 14 words?
data: {source: builtin, generator: sentiment, train_size: 200, eval_size: 60, seed: 3}
columns: {text: text}
labels: [short, long]
max_length: 64
primary_metric: accuracy
training: {epochs: 1, learning_rate: 1.0e-3, batch_size: 16}
distillation: {epochs: 1, learning_rate: 1.0e-3}
"""


class ToyLengthKind(ClassificationKind):
    """Binary length classification: label 1 (``long``) for a text of more than ``LONG_WORDS`` words."""

    name = "toy"

    def prepare_split(self, spec: Any, split: Any, origin: str, is_train: bool) -> Any:
        import datasets as hf_datasets

        require_columns(split, spec.columns, ("text",), origin)
        column = spec.columns.get("text", "text")
        texts = require_texts(split[column], column, origin)
        labels = [int(len(text.split()) > LONG_WORDS) for text in texts]
        return hf_datasets.Dataset.from_dict({"text": list(texts), "label": labels})


@contextmanager
def registered_toy_kind() -> Iterator[type[ToyLengthKind]]:
    """Register :class:`ToyLengthKind` for the duration of the block (the one registration a kind needs)."""
    register_kind(ToyLengthKind)
    try:
        yield ToyLengthKind
    finally:
        unregister_kind(ToyLengthKind.name)
