"""Intermediate-layer distillation: which layers learn from which, and the terms' inputs from both models.

The terms themselves are in :mod:`harness.intermediate_losses`. This module resolves the suite's
``distillation.layer_map`` against the two models' depths, finds the last layer's query, key and value
projections (for MiniLMv2's relations, captured with forward hooks), adds the learned projections of
TinyBERT's hidden-state loss when the student is narrower than the teacher, and computes the weighted terms
for one batch from the two models' outputs. Everything that can be wrong is reported as a one-line
ConfigError naming the field, before any training (:func:`check_intermediate` runs in the pre-flight check).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tasks.errors import ConfigError

#: the terms this module adds to a kind's loss (``distillation.weights`` names them)
INTERMEDIATE_TERMS = ("hidden_mse", "attention_kl", "relation_kl")
#: the module names of a self-attention block's query, key and value projections, by architecture family
QKV_NAMES = (("query", "key", "value"), ("q", "k", "v"), ("q_proj", "k_proj", "v_proj"), ("q_lin", "k_lin", "v_lin"))
PROJECTION_ATTRIBUTE = "distillation_projections"


def resolve_layer_map(layer_map: str | Mapping[int, int], student_layers: int, teacher_layers: int) -> dict[int, int]:
    """``{student layer: teacher layer}`` (0-based) for ``distillation.layer_map`` and the two depths."""
    if isinstance(layer_map, Mapping):
        resolved = {int(s): int(t) for s, t in layer_map.items()}
    elif layer_map == "uniform":  # TinyBERT (Jiao et al. 2020): g(m) = m * N / M, 1-based
        resolved = {i: (i + 1) * teacher_layers // student_layers - 1 for i in range(student_layers)}
    else:
        match = re.fullmatch(r"last(?:-(\d+))?", layer_map)
        count = int(match.group(1) or 1) if match else 0
        if not match or count > min(student_layers, teacher_layers):
            raise ConfigError(
                f"field 'distillation.layer_map': {layer_map!r} needs {count} layers, but the student has "
                f"{student_layers} and the teacher {teacher_layers}"
            )
        resolved = {student_layers - count + i: teacher_layers - count + i for i in range(count)}
    for student, teacher in resolved.items():
        if not 0 <= student < student_layers:
            raise ConfigError(
                f"field 'distillation.layer_map': student layer {student} does not exist (the student has "
                f"{student_layers} layers, 0-{student_layers - 1})"
            )
        if not 0 <= teacher < teacher_layers:
            raise ConfigError(
                f"field 'distillation.layer_map': teacher layer {teacher} does not exist (the teacher has "
                f"{teacher_layers} layers, 0-{teacher_layers - 1})"
            )
    return resolved


def _layer_count(config: Any) -> int:
    for name in ("num_hidden_layers", "n_layer", "num_layers"):
        if isinstance(getattr(config, name, None), int):
            return int(getattr(config, name))
    raise ConfigError(f"intermediate distillation: the {type(config).__name__} does not say how many layers it has")


def qkv_modules(model: Any) -> tuple[Any, Any, Any]:
    """The query, key and value projections of ``model``'s last self-attention layer."""
    import torch

    by_layer: dict[int, dict[str, Any]] = {}
    for name, module in model.named_modules():
        parts = name.split(".")
        if not isinstance(module, torch.nn.Linear) or "crossattention" in parts or "encoder_attn" in parts:
            continue
        numbers = [int(p) for p in parts if p.isdigit()]
        if numbers:
            by_layer.setdefault(numbers[-1], {})[parts[-1]] = module
    for layer in sorted(by_layer, reverse=True)[:1]:
        for names in QKV_NAMES:
            if all(n in by_layer[layer] for n in names):
                return tuple(by_layer[layer][n] for n in names)  # type: ignore[return-value]
    raise ConfigError(
        f"field 'distillation.weights': relation_kl needs the query, key and value projections of the last layer, "
        f"and the {type(model).__name__} has none named {' / '.join('-'.join(n) for n in QKV_NAMES)}"
    )


def check_intermediate(weights: Mapping[str, float], config: Any, teacher_config: Any, student_config: Any,
                       student_layers: int | None = None) -> None:
    """The terms of ``weights`` against the two models' configurations (no weights are read): layer map in range,
    equal head counts for attention_kl, relation heads that divide both widths."""
    used = {term for term in INTERMEDIATE_TERMS if weights.get(term)}
    if not used:
        return
    teacher_layers = _layer_count(teacher_config)
    student_layers = student_layers if student_layers is not None else _layer_count(student_config)
    if used & {"hidden_mse", "attention_kl"}:
        resolve_layer_map(config.layer_map, student_layers, teacher_layers)
    if "attention_kl" in used:
        heads = (student_config.num_attention_heads, teacher_config.num_attention_heads)
        if heads[0] != heads[1]:
            raise ConfigError(
                f"field 'distillation.weights': attention_kl compares attention maps head by head, but the student "
                f"has {heads[0]} heads and the teacher {heads[1]}; use relation_kl, which works across head counts"
            )
    if "relation_kl" in used:
        heads = config.relation_heads or teacher_config.num_attention_heads
        for who, width in (("student", student_config.hidden_size), ("teacher", teacher_config.hidden_size)):
            if width % heads:
                raise ConfigError(
                    f"field 'distillation.relation_heads': {heads} relation heads do not divide the {who}'s "
                    f"hidden size {width}"
                )


class IntermediateTerms:
    """The intermediate terms of one distillation: hooks, projections and the per-batch values."""

    def __init__(self, weights: Mapping[str, float], config: Any, student: Any, teacher: Any) -> None:
        import torch

        self.used = tuple(term for term in INTERMEDIATE_TERMS if weights.get(term))
        s_config, t_config = student.config, teacher.config
        check_intermediate(weights, config, t_config, s_config)
        self.layer_map = resolve_layer_map(config.layer_map, _layer_count(s_config), _layer_count(t_config))
        self.relation_heads = config.relation_heads or t_config.num_attention_heads
        self._captured: dict[str, list[Any]] = {"student": [None] * 3, "teacher": [None] * 3}
        self._hooks: list[Any] = []
        if "relation_kl" in self.used:
            for who, model in (("student", student), ("teacher", teacher)):
                for index, module in enumerate(qkv_modules(model)):
                    self._hooks.append(module.register_forward_hook(self._capture(who, index)))
        self.projections = None
        if "hidden_mse" in self.used and s_config.hidden_size != t_config.hidden_size:
            # TinyBERT's W_h: one learned map per matched layer, trained with the student and dropped after.
            self.projections = torch.nn.ModuleList(
                torch.nn.Linear(s_config.hidden_size, t_config.hidden_size) for _ in self.layer_map
            )
            setattr(student, PROJECTION_ATTRIBUTE, self.projections)

    def _capture(self, who: str, index: int) -> Any:
        def hook(module: Any, args: Any, output: Any) -> None:
            self._captured[who][index] = output  # 0 query, 1 key, 2 value

        return hook

    @property
    def forward_kwargs(self) -> dict[str, bool]:
        """What both models' forward calls must be asked for."""
        return {"output_hidden_states": "hidden_mse" in self.used, "output_attentions": "attention_kl" in self.used}

    def start_batch(self) -> None:
        """Forget the previous batch's captured projections (call before the two forward passes)."""
        for captured in self._captured.values():
            captured[:] = [None] * 3

    def terms(self, student_outputs: Any, teacher_outputs: Any, mask: Any) -> dict[str, Any]:
        """The values of the used terms for this batch (unweighted)."""
        from harness.intermediate_losses import attention_kl, hidden_mse, relation_kl

        values: dict[str, Any] = {}
        pairs = list(self.layer_map.items())
        if "hidden_mse" in self.used:
            losses = [
                hidden_mse(student_outputs.hidden_states[s + 1], teacher_outputs.hidden_states[t + 1], mask,
                           self.projections[i] if self.projections is not None else None)
                for i, (s, t) in enumerate(pairs)
            ]
            values["hidden_mse"] = sum(losses) / len(losses)
        if "attention_kl" in self.used:
            if student_outputs.attentions is None or teacher_outputs.attentions is None:
                raise ConfigError("field 'distillation.weights': attention_kl needs attention maps, and the model "
                                  "returned none (its attention implementation cannot output them)")
            losses = [attention_kl(student_outputs.attentions[s], teacher_outputs.attentions[t], mask) for s, t in pairs]
            values["attention_kl"] = sum(losses) / len(losses)
        if "relation_kl" in self.used:
            values["relation_kl"] = relation_kl(self._captured["student"], self._captured["teacher"], mask,
                                                self.relation_heads)
        return values

    def close(self, student: Any) -> None:
        """Remove the hooks and the projections (they are not part of the student that is saved)."""
        for hook in self._hooks:
            hook.remove()
        if hasattr(student, PROJECTION_ATTRIBUTE):
            delattr(student, PROJECTION_ATTRIBUTE)
