"""The adapt stage: the pretrained model adapted to the task more cheaply than by full fine-tuning.

One node per method the suite lists besides ``full`` (:data:`tasks.suite_settings.ADAPTATION_METHODS`): a
linear probe or LoRA (:mod:`harness.adaptation`). Each trains from the same pretrained checkpoint and head
initialisation as the teacher, is saved as a plain transformers model (LoRA merged), and is then exported
and recorded like any other model; students still distill from the fully fine-tuned teacher.

A probe trains its head on the frozen body's outputs, computed once per input and kept for the later epochs
(:mod:`harness.frozen_body`). Training FLOPs are counted for what the method computes: a probe runs the frozen
body forward on the tokens it had not kept (2·N per token) and its head forward and back on every token
(4·N_trained·D); LoRA back-propagates activations through the whole model (another 2·N·D) and computes weight
gradients only for its trainable parameters (2·N_trained·D).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

from harness.adaptation import LoraSettings, adapter_bytes, apply_lora, freeze_for_probe, merge_lora
from harness.cache import CacheEntry
from harness.estimate import encoder_params, training_seconds
from harness.graph import Node
from harness.options import display_name
from harness.results import Lineage
from harness.stages.train import _TrainingStage
from harness.train import count_tokens, fine_tune, non_embedding_params
from harness.variants import Variant

log = logging.getLogger("reusebench")

#: What each method is called in model names and reports.
METHOD_LABELS = {"probe": "linear probe", "lora": "LoRA"}


def adapted_name(unit: Any, method: str) -> str:
    """``all-MiniLM-L6-v2 (lora)``: the teacher's name with the method."""
    return f"{display_name(unit.teacher_name)} ({method})"


class AdaptStage(_TrainingStage):
    """Adapt the pretrained model by a linear probe or LoRA."""

    name: ClassVar[str] = "adapt"
    after: ClassVar[tuple[str, ...]] = ()

    def _settings(self, unit: Any, method: str) -> Any:
        return unit.suite.probe if method == "probe" else unit.suite.lora

    def payload(self, unit: Any, node: Node) -> dict[str, Any]:
        method = node.params["method"]
        payload = {
            "method": method,
            "settings": settings_payload(self._settings(unit, method)),
            **self.pretrained_payload(unit),
        }
        if method == "probe":  # probes cached before the frozen body trained with the body's dropout on
            payload["body"] = "frozen: eval mode, outputs kept"
        return payload

    def load(self, unit: Any, node: Node, entry: CacheEntry) -> Variant:
        method = node.params["method"]
        log.info("[%s] %s: cached (%s)", unit.spec.name, METHOD_LABELS[method], node.key)
        variant = self._from_entry(
            node, entry, adapted_name(unit, method), "adapted", method, Lineage(base_model=unit.teacher_name)
        )
        variant.method = method
        variant.trainable_params = int(entry.metadata["trainable_params"])
        return variant

    def compute(self, unit: Any, node: Node, folder: Path, meta: dict[str, Any]) -> Variant:
        method = node.params["method"]
        settings = self._settings(unit, method)
        options = unit.options
        log.info("[%s] adapting %s by %s", unit.spec.name, unit.teacher_name, METHOD_LABELS[method])
        model = self.load_pretrained(unit)  # the same head initialisation as the teacher's
        params = sum(p.numel() for p in model.parameters())
        model_n = non_embedding_params(model)
        if method == "probe":
            trained, trainable = model, freeze_for_probe(model)
        else:
            trained, trainable = apply_lora(model, lora_settings(settings))
            meta["adapter_bytes"] = adapter_bytes(trained)
        config = unit.spec.training.model_copy(
            update={
                "learning_rate": settings.learning_rate,
                "epochs": settings.epochs or unit.spec.training.epochs,
                "new_parameters_learning_rate": getattr(settings, "head_learning_rate", None),
            }
        )

        def train() -> Any:
            return fine_tune(
                trained, unit.kind, unit.tokenizer, unit.train_features, config,
                unit.dir / "work" / method, options.seed, options.device, options.progress, options.energy,
            )

        if method == "probe":
            # imported here: it imports torch, which no built-in module does at import (docs/architecture.md)
            from harness.frozen_body import frozen_body

            with frozen_body(model) as body:
                cost = train()
            # the body ran forward on the tokens the memo did not cover; the head ran forward and back on all
            cost.flops = 2.0 * model_n * body.tokens_run + 4.0 * trainable * cost.tokens
            log.info("  probe: the frozen body ran on %d of %d batches; the head trained on its kept outputs for "
                     "the rest", body.batches_run, cost.steps)
        else:
            cost = train()
            cost.flops = (4.0 * model_n + 2.0 * trainable) * cost.tokens
        if method == "lora":
            model = merge_lora(trained)
        else:
            for param in model.parameters():
                param.requires_grad = True
        unit.save_model(model, folder)
        variant = Variant(
            name=adapted_name(unit, method),
            role="adapted",
            pytorch_dir=folder,
            params=params,
            train_cost=cost,
            lineage=Lineage(base_model=unit.teacher_name),
            label=method,
            method=method,
            trainable_params=trainable,
        )
        self._store_metadata(variant, meta)
        meta["trainable_params"] = trainable
        return variant

    def estimate_s(self, unit: Any, node: Node) -> float:
        settings = self._settings(unit, node.params["method"])
        _, model_n = encoder_params(unit.teacher_source)
        model_n *= unit.kind.params_per_encoder_param
        epochs = settings.epochs or unit.spec.training.epochs
        tokens = count_tokens(unit.train_features)
        if node.params["method"] == "probe":  # one forward pass over the data (a third of an epoch's 6·N·D)
            return training_seconds(model_n, 0, tokens, 1) / 3
        return 2 / 3 * training_seconds(model_n, 0, tokens, epochs)  # LoRA: forward and activation gradients


def settings_payload(settings: Any) -> dict[str, Any]:
    """A method's settings as its cache key holds them: ``lora.layers`` only when set (LoRAs cached before the
    field existed adapted every layer, and keep their keys)."""
    dumped = settings.model_dump(mode="json")
    if "layers" in dumped and dumped["layers"] is None:
        del dumped["layers"]
    return dumped


def lora_settings(config: Any) -> LoraSettings:
    """The suite's ``lora:`` block as :class:`harness.adaptation.LoraSettings`."""
    targets = tuple(config.target_modules) if config.target_modules else None
    return LoraSettings(
        rank=config.rank,
        alpha=config.alpha,
        dropout=config.dropout,
        target_modules=targets,
        learning_rate=config.learning_rate,
        layers=tuple(config.layers) if config.layers is not None else None,
    )
