"""Word-level distillation terms for generation (Kim & Rush 2016; the DistilBART recipe's defaults)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.kinds.generation.features import IGNORE_INDEX

if TYPE_CHECKING:
    import torch

    from tasks.spec import DistillationConfig

# Shleifer & Rush 2020 (DistilBART), seq2seq-distillation/distillation.py: temperature = 2.0.
WORD_KD_TEMPERATURE = 2.0


def kd_temperature(config: DistillationConfig) -> float:
    """The task file's temperature when it sets one, else the DistilBART recipe's 2.0."""
    return config.temperature if "temperature" in config.model_fields_set else WORD_KD_TEMPERATURE


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
