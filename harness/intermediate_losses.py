"""Intermediate-layer distillation losses (pure torch; no model code).

* TinyBERT (Jiao et al., 2020, "TinyBERT: Distilling BERT for Natural Language Understanding"): the MSE between
  the student's hidden states, mapped onto the teacher's width by a learned projection ``W_h``, and the
  teacher's (:func:`hidden_mse`), and a loss between the student's and the teacher's attention matrices
  (:func:`attention_kl`; here a KL divergence between attention distributions, as in MiniLM).
* MiniLM (Wang et al., 2020, "MiniLM: Deep Self-Attention Distillation for Task-Agnostic Compression of
  Pre-Trained Transformers"): transfer of the last layer's self-attention distributions, KL(teacher || student)
  per head and query (:func:`attention_kl`); this needs the same number of heads in both models.
* MiniLMv2 (Wang et al., 2021, "MiniLMv2: Multi-Head Self-Attention Relation Distillation for Compressing
  Pretrained Transformers"): query-query, key-key and value-value relations, computed after splitting each
  model's projections into the same number of *relation heads*; relations are [T, T] whatever a model's width
  or head count, so this works when the student and the teacher differ in both (:func:`relation_kl`).

Masks are [B, T] with 1 (or True) for a real token and 0 for padding. Every loss is a 0-dim tensor,
differentiable with respect to the student's tensors (and a projection's parameters).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor


def real_positions(mask: Tensor) -> Tensor:
    """The bool [B, T] mask of real (non-padding) tokens in ``mask`` (any int or bool dtype)."""
    if mask.dim() != 2:
        raise ValueError(f"the token mask must be [batch, tokens], not {tuple(mask.shape)}")
    return mask if mask.dtype == torch.bool else mask != 0


def _check_mask(name: str, mask: Tensor, batch: int, tokens: int) -> Tensor:
    real = real_positions(mask)
    if tuple(real.shape) != (batch, tokens):
        raise ValueError(
            f"{name}: the token mask {tuple(real.shape)} does not match [batch, tokens] = ({batch}, {tokens})"
        )
    return real


def hidden_mse(
    student: Tensor, teacher: Tensor, mask: Tensor, projection: torch.nn.Module | None = None
) -> Tensor:
    """TinyBERT's hidden-state loss: MSE between ``projection(student)`` [B, T, Ht] and ``teacher`` [B, T, Ht].

    The mean is over real token positions and hidden dims; padding positions count for nothing.
    """
    projected = projection(student) if projection is not None else student
    shapes = (
        f"hidden_mse: student hidden states {tuple(projected.shape)} and teacher's {tuple(teacher.shape)}"
    )
    if projected.dim() != 3 or teacher.dim() != 3 or projected.shape[:2] != teacher.shape[:2]:
        raise ValueError(f"{shapes} must be [batch, tokens, hidden] with the same batch and tokens")
    if projected.shape[-1] != teacher.shape[-1]:
        raise ValueError(f"{shapes} differ in width and no projection maps one onto the other")
    real = _check_mask("hidden_mse", mask, teacher.shape[0], teacher.shape[1])
    squared = (projected - teacher).pow(2).sum(-1)  # [B, T]
    # where (not a multiply) so that inf/nan in padding positions cannot leak into the loss
    total = torch.where(real, squared, torch.zeros_like(squared)).sum()
    return total / (real.sum().clamp(min=1) * teacher.shape[-1])


def _mean_row_kl(pointwise: Tensor, real: Tensor) -> Tensor:
    """Mean over heads and real query rows of per-row KL terms ``pointwise`` [B, A, T, T], real keys only."""
    keys = real[:, None, None, :]
    rows = torch.where(keys, pointwise, torch.zeros_like(pointwise)).sum(-1)  # [B, A, T]
    queries = real[:, None, :].expand_as(rows)
    total = torch.where(queries, rows, torch.zeros_like(rows)).sum()
    return total / (real.sum().clamp(min=1) * pointwise.shape[1])


def attention_kl(student: Tensor, teacher: Tensor, mask: Tensor, eps: float = 1e-12) -> Tensor:
    """MiniLM's attention transfer: KL(teacher || student) between attention probabilities [B, A, T, T].

    Rows are queries and sum to 1 over keys. Only real query rows and real keys count (probability mass on
    padded keys is ignored); the result is the mean over heads and real query rows. Teacher zeros contribute 0
    and student probabilities are clamped at ``eps``.
    """
    if student.dim() != 4 or student.shape != teacher.shape:
        raise ValueError(
            f"attention_kl needs the same number of attention heads and tokens, [batch, heads, tokens, tokens]: "
            f"student attention {tuple(student.shape)}, teacher's {tuple(teacher.shape)}; "
            "use relation_kl when head counts differ"
        )
    real = _check_mask("attention_kl", mask, teacher.shape[0], teacher.shape[2])
    pointwise = torch.xlogy(teacher, teacher) - torch.xlogy(teacher, student.clamp(min=eps))
    return _mean_row_kl(pointwise, real)


def _log_relation(x: Tensor, real: Tensor, heads: int, who: str) -> Tensor:
    """log softmax(X X^T / sqrt(d)) per relation head: [B, T, H] -> [B, heads, T, T], padded keys masked out."""
    batch, tokens, width = x.shape
    if width % heads:
        raise ValueError(f"relation_kl: the {who}'s width {width} is not divisible by relation_heads={heads}")
    d = width // heads
    split = x.reshape(batch, tokens, heads, d).transpose(1, 2)  # [B, heads, T, d]
    scores = split @ split.transpose(-1, -2) / math.sqrt(d)
    # a large finite negative, not -inf, so that an all-padding row stays finite (it is excluded later anyway)
    padded = ~real[:, None, None, :]
    scores = scores.masked_fill(padded, torch.finfo(scores.dtype).min)
    # padded keys' log-probabilities may be -inf: zero them so that no nan reaches the KL terms or their grads
    return torch.log_softmax(scores, dim=-1).masked_fill(padded, 0.0)


def relation_kl(
    student: Sequence[Tensor], teacher: Sequence[Tensor], mask: Tensor, relation_heads: int
) -> Tensor:
    """MiniLMv2's self-attention relation loss, averaged over the (student, teacher) pairs.

    ``student`` and ``teacher`` hold matching [B, T, H] tensors (typically the last layer's queries, keys and
    values; H may differ between the two models). Each is split into ``relation_heads`` heads, its relation
    softmax(X X^T / sqrt(d)) is taken over real keys, and KL(R_teacher || R_student) is averaged over relation
    heads and real query rows as in :func:`attention_kl`.
    """
    if relation_heads < 1:
        raise ValueError(f"relation_kl: relation_heads must be at least 1, not {relation_heads}")
    if len(student) != len(teacher) or not student:
        raise ValueError(
            f"relation_kl: needs as many student tensors as teacher tensors (and at least one): "
            f"{len(student)} student, {len(teacher)} teacher"
        )
    losses = []
    for s, t in zip(student, teacher, strict=True):
        if s.dim() != 3 or t.dim() != 3 or s.shape[:2] != t.shape[:2]:
            raise ValueError(
                f"relation_kl: student tensor {tuple(s.shape)} and teacher's {tuple(t.shape)} must be "
                "[batch, tokens, hidden] with the same batch and tokens"
            )
        real = _check_mask("relation_kl", mask, s.shape[0], s.shape[1])
        log_s = _log_relation(s, real, relation_heads, "student")
        log_t = _log_relation(t, real, relation_heads, "teacher")
        # log-space on both sides: exact where a softmax probability would underflow
        losses.append(_mean_row_kl(log_t.exp() * (log_t - log_s), real))
    return torch.stack(losses).mean()
