"""Layer-subset students: which teacher layers to keep, and cutting a model's layer stack down to them.

One copy for every kind: :func:`build_layer_student` is the generic cutter the harness uses for encoder-only
and decoder-only teachers (``harness.models`` re-exports it); :func:`keep_layers` cuts one stack inside a
module and is what kinds with several stacks (an encoder-decoder) build their own students with.
"""

from __future__ import annotations

import copy
from typing import Any

from tasks.errors import ConfigError, ModelError

#: Module lists that hold the transformer layers, by architecture family (searched under the base model).
LAYER_CONTAINERS = ("encoder.layer", "transformer.layer", "transformer.h", "layers", "h")


def spread_layers(total: int, keep: int) -> list[int]:
    """Which teacher layers a ``keep``-layer student copies: evenly spread, starting at layer 0.

    For 6 -> 3 this gives [0, 2, 4], DistilBERT's "every other layer" initialisation
    (Sanh et al. 2019, ``scripts/extract_distilbert.py``).
    """
    if keep > total:
        raise ConfigError(f"a {keep}-layer student cannot be cut from a {total}-layer teacher")
    step = total / keep
    return [int(i * step) for i in range(keep)]


def _replace_stack(parent: Any, leaf: str, stack: Any, layers: list[int], *, renumber: bool) -> None:
    """Set ``parent.<leaf>`` to the ``layers`` of ``stack``; ``renumber`` rewrites each kept layer's ``layer_idx``.

    The renumbering matters for generation: KV caches are built for the student's layer count and indexed
    by each attention module's ``layer_idx`` (a kept layer 4 of 3 would be out of range).
    """
    import torch

    kept = torch.nn.ModuleList([stack[i] for i in layers])
    if renumber:
        for new_index, layer in enumerate(kept):
            for sub in layer.modules():
                if hasattr(sub, "layer_idx"):
                    sub.layer_idx = new_index
    setattr(parent, leaf, kept)


def _stack_of_length(module: Any, count: int) -> tuple[Any, str, Any]:
    """The ModuleList of ``count`` transformer layers inside ``module``: (parent, attribute, list)."""
    import torch

    for name, child in module.named_modules():
        if isinstance(child, torch.nn.ModuleList) and len(child) == count and name:
            *parents, leaf = name.split(".")
            parent = module
            for part in parents:
                parent = getattr(parent, part)
            return parent, leaf, child
    raise ModelError(f"{type(module).__name__}: cannot find its {count} transformer layers to build a student")


def keep_layers(module: Any, count: int, layers: list[int]) -> None:
    """Keep ``layers`` of the ``count``-layer stack inside ``module`` (in place), renumbering ``layer_idx``."""
    if max(layers) >= count:
        raise ConfigError(f"student layers {layers}: the teacher stack has only {count} layers")
    parent, leaf, stack = _stack_of_length(module, count)
    _replace_stack(parent, leaf, stack, layers, renumber=True)


def _named_stack(model: Any) -> tuple[Any, str, Any]:
    """The layer list of ``model`` found through :data:`LAYER_CONTAINERS`: (parent, attribute, list)."""
    base = getattr(model, model.base_model_prefix, model)
    for dotted in LAYER_CONTAINERS:
        parent, node = None, base
        for part in dotted.split("."):
            parent, node = node, getattr(node, part, None)
            if node is None:
                break
        if node is not None and hasattr(node, "__len__"):
            return parent, dotted.rsplit(".", 1)[-1], node
    raise ModelError(f"{type(model).__name__}: cannot find its transformer layers to build a layer-subset student")


def build_layer_student(teacher: Any, layers: list[int]) -> Any:
    """A copy of ``teacher`` that keeps only the given layers (embeddings and head are copied too)."""
    _, _, teacher_layers = _named_stack(teacher)
    if max(layers) >= len(teacher_layers):
        raise ConfigError(f"student layers {layers}: the teacher has only {len(teacher_layers)} layers")
    student = copy.deepcopy(teacher)
    # Replace the container in place so every reference (e.g. encoder.layer) sees the subset.
    parent, leaf, stack = _named_stack(student)
    # No renumbering here: the generic cutter serves encoder heads, whose layers never index a cache
    # (generation students are cut by their kind, with keep_layers).
    _replace_stack(parent, leaf, stack, layers, renumber=False)
    for attr in ("num_hidden_layers", "n_layer", "num_layers"):
        if hasattr(student.config, attr):
            setattr(student.config, attr, len(layers))
    return student
