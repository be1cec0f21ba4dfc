"""Intermediate-layer distillation losses against values computed by hand with ``math``."""

from __future__ import annotations

import math
import re

import pytest
import torch

from harness.intermediate_losses import attention_kl, hidden_mse, real_positions, relation_kl

F64 = torch.float64


def t64(values) -> torch.Tensor:
    return torch.tensor(values, dtype=F64)


# ---------------------------------------------------------------- hidden_mse


def test_hidden_mse_hand_value():
    student = t64([[[1.0, 2.0], [3.0, 4.0]]])
    teacher = t64([[[0.0, 2.0], [1.0, 1.0]]])
    loss = hidden_mse(student, teacher, torch.tensor([[1, 1]]))
    # sum of squared differences / (2 positions * 2 dims)
    expected = ((1 - 0) ** 2 + (2 - 2) ** 2 + (3 - 1) ** 2 + (4 - 1) ** 2) / (2 * 2)
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_hidden_mse_ignores_padding_positions():
    teacher = t64([[[0.0, 2.0], [1.0, 1.0], [5.0, 5.0]]])
    mask = torch.tensor([[True, True, False]])
    student = t64([[[1.0, 2.0], [3.0, 4.0], [0.0, 0.0]]])
    changed = student.clone()
    changed[0, 2] = t64([100.0, -7.0])
    # only the two real positions: (1 + 0 + 4 + 9) / (2 * 2)
    expected = (1 + 0 + 4 + 9) / 4
    assert hidden_mse(student, teacher, mask).item() == pytest.approx(expected, rel=1e-12)
    assert hidden_mse(changed, teacher, mask).item() == pytest.approx(expected, rel=1e-12)


def test_hidden_mse_projection_maps_narrow_student_and_gets_gradient():
    projection = torch.nn.Linear(1, 2).to(F64)
    with torch.no_grad():
        projection.weight.copy_(t64([[2.0], [-1.0]]))
        projection.bias.copy_(t64([0.5, 0.0]))
    student = t64([[[1.0], [2.0]]])
    teacher = t64([[[2.0, -1.0], [4.0, 0.0]]])
    loss = hidden_mse(student, teacher, torch.tensor([[1, 1]]), projection=projection)
    # projected: [2*1+0.5, -1*1] = [2.5, -1], [2*2+0.5, -1*2] = [4.5, -2]
    expected = ((2.5 - 2) ** 2 + (-1 + 1) ** 2 + (4.5 - 4) ** 2 + (-2 - 0) ** 2) / (2 * 2)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    loss.backward()
    # dL/dW_j = sum_pos 2 * (p_j - t_j) * s / 4
    grad_w0 = 2 * ((2.5 - 2) * 1 + (4.5 - 4) * 2) / 4
    grad_w1 = 2 * ((-1 + 1) * 1 + (-2 - 0) * 2) / 4
    assert projection.weight.grad is not None
    assert projection.weight.grad[:, 0].tolist() == pytest.approx([grad_w0, grad_w1], rel=1e-12)


def test_hidden_mse_width_mismatch_names_both_shapes():
    student, teacher = torch.zeros(2, 5, 32), torch.zeros(2, 5, 64)
    with pytest.raises(ValueError, match=re.escape("(2, 5, 32)") + ".*" + re.escape("(2, 5, 64)")):
        hidden_mse(student, teacher, torch.ones(2, 5))


# ---------------------------------------------------------------- attention_kl


def test_attention_kl_identical_is_zero():
    probs = torch.softmax(torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(0), dtype=F64), -1)
    loss = attention_kl(probs, probs.clone(), torch.ones(2, 4, dtype=torch.long))
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(0.0, abs=1e-12)


def test_attention_kl_hand_value():
    teacher = t64([[[[0.5, 0.5], [1.0, 0.0]]]])
    student = t64([[[[0.25, 0.75], [0.5, 0.5]]]])
    loss = attention_kl(student, teacher, torch.tensor([[1, 1]]))
    # per row sum_k t*ln(t/s), with t=0 contributing 0; mean over the 2 query rows of 1 head
    row0 = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    row1 = 1.0 * math.log(1.0 / 0.5)
    assert loss.item() == pytest.approx((row0 + row1) / 2, rel=1e-12)


def test_attention_kl_ignores_masked_queries_and_keys():
    mask = torch.tensor([[1, 1, 0]])
    teacher = t64([[[[0.4, 0.4, 0.2], [0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]]])
    student = t64([[[[0.2, 0.6, 0.2], [0.25, 0.25, 0.5], [0.8, 0.1, 0.1]]]])
    # rows 0 and 1 only, keys 0 and 1 only: sum_k t*ln(t/s), mean over 2 rows
    row0 = 0.4 * math.log(0.4 / 0.2) + 0.4 * math.log(0.4 / 0.6)
    row1 = 0.5 * math.log(0.5 / 0.25) + 0.3 * math.log(0.3 / 0.25)
    expected = (row0 + row1) / 2
    assert attention_kl(student, teacher, mask).item() == pytest.approx(expected, rel=1e-12)
    changed = student.clone()
    changed[0, 0, 2] = t64([0.0, 0.0, 1.0])  # padded query row
    changed[0, 0, :2, 2] = t64([0.9, 0.01])  # padded key column
    assert attention_kl(changed, teacher, mask).item() == pytest.approx(expected, rel=1e-12)


def test_attention_kl_head_count_mismatch_raises():
    with pytest.raises(ValueError, match=r"\(1, 2, 3, 3\).*\(1, 4, 3, 3\).*relation_kl"):
        attention_kl(torch.full((1, 2, 3, 3), 1 / 3), torch.full((1, 4, 3, 3), 1 / 3), torch.ones(1, 3))


# ---------------------------------------------------------------- relation_kl


def _softmax(row: list[float]) -> list[float]:
    exps = [math.exp(v) for v in row]
    return [e / sum(exps) for e in exps]


def _kl(t: list[float], s: list[float]) -> float:
    return sum(ti * math.log(ti / si) for ti, si in zip(t, s, strict=True))


# T=2, H=2, one relation head (d=2): relations softmax(X X^T / sqrt(2)) by hand
STUDENT_X = [[[1.0, 0.0], [0.0, 1.0]]]  # X X^T = [[1, 0], [0, 1]]
TEACHER_X = [[[1.0, 1.0], [1.0, 0.0]]]  # X X^T = [[2, 1], [1, 1]]
R2 = math.sqrt(2)
HAND_RELATION_KL = (
    _kl(_softmax([2 / R2, 1 / R2]), _softmax([1 / R2, 0.0]))
    + _kl(_softmax([1 / R2, 1 / R2]), _softmax([0.0, 1 / R2]))
) / 2


def test_relation_kl_identical_is_zero():
    x = torch.randn(2, 4, 8, generator=torch.Generator().manual_seed(1), dtype=F64)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    loss = relation_kl([x, 2 * x, -x], [x.clone(), 2 * x, -x], mask, relation_heads=4)
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(0.0, abs=1e-12)


def test_relation_kl_hand_value():
    loss = relation_kl([t64(STUDENT_X)], [t64(TEACHER_X)], torch.tensor([[1, 1]]), relation_heads=1)
    assert loss.item() == pytest.approx(HAND_RELATION_KL, rel=1e-10)
    # mean over pairs: the second (teacher, teacher) pair contributes 0
    pairs = relation_kl([t64(STUDENT_X), t64(TEACHER_X)], [t64(TEACHER_X)] * 2, torch.tensor([[1, 1]]), 1)
    assert pairs.item() == pytest.approx(HAND_RELATION_KL / 2, rel=1e-10)


def test_relation_kl_ignores_padding():
    student = t64([[[1.0, 0.0], [0.0, 1.0], [9.0, -3.0]]])
    teacher = t64([[[1.0, 1.0], [1.0, 0.0], [-4.0, 7.0]]])
    loss = relation_kl([student], [teacher], torch.tensor([[1, 1, 0]]), relation_heads=1)
    assert loss.item() == pytest.approx(HAND_RELATION_KL, rel=1e-10)


def test_relation_kl_different_widths_is_differentiable():
    gen = torch.Generator().manual_seed(2)
    student = [torch.randn(2, 3, 4, generator=gen, requires_grad=True) for _ in range(3)]
    teacher = [torch.randn(2, 3, 8, generator=gen) for _ in range(3)]
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    loss = relation_kl(student, teacher, mask, relation_heads=2)
    assert loss.dim() == 0 and torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    for s in student:
        assert s.grad is not None and torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0
        assert torch.all(s.grad[0, 2] == 0)  # a padded position gets no gradient


def test_relation_kl_bad_arguments_raise():
    mask = torch.ones(1, 3)
    with pytest.raises(ValueError, match=r"student's width 5 .*relation_heads=2"):
        relation_kl([torch.zeros(1, 3, 5)], [torch.zeros(1, 3, 8)], mask, relation_heads=2)
    with pytest.raises(ValueError, match=r"teacher's width 6 .*relation_heads=4"):
        relation_kl([torch.zeros(1, 3, 8)], [torch.zeros(1, 3, 6)], mask, relation_heads=4)
    with pytest.raises(ValueError, match="at least 1"):
        relation_kl([torch.zeros(1, 3, 4)], [torch.zeros(1, 3, 4)], mask, relation_heads=0)
    with pytest.raises(ValueError, match="1 student, 2 teacher"):
        relation_kl([torch.zeros(1, 3, 4)], [torch.zeros(1, 3, 4)] * 2, mask, relation_heads=1)
    with pytest.raises(ValueError, match="same batch and tokens"):
        relation_kl([torch.zeros(1, 3, 4)], [torch.zeros(1, 2, 4)], mask, relation_heads=1)


def test_real_positions_accepts_int_and_bool():
    assert real_positions(torch.tensor([[1, 0, 2]])).tolist() == [[True, False, True]]
    assert real_positions(torch.tensor([[True, False]])).dtype == torch.bool
