"""The teacher's outputs, kept from the first epoch of a distillation for the epochs after it.

A distillation step runs the student forward and backward (6·N_s·D FLOPs) and the teacher forward (2·N_t·D).
The teacher is frozen and in eval mode (no dropout), so its output for an input is the same in every epoch:
for a 3-layer student of a 6-layer teacher, recomputing it is 40 % of each later epoch. The memo keeps, per
distinct input (its real tokens' ids and token types and their offset, so two identical examples share one entry), the
output fields the kind's loss terms read (:attr:`tasks.kinds.base.TaskKind.teacher_output_fields`), and hands
them back when every example of a batch has one.

Exactness: a per-example field (a sentence's logits) comes back as computed; a per-token field comes back at
the example's real tokens, with zeros at padding positions, which the kinds that declare per-token fields
ignore in their terms (NER scores labelled words only, QA masks padding). A batch recomputed in another epoch
is padded to another length, which changes its teacher outputs only in floating-point summation order, so a
student distilled with the memo matches one distilled without it to that order, not bit for bit.

Not used when intermediate-layer terms are weighted (they need the teacher's hidden states and attention maps,
which are far larger) or for kinds that declare no fields (generation: per-token distributions over the whole
vocabulary). ``distillation.reuse_teacher_outputs: false`` turns it off. The memo holds at most
:data:`MAX_MEMO_BYTES`; past that the teacher runs for the batches it does not cover.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

#: the most the memo holds; past it, it keeps what it has and the teacher runs for the rest (a per-token memo of
#: a very large training set would otherwise outgrow the machine's memory)
MAX_MEMO_BYTES = 2 * 1024**3

#: the batch keys that make an input: equal values at the real tokens, equal teacher outputs (it is frozen)
INPUT_KEYS = ("input_ids", "token_type_ids")


def memo_applies(kind: Any, weights: dict[str, float], reuse: bool, intermediate_terms: frozenset[str]) -> bool:
    """Whether a distillation of ``kind`` with these loss ``weights`` keeps the teacher's outputs."""
    if not reuse or not getattr(kind, "teacher_output_fields", ()):
        return False
    return not any(weight for name, weight in weights.items() if name in intermediate_terms)


class TeacherMemo:
    """Teacher outputs by input, for the fields a kind's loss terms read."""

    def __init__(self, fields: tuple[str, ...], per_token: bool | tuple[bool, ...], max_bytes: int = MAX_MEMO_BYTES) -> None:
        self.fields = fields
        #: per field: whether it has a row per token (kept at the real tokens) or one per example
        self.per_token = per_token if isinstance(per_token, tuple) else (per_token,) * len(fields)
        if len(self.per_token) != len(fields):
            raise ValueError(f"TeacherMemo: {len(fields)} fields but {len(self.per_token)} per-token flags")
        self.max_bytes = max_bytes
        #: bytes of the outputs held; ``full``: the memo reached ``max_bytes`` and keeps no more
        self.bytes = 0
        self.full = False
        self._rows: dict[bytes, tuple[Any, ...]] = {}
        #: batches answered from the memo and batches the teacher had to run for
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._rows)

    @staticmethod
    def _keys(inputs: dict[str, Any]) -> list[bytes]:
        """One key per example: its real tokens' ids and token types, and where the first real token is (with
        absolute positions, the same tokens padded on the left by another amount are another input)."""
        mask = inputs["attention_mask"].detach().cpu().bool()
        parts = [inputs[key].detach().cpu() for key in INPUT_KEYS if key in inputs]
        keys = []
        for i in range(mask.shape[0]):
            real = mask[i]
            first = int(real.int().argmax())
            digest = hashlib.blake2b(str(first).encode(), digest_size=16)
            for part in parts:
                digest.update(b"|")
                digest.update(part[i][real].contiguous().numpy().tobytes())
            keys.append(digest.digest())
        return keys

    def outputs(self, inputs: dict[str, Any], run_teacher: Callable[[], Any]) -> Any:
        """The teacher's outputs for this batch: from the memo when every example is in it, else from
        ``run_teacher()``, which the memo then keeps."""
        keys = self._keys(inputs)
        found = self._lookup(inputs, keys)
        if found is not None:
            return found
        outputs = run_teacher()
        self._store(inputs, keys, outputs)
        return outputs

    def lookup(self, inputs: dict[str, Any]) -> SimpleNamespace | None:
        """The teacher's outputs for this batch when every example is in the memo, else None."""
        return self._lookup(inputs, self._keys(inputs))

    def store(self, inputs: dict[str, Any], outputs: Any) -> None:
        """Keep the teacher's ``outputs`` for the examples of ``inputs`` (a batch it has just run on)."""
        self._store(inputs, self._keys(inputs), outputs)

    def _lookup(self, inputs: dict[str, Any], keys: list[bytes]) -> SimpleNamespace | None:
        import torch

        rows = [self._rows.get(key) for key in keys]
        if any(row is None for row in rows):
            self.misses += 1
            return None
        self.hits += 1
        mask = inputs["attention_mask"].detach().cpu().bool()
        device = inputs["input_ids"].device
        outputs = {}
        for f, name in enumerate(self.fields):
            pieces = [row[f] for row in rows]
            if self.per_token[f]:
                full = torch.zeros((*mask.shape, *pieces[0].shape[1:]), dtype=pieces[0].dtype)
                for i, piece in enumerate(pieces):
                    full[i][mask[i]] = piece
                outputs[name] = full.to(device)
            else:
                outputs[name] = torch.stack(pieces).to(device)
        return SimpleNamespace(**outputs)

    def _store(self, inputs: dict[str, Any], keys: list[bytes], outputs: Any) -> None:
        mask = inputs["attention_mask"].detach().cpu().bool()
        tensors = [getattr(outputs, name).detach().cpu() for name in self.fields]
        for i, key in enumerate(keys):
            if key in self._rows:
                continue
            row = tuple(
                tensor[i][mask[i]].clone() if per_token else tensor[i].clone()
                for tensor, per_token in zip(tensors, self.per_token, strict=True)
            )
            size = sum(piece.numel() * piece.element_size() for piece in row)
            if self.bytes + size > self.max_bytes:
                self.full = True
                return
            self._rows[key] = row
            self.bytes += size
