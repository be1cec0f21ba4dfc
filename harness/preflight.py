"""Checks of a unit's models from their configurations alone, before anything is trained."""

from __future__ import annotations

from typing import Any

from harness.models import check_model, resolve_model_source
from harness.tokenizer_check import check_student_tokenizer
from tasks.errors import ConfigError
from tasks.kinds import TaskKind

ONNX_FORMATS = ("onnx", "onnx-int8", "onnx-int8-static")


def check_unit_models(unit: Any) -> None:
    """Check the teacher and every ``model=`` student of ``unit`` against its task: head, labels,
    max_length, student depth, that a ``model=`` student reads the teacher's token ids, and (when the suite
    asks for ONNX) that the architecture exports."""
    kind_type = type(unit.kind)
    custom_model = kind_type.build_model is not TaskKind.build_model
    wants_onnx = bool(set(ONNX_FORMATS) & set(unit.suite.formats))
    onnx_task = unit.kind.onnx_task if kind_type.onnx_export_task is TaskKind.onnx_export_task else None
    model_kwargs = unit.kind.model_kwargs(unit.spec)
    options = unit.options
    teacher_config = check_model(
        unit.teacher_source,
        None if custom_model else unit.kind.auto_class,
        model_kwargs,
        max_length=unit.spec.max_length,
        students=[s for s in unit.students if not s.model],
        onnx_task=onnx_task if wants_onnx and not custom_model else None,
        trust_remote_code=options.trust_remote_code,
    )
    unit.kind.check_model_config(unit.teacher_source, teacher_config)
    for student in unit.students:
        if student.hidden:  # a narrow copy of the teacher: its configuration must fit
            from harness.narrow_students import spec_config

            if custom_model:  # the kind builds its own model from the checkpoint (generation's BERT2BERT)
                raise ConfigError(f"student {student.text!r}: narrow students are built for the encoder kinds' "
                                  f"models; kind {unit.kind.name!r} builds its own, so use 'layers=' or 'model='")
            spec_config(teacher_config, student)
        if student.model:
            source = resolve_model_source(student.model, allow_pickle=options.allow_pickle)
            student_config = check_model(
                source,
                unit.kind.auto_class,
                model_kwargs,
                max_length=unit.spec.max_length,
                onnx_task=onnx_task if wants_onnx else None,
                trust_remote_code=options.trust_remote_code,
                what="student",
            )
            unit.kind.check_model_config(source, student_config)
            if student.remap:
                check_vocabulary_map(unit.teacher_source, student.text, source, options.trust_remote_code)
            else:
                check_student_tokenizer(unit.teacher_name, unit.teacher_source, student.text, source,
                                        options.trust_remote_code)
    if "lora" in unit.methods:
        lora = unit.suite.lora
        check_lora_targets(unit.teacher_source, lora.target_modules, options.trust_remote_code, lora.layers)
    check_intermediate_terms(unit)


def check_vocabulary_map(teacher_source: str, student_text: str, student_source: str, trust: bool) -> None:
    """A ``remapped=`` student must hold all but 0.1 % of the teacher's tokens (:func:`harness.vocab_map.vocabulary_map`)."""
    from harness.models import load_tokenizer
    from harness.vocab_map import vocabulary_map

    vocabulary_map(load_tokenizer(teacher_source, trust_remote_code=trust),
                   load_tokenizer(student_source, trust_remote_code=trust), student_text)


def check_intermediate_terms(unit: Any) -> None:
    """The intermediate-layer distillation terms the task weights (:mod:`harness.intermediate`) against the
    teacher's and each student's configuration: layer map, head counts, relation heads."""
    import transformers

    from harness.intermediate import INTERMEDIATE_TERMS, check_intermediate
    from harness.narrow_students import spec_config

    weights = unit.distillation_weights
    if not unit.students or not any(weights.get(term) for term in INTERMEDIATE_TERMS):
        return
    trust = unit.options.trust_remote_code
    teacher_config = transformers.AutoConfig.from_pretrained(unit.teacher_source, trust_remote_code=trust)
    for student in unit.students:
        if student.model:
            source = resolve_model_source(student.model, allow_pickle=unit.options.allow_pickle)
            config = transformers.AutoConfig.from_pretrained(source, trust_remote_code=trust)
            check_intermediate(weights, unit.spec.distillation, teacher_config, config)
        elif student.hidden:
            check_intermediate(weights, unit.spec.distillation, teacher_config, spec_config(teacher_config, student))
        else:  # a subset of the teacher's layers: its width and heads
            layers = len(student.layers) if student.layers else student.layer_count
            check_intermediate(weights, unit.spec.distillation, teacher_config, teacher_config, student_layers=layers)


def check_lora_targets(
    source: str, requested: list[str] | None, trust_remote_code: bool = False, layers: list[int] | None = None
) -> None:
    """LoRA's target modules and blocks against the model at ``source``, built from its configuration on
    the meta device (no weights are read): a name or block that matches nothing is an error before any training."""
    import torch
    import transformers

    from harness.adaptation import check_layers, target_modules

    config = transformers.AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code)
    with torch.device("meta"):
        skeleton = transformers.AutoModel.from_config(config, trust_remote_code=trust_remote_code)
    targets = target_modules(skeleton, tuple(requested) if requested else None)
    check_layers(skeleton, targets, tuple(layers) if layers is not None else None)
