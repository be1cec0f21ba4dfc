"""Student builders, registered by the key of their spec (``layers=...``, ``model=...``).

A builder parses the value after ``=`` into a :class:`harness.models.StudentSpec`, says what identifies
the student's starting point in a cache key, and builds the (untrained) student for a unit. A new kind
of student (a pruned teacher, say) is one more builder registered here.
"""

from __future__ import annotations

from typing import Any, Protocol

from harness.models import (
    StudentSpec,
    build_layer_student,
    load_model_for_kind,
    resolve_model_source,
    spread_layers,
)
from harness.registry import Registry
from harness.variants import model_identity
from tasks.errors import ConfigError, ModelError, unknown_name_error


class StudentBuilder(Protocol):
    """How one kind of student spec is parsed, identified and built."""

    def parse(self, text: str, value: str) -> StudentSpec:
        """The spec of ``text`` (``value`` is what follows ``key=``); a bad value is a ConfigError."""
        ...

    def identity(self, spec: StudentSpec, allow_pickle: bool) -> dict[str, Any] | None:
        """What identifies the student's starting model in a cache key (None: the teacher itself)."""
        ...

    def build(self, unit: Any, spec: StudentSpec) -> Any:
        """The untrained student for ``unit`` (a :class:`harness.unit.TaskUnit`)."""
        ...


STUDENT_BUILDERS: Registry[StudentBuilder] = Registry("student kind")


class LayerSubsetStudent:
    """``layers=N`` (N of the teacher's layers, evenly spread from layer 0: DistilBERT's initialisation) or
    ``layers=I,J,...`` (those layers), initialised from the fine-tuned teacher."""

    def parse(self, text: str, value: str) -> StudentSpec:
        try:
            numbers = tuple(int(v) for v in value.split(","))
        except ValueError:
            raise ConfigError(f"student {text!r}: layers must be integers") from None
        if any(n < 0 for n in numbers) or (len(numbers) == 1 and numbers[0] == 0):
            raise ConfigError(f"student {text!r}: layer counts and indices must be positive")
        if len(numbers) == 1:
            return StudentSpec(text=text, layer_count=numbers[0])
        if len(set(numbers)) != len(numbers):
            raise ConfigError(f"student {text!r}: layer indices must be distinct")
        return StudentSpec(text=text, layers=tuple(sorted(numbers)))

    def identity(self, spec: StudentSpec, allow_pickle: bool) -> dict[str, Any] | None:
        return None

    def build(self, unit: Any, spec: StudentSpec) -> Any:
        teacher = unit.teacher_model
        config = teacher.config
        # Encoder-decoders keep their depth in the encoder's sub-configuration.
        teacher_layers = getattr(config, "num_hidden_layers", None) or getattr(
            getattr(config, "encoder", None), "num_hidden_layers", None
        )
        if teacher_layers is None:
            raise ModelError(f"{unit.teacher_name}: config has no num_hidden_layers; use a 'model=' student")
        layers = list(spec.layers) if spec.layers else spread_layers(teacher_layers, spec.layer_count or 1)
        # Initialised from the *fine-tuned* teacher: its layers and task head are the best start.
        return unit.kind.build_student(teacher, layers) or build_layer_student(teacher, layers)


class OtherModelStudent:
    """``model=ID_OR_PATH``: any other model with a compatible tokenizer, given the task's head."""

    def parse(self, text: str, value: str) -> StudentSpec:
        return StudentSpec(text=text, model=value)

    def identity(self, spec: StudentSpec, allow_pickle: bool) -> dict[str, Any] | None:
        return model_identity(resolve_model_source(str(spec.model), allow_pickle=allow_pickle))

    def build(self, unit: Any, spec: StudentSpec) -> Any:
        options = unit.options
        source = resolve_model_source(str(spec.model), allow_pickle=options.allow_pickle)
        return load_model_for_kind(
            source,
            unit.kind.auto_class,
            unit.kind.model_kwargs(unit.spec),
            trust_remote_code=options.trust_remote_code,
            allow_pickle=options.allow_pickle,
        )


class RemappedStudent(OtherModelStudent):
    """``remapped=ID_OR_PATH``: another model that holds the teacher's tokens under other ids (MiniLM for an
    MPNet teacher); its input embeddings are re-indexed to the teacher's ids (:mod:`harness.vocab_map`)."""

    def parse(self, text: str, value: str) -> StudentSpec:
        return StudentSpec(text=text, model=value, remap=True)

    def identity(self, spec: StudentSpec, allow_pickle: bool) -> dict[str, Any] | None:
        return {**(super().identity(spec, allow_pickle) or {}), "reindexed_to_teacher_ids": True}

    def build(self, unit: Any, spec: StudentSpec) -> Any:
        from harness.models import load_tokenizer
        from harness.vocab_map import reindex_input_embeddings, vocabulary_map

        model = super().build(unit, spec)
        source = resolve_model_source(str(spec.model), allow_pickle=unit.options.allow_pickle)
        student_tokenizer = load_tokenizer(source, trust_remote_code=unit.options.trust_remote_code)
        mapping = vocabulary_map(unit.tokenizer, student_tokenizer, spec.text)
        reindex_input_embeddings(model, mapping, unit.tokenizer.pad_token_id)
        return model


class NarrowStudent:
    """``narrow=LxH`` or ``narrow=LxHxA``: L layers of width H (A heads), initialised from scratch but for the
    teacher's embeddings projected to width H (:mod:`harness.narrow_students`)."""

    def parse(self, text: str, value: str) -> StudentSpec:
        from harness.narrow_students import parse_narrow

        layers, hidden, heads = parse_narrow(text, value)
        return StudentSpec(text=text, layer_count=layers, hidden=hidden, heads=heads)

    def identity(self, spec: StudentSpec, allow_pickle: bool) -> dict[str, Any] | None:
        return None

    def build(self, unit: Any, spec: StudentSpec) -> Any:
        from harness.narrow_students import build_narrow_student

        return build_narrow_student(unit.teacher_model, spec)


STUDENT_BUILDERS.add("layers", LayerSubsetStudent())
STUDENT_BUILDERS.add("narrow", NarrowStudent())
STUDENT_BUILDERS.add("model", OtherModelStudent())
STUDENT_BUILDERS.add("remapped", RemappedStudent())


def parse_student(text: str) -> StudentSpec:
    """Parse ``layers=3``, ``layers=0,2,4``, ``narrow=4x192``, ``model=ID_OR_PATH`` or ``remapped=ID_OR_PATH``
    (or another registered key)."""
    key, sep, value = text.partition("=")
    if not sep or not value:
        raise ConfigError(f"student {text!r}: expected 'layers=N', 'layers=I,J,...', 'narrow=LxH', "
                          "'model=ID_OR_PATH' or 'remapped=ID_OR_PATH'")
    if key not in STUDENT_BUILDERS:
        raise unknown_name_error("student key", key, STUDENT_BUILDERS.names(), where=f"student {text!r}")
    return STUDENT_BUILDERS.get(key).parse(text, value)


def builder_of(spec: StudentSpec) -> StudentBuilder:
    """The builder that parsed ``spec``."""
    return STUDENT_BUILDERS.get(spec.text.partition("=")[0])
