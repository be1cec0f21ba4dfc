"""The training stages: the teacher's fine-tuning and each student's distillation.

Both store the trained model folder as the cache entry, with its parameter count, training cost and a
fresh *build* id: later stages key on the build, so a model trained again under the same key (its entry
evicted) never inherits the exports and records of the old one.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any, ClassVar

from harness.cache import CacheEntry
from harness.estimate import encoder_params, training_seconds
from harness.graph import Node, StageBase
from harness.intermediate import INTERMEDIATE_TERMS
from harness.models import StudentSpec, load_model_for_kind
from harness.options import display_name
from harness.results import Lineage
from harness.students import builder_of
from harness.teacher_memo import memo_applies
from harness.train import TrainCost, count_tokens, distill, fine_tune
from harness.variants import Variant, build_of, model_identity, seed_everything
from tasks.kinds.base import initialise_output_bias

log = logging.getLogger("reusebench")


class _TrainingStage(StageBase):
    """What the two training stages share: the entry's metadata, and the variant read back from it."""

    def build(self, node: Node, metadata: dict[str, Any]) -> str:
        return build_of(metadata, str(node.key))

    @staticmethod
    def _store_metadata(variant: Variant, meta: dict[str, Any]) -> None:
        meta["params"] = variant.params
        meta["train_cost"] = variant.train_cost.to_dict() if variant.train_cost else None
        meta["build"] = variant.build = uuid.uuid4().hex

    @staticmethod
    def pretrained_payload(unit: Any) -> dict[str, Any]:
        """What a model trained from the pretrained checkpoint depends on: the task (less what only students
        and the method lists read), its training data, the checkpoint, the seed, the device, and how the head
        starts when not as drawn."""
        payload = {
            "task": unit.spec.model_dump(mode="json", exclude={"description", "distillation", "adaptation"}),
            "data": unit.data_fingerprint["train"],
            "teacher": model_identity(unit.teacher_source),
            "seed": unit.options.seed,
            "device": unit.options.device,
        }
        head_init = unit.kind.head_bias_init(unit.spec)
        if head_init:  # only then, so that the other kinds' cache keys stay as they were
            payload["head_bias"] = head_init
        return payload

    @staticmethod
    def load_pretrained(unit: Any) -> Any:
        """The pretrained checkpoint with the task's head, its new weights drawn from the run's seed."""
        options = unit.options
        seed_everything(options.seed)
        model = unit.kind.build_model(unit.teacher_source, unit.spec) or load_model_for_kind(
            unit.teacher_source,
            unit.kind.auto_class,
            unit.kind.model_kwargs(unit.spec),
            trust_remote_code=options.trust_remote_code,
            allow_pickle=options.allow_pickle,
        )
        if unit.kind.head_bias_init(unit.spec) == "target mean":
            initialise_output_bias(model, unit.train_features["labels"])
        return model

    def stored(self, unit: Any, node: Node, result: Variant, path: Path) -> Variant:
        result.pytorch_dir = path
        result.key = str(node.key)
        return result

    @staticmethod
    def _from_entry(node: Node, entry: CacheEntry, name: str, role: str, label: str, lineage: Lineage) -> Variant:
        meta = entry.metadata
        return Variant(
            name=name,
            role=role,
            pytorch_dir=entry.path,
            params=int(meta["params"]),
            train_cost=TrainCost(**meta["train_cost"]),
            lineage=lineage,
            key=str(node.key),
            build=build_of(meta, str(node.key)),
            label=label,
            cached=True,
        )


class FinetuneStage(_TrainingStage):
    """Fine-tune the pretrained teacher on the task."""

    name: ClassVar[str] = "finetune"
    after: ClassVar[tuple[str, ...]] = ()

    def payload(self, unit: Any, node: Node) -> dict[str, Any]:
        return self.pretrained_payload(unit)

    def load(self, unit: Any, node: Node, entry: CacheEntry) -> Variant:
        log.info("[%s] teacher: cached (%s)", unit.spec.name, node.key)
        unit.teacher_dir = entry.path
        lineage = Lineage(base_model=unit.teacher_name)
        return self._from_entry(node, entry, display_name(unit.teacher_name), "teacher", "teacher", lineage)

    def compute(self, unit: Any, node: Node, folder: Path, meta: dict[str, Any]) -> Variant:
        log.info("[%s] fine-tuning teacher %s", unit.spec.name, unit.teacher_name)
        options = unit.options
        model = self.load_pretrained(unit)
        cost = fine_tune(
            model,
            unit.kind,
            unit.tokenizer,
            unit.train_features,
            unit.spec.training,
            unit.dir / "work" / "teacher",
            options.seed,
            options.device,
            options.progress,
            options.energy,
        )
        unit.save_model(model, folder)
        unit.teacher_model = model
        variant = Variant(
            name=display_name(unit.teacher_name),
            role="teacher",
            pytorch_dir=folder,
            params=sum(p.numel() for p in model.parameters()),
            train_cost=cost,
            lineage=Lineage(base_model=unit.teacher_name),
        )
        self._store_metadata(variant, meta)
        return variant

    def stored(self, unit: Any, node: Node, result: Variant, path: Path) -> Variant:
        unit.teacher_dir = path
        return super().stored(unit, node, result, path)

    def estimate_s(self, unit: Any, node: Node) -> float:
        _, teacher_n = encoder_params(unit.teacher_source)
        teacher_n *= unit.kind.params_per_encoder_param
        return training_seconds(teacher_n, 0, count_tokens(unit.train_features), unit.spec.training.epochs)


class DistillStage(_TrainingStage):
    """Build a student and distill the fine-tuned teacher into it."""

    name: ClassVar[str] = "distill"
    after: ClassVar[tuple[str, ...]] = ("finetune",)

    def payload(self, unit: Any, node: Node) -> dict[str, Any]:
        student: StudentSpec = node.params["student"]
        return {
            "teacher": node.input_build("teacher"),
            "student": student.text,
            "student_model": builder_of(student).identity(student, unit.options.allow_pickle),
            "distillation": unit.spec.distillation.model_dump(mode="json"),
            "weights": unit.distillation_weights,
            "seed": unit.options.seed,
            "device": unit.options.device,
        }

    def _lineage(self, unit: Any, node: Node) -> Lineage:
        name = node.inputs["teacher"].result.name
        return Lineage(distilled_from=f"{name} (fine-tuned on {unit.spec.name})", base_model=node.params["student"].text)

    def load(self, unit: Any, node: Node, entry: CacheEntry) -> Variant:
        student: StudentSpec = node.params["student"]
        log.info("[%s] student %s: cached (%s)", unit.spec.name, student.text, node.key)
        teacher: Variant = node.inputs["teacher"].result
        name = f"{teacher.name}-{student.label}"
        return self._from_entry(node, entry, name, "student", student.label, self._lineage(unit, node))

    def compute(self, unit: Any, node: Node, folder: Path, meta: dict[str, Any]) -> Variant:
        student: StudentSpec = node.params["student"]
        teacher: Variant = node.inputs["teacher"].result
        options = unit.options
        log.info("[%s] distilling student %s", unit.spec.name, student.text)
        seed_everything(options.seed)
        model = builder_of(student).build(unit, student)
        features = unit.kind.distillation_features(
            unit.spec, unit.teacher_model, unit.tokenizer, unit.train_raw, unit.train_features
        )
        cost = distill(
            model,
            unit.teacher_model,
            unit.kind,
            unit.tokenizer,
            features,
            unit.spec.training,
            unit.spec.distillation,
            unit.distillation_weights,
            unit.dir / "work" / student.label,
            options.seed,
            options.device,
            options.progress,
            options.energy,
        )
        unit.save_model(model, folder)
        variant = Variant(
            name=f"{teacher.name}-{student.label}",
            role="student",
            pytorch_dir=folder,
            params=sum(p.numel() for p in model.parameters()),
            train_cost=cost,
            lineage=self._lineage(unit, node),
            label=student.label,
        )
        self._store_metadata(variant, meta)
        return variant

    def estimate_s(self, unit: Any, node: Node) -> float:
        student: StudentSpec = node.params["student"]
        layers, teacher_n = encoder_params(unit.teacher_source)
        teacher_n *= unit.kind.params_per_encoder_param
        keep = len(student.layers) if student.layers else (student.layer_count or layers)
        student_n = teacher_n * keep / max(layers, 1)
        if student.hidden:  # a narrow student: 12·L·H² at its own width
            student_n = 12.0 * keep * student.hidden**2 * unit.kind.params_per_encoder_param
        epochs = unit.spec.distillation.epochs or unit.spec.training.epochs
        if memo_applies(unit.kind, unit.distillation_weights, unit.spec.distillation.reuse_teacher_outputs,
                        frozenset(INTERMEDIATE_TERMS)):
            teacher_n *= min(epochs, 1.0) / epochs  # the teacher runs in the first epoch only
        return training_seconds(student_n, teacher_n, count_tokens(unit.train_features), epochs)
