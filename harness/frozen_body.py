"""The frozen pretrained body of a model under a linear probe, run once per input and kept for later epochs.

A linear probe trains only the task head on what the frozen model computes (Alain & Bengio 2016; the "linear
evaluation" of Kornblith et al. 2019). The usual way to train one is to compute the frozen features once and
fit the head on them; running the whole frozen model forward in every epoch spends almost all of a probe's
time recomputing the same features. :func:`frozen_body` does the former inside the ordinary training loop:

- the model's base (``model.base_model_prefix``: ``bert``, ``mpnet``, ...) is swapped for a
  :class:`FrozenBody` for the length of the ``with`` block, so the model's own head, dropout and loss run as
  they always do, and the Trainer, its collator and its schedule are unchanged;
- the body stays in eval mode (no dropout: the features are the deterministic ones the transferability
  estimates score, not a new dropout sample per epoch) and runs without gradients;
- its outputs (``last_hidden_state`` at the real tokens, and ``pooler_output`` where the body has a pooler)
  are kept by input, as the teacher's are in a distillation (:class:`harness.teacher_memo.TeacherMemo`): the
  body runs in the first epoch and the head trains on what it kept in the others.

Padding positions come back as zeros (what the memo keeps is the real tokens'); the heads of the kinds that
probe score labelled tokens (NER) or one row per example (classification, similarity), and QA's span loss
sees a constant logit at padding where it saw the body's padding states in the first epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from harness.teacher_memo import TeacherMemo

#: what the body returns that the heads read: per token, and one row per example
TOKEN_FIELD = "last_hidden_state"
POOLED_FIELD = "pooler_output"


class FrozenBody(torch.nn.Module):
    """A model's pretrained body, frozen: eval mode, no gradients, its outputs kept by input."""

    def __init__(self, body: torch.nn.Module) -> None:
        super().__init__()
        self.body = body
        self.memo: TeacherMemo | None = None
        self._output_class: type | None = None
        #: batches and non-pad tokens the body ran on (its FLOPs: 2·N_body per token)
        self.batches_run = 0
        self.tokens_run = 0

    def train(self, mode: bool = True) -> FrozenBody:
        """The Trainer puts the model in training mode every step; the body stays in eval mode."""
        super().train(mode)
        self.body.eval()
        return self

    def forward(self, input_ids: Any = None, attention_mask: Any = None, **kwargs: Any) -> Any:
        """The body's outputs for this batch: kept ones where every example has been seen, else computed."""
        return_dict = kwargs.pop("return_dict", None)
        plain = kwargs.get("inputs_embeds") is None and not kwargs.get("output_attentions") and not kwargs.get(
            "output_hidden_states"
        )
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask, **kwargs}
        if not plain or input_ids is None or attention_mask is None:
            outputs = self._run(inputs)  # what the memo does not key on: run the body every time
        elif self.memo is None:
            outputs = self._run(inputs)
            self._start_memo(outputs)
            self.memo.store(self._keyed(inputs), outputs)
        else:
            outputs = self.memo.outputs(self._keyed(inputs), lambda: self._run(inputs))
            if self._output_class is not None and not isinstance(outputs, self._output_class):
                outputs = self._output_class(**vars(outputs))
        return outputs if return_dict is not False else outputs.to_tuple()

    @staticmethod
    def _keyed(inputs: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in inputs.items() if key in ("input_ids", "attention_mask", "token_type_ids")
                and value is not None}

    def _run(self, inputs: dict[str, Any]) -> Any:
        with torch.no_grad():
            outputs = self.body(**inputs, return_dict=True)
        self.batches_run += 1
        self.tokens_run += int(inputs["attention_mask"].sum()) if inputs.get("attention_mask") is not None else int(
            inputs["input_ids"].numel()
        )
        return outputs

    def _start_memo(self, outputs: Any) -> None:
        self._output_class = type(outputs)
        fields, per_token = [TOKEN_FIELD], [True]
        if getattr(outputs, POOLED_FIELD, None) is not None:
            fields.append(POOLED_FIELD)
            per_token.append(False)
        self.memo = TeacherMemo(tuple(fields), tuple(per_token))


@contextmanager
def frozen_body(model: torch.nn.Module) -> Iterator[FrozenBody]:
    """Swap ``model``'s pretrained body for a :class:`FrozenBody` for the block, and put it back after it
    (whatever happens inside). The model must have a base model under ``model.base_model_prefix``."""
    prefix = getattr(model, "base_model_prefix", "")
    body = getattr(model, prefix, None) if prefix else None
    if not isinstance(body, torch.nn.Module) or body is model:
        raise ValueError(f"{type(model).__name__} has no pretrained body under base_model_prefix {prefix!r} to freeze")
    wrapper = FrozenBody(body)
    setattr(model, prefix, wrapper)
    try:
        yield wrapper
    finally:
        setattr(model, prefix, body)
