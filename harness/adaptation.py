"""Cheaper ways to adapt a pretrained model than updating all of its weights: a linear probe and LoRA.

Both start from the model with its new task head (:func:`harness.models.load_model_for_kind` marks the
head's parameters as new) and leave the training loop to :func:`harness.train.fine_tune`:

- a **linear probe** freezes every pretrained parameter and trains only the new head, so the score says
  what the frozen features already hold (Alain & Bengio 2016; the "linear evaluation" of Kornblith et al. 2019);
- **LoRA** (Hu et al. 2021) adds trainable rank-``r`` updates to the named linear layers through ``peft`` and
  trains them with the new head; the adapter is merged into the weights afterwards, so the saved model is
  a plain transformers model that exports to ONNX, int8 and latency measurement like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tasks.errors import ConfigError
from tasks.kinds.base import mark_new_parameters, new_parameter_names

#: The adaptation methods a suite may list, cheapest first.
METHODS: tuple[str, ...] = ("estimate", "probe", "lora", "full")

#: LoRA's default target modules per model type: the attention query and value projections, where Hu et
#: al. (2021, §7.1) found most of the benefit at a fixed parameter budget. peft has the same table for
#: BERT, RoBERTa and Llama; MPNet and BERT2BERT (``encoder-decoder``) are added here.
DEFAULT_TARGET_MODULES: dict[str, tuple[str, ...]] = {
    "bert": ("query", "value"),
    "roberta": ("query", "value"),
    "xlm-roberta": ("query", "value"),
    "distilbert": ("q_lin", "v_lin"),
    "mpnet": ("q", "v"),
    "llama": ("q_proj", "v_proj"),
    "encoder-decoder": ("query", "value"),
}


@dataclass(frozen=True)
class LoraSettings:
    """LoRA's hyper-parameters. Defaults: rank 8 and alpha 16 with dropout 0.1 on the query and value
    projections, learning rate 5e-4 (Hu et al. 2021, Table 9, RoBERTa-base on GLUE: r = 8, lr 4e-4 to 5e-4)."""

    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.1
    target_modules: tuple[str, ...] | None = None
    learning_rate: float = 5e-4
    #: the layers (block indices) that get adapters; None: every layer
    layers: tuple[int, ...] | None = None


def head_modules(model: Any) -> list[str]:
    """The modules that hold the model's new (randomly initialised) parameters: its task head."""
    return sorted({name.rsplit(".", 1)[0] for name in new_parameter_names(model) if "." in name})


def freeze_for_probe(model: Any) -> int:
    """Freeze every pretrained parameter of ``model`` (its new head stays trainable); returns the
    trainable parameter count. A model without a new head cannot be probed: its error says so."""
    new = new_parameter_names(model)
    if not new:
        raise ConfigError(
            f"adaptation 'probe': {type(model).__name__} has no new task head to train on frozen features"
        )
    trainable = 0
    for name, param in model.named_parameters():
        param.requires_grad = name in new
        trainable += param.numel() if param.requires_grad else 0
    return trainable


def linear_module_names(model: Any) -> list[str]:
    """The distinct leaf names of the model's linear layers (what LoRA's ``target_modules`` may name)."""
    import torch

    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)})


#: ``target_modules: all-linear`` (peft's name for it): every linear layer of the model's blocks, whatever the
#: architecture calls them, so that one suite adapts BERT (query, key, value, dense) and MPNet (q, k, v, o, dense)
#: alike.
ALL_LINEAR = "all-linear"


def block_linear_names(model: Any) -> list[str]:
    """The distinct leaf names of the linear layers inside the model's numbered blocks (``encoder.layer.3.…``),
    the task head excluded: what ``target_modules: all-linear`` stands for."""
    import torch

    head = tuple(f"{name}." for name in head_modules(model))
    return sorted({
        name.rsplit(".", 1)[-1] for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and _LAYER_INDEX.match(name) and not name.startswith(head)
    })


def target_modules(model: Any, requested: tuple[str, ...] | None) -> list[str]:
    """The target modules LoRA will use: ``requested`` (``all-linear``: every linear layer of the blocks), or
    the default of the model's type; each must name at least one linear layer of the model (the error lists
    the names it has)."""
    model_type = str(getattr(model.config, "model_type", ""))
    if requested and ALL_LINEAR in requested:
        if len(requested) > 1:
            raise ConfigError(f"lora.target_modules: {ALL_LINEAR!r} stands alone (it names every linear layer "
                              "of the blocks); give it or a list of names")
        requested = tuple(block_linear_names(model))
    names = list(requested) if requested else list(DEFAULT_TARGET_MODULES.get(model_type, ()))
    available = linear_module_names(model)
    if not names:
        raise ConfigError(
            f"lora.target_modules: no default for model type {model_type!r}; "
            f"name some of its linear layers: {', '.join(available)}"
        )
    missing = [name for name in names if name not in available]
    if missing:
        raise ConfigError(
            f"lora.target_modules: {', '.join(missing)}: no linear layer of {type(model).__name__} has that name; "
            f"its linear layers are named: {', '.join(available)}"
        )
    return names


#: How peft finds a module's block index when ``layers_to_transform`` is given (its default, no
#: ``layers_pattern``): the first numbered segment of the module's name, ``encoder.layer.3.attention...``.
_LAYER_INDEX = re.compile(r".*?\.[^.]*\.(?P<idx>\d+)\.")


def adapted_layers(model: Any, targets: list[str]) -> list[int]:
    """The block indices of ``model`` that hold a linear layer named in ``targets`` (what ``lora.layers``
    may name), found as peft finds them."""
    import torch

    found = set()
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name.rsplit(".", 1)[-1] in targets:
            match = _LAYER_INDEX.match(name)
            if match:
                found.add(int(match["idx"]))
    return sorted(found)


def check_layers(model: Any, targets: list[str], layers: tuple[int, ...] | None) -> None:
    """``lora.layers`` against the model: every index must be a block that holds a target module."""
    if layers is None:
        return
    available = adapted_layers(model, targets)
    missing = [index for index in layers if index not in available]
    if missing:
        have = f"{available[0]}-{available[-1]}" if available else "none"
        raise ConfigError(
            f"lora.layers: {', '.join(map(str, missing))}: {type(model).__name__} has no such block with "
            f"{', '.join(targets)} layers (its blocks: {have})"
        )


def apply_lora(model: Any, settings: LoraSettings) -> tuple[Any, int]:
    """Wrap ``model`` with LoRA adapters on its target modules (the new head trains in full); returns the
    ``peft`` model and its trainable parameter count."""
    from peft import LoraConfig, get_peft_model

    targets = target_modules(model, settings.target_modules)
    check_layers(model, targets, settings.layers)
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=targets,
        layers_to_transform=list(settings.layers) if settings.layers is not None else None,
        modules_to_save=head_modules(model) or None,
        bias="none",
    )
    new = new_parameter_names(model)
    wrapped = get_peft_model(model, config)
    trainable = sum(param.numel() for param in wrapped.parameters() if param.requires_grad)
    # the head's trained copy is the wrapped model's "new" parameters (training.new_parameters_learning_rate
    # gives them the head's rate); the plain model's names are put back on it by merge_lora
    wrapped.reusebench_plain_new_parameters = new
    mark_new_parameters(wrapped, {
        name for name, param in wrapped.named_parameters() if param.requires_grad and "lora_" not in name
    })
    return wrapped, trainable


def adapter_bytes(wrapped: Any) -> int:
    """Bytes of the LoRA matrices alone (what an adapter file would hold, without the head)."""
    return sum(p.numel() * p.element_size() for name, p in wrapped.named_parameters() if "lora_" in name)


def merge_lora(wrapped: Any) -> Any:
    """The plain transformers model with the adapters merged into its weights (and the head's trained
    copy in place), ready to save, export and quantize like a fully fine-tuned one."""
    new = getattr(wrapped, "reusebench_plain_new_parameters", frozenset())
    model = wrapped.merge_and_unload()
    for param in model.parameters():
        param.requires_grad = True
    mark_new_parameters(model, new)
    return model
