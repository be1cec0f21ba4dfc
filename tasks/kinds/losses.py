"""Distillation loss terms shared by the task kinds."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kd_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Temperature-scaled KL(teacher || student), multiplied by T^2 (Hinton et al. 2015).

    The T^2 factor keeps the gradient scale of the soft term independent of the temperature.
    Logits of shape (N, C); the KL is averaged over the N rows ("batchmean").
    """
    log_student = F.log_softmax(student_logits / temperature, dim=-1)
    log_teacher = F.log_softmax(teacher_logits / temperature, dim=-1)
    kl = F.kl_div(log_student, log_teacher, reduction="batchmean", log_target=True)
    return kl * temperature**2


def hard_ce(student_logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Cross-entropy to the gold labels."""
    return F.cross_entropy(student_logits.reshape(-1, student_logits.shape[-1]), labels.reshape(-1), ignore_index=ignore_index)
