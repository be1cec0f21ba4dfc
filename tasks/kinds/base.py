"""The task-kind protocol: everything the runner needs to know about a kind of task.

The runner calls these methods and never branches on the kind. A new kind is one module that
implements :class:`TaskKind` and decorates it with :func:`tasks.kinds.registry.register_kind` (a built-in kind
also gets one line in :data:`tasks.kinds.registry.BUILTIN_KINDS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import datasets
    import torch

    from tasks.kinds.predictor import Predictor
    from tasks.spec import DistillationConfig, TaskSpec


#: Attribute that lists, on a freshly built model, the parameters its checkpoint did not have.
NEW_PARAMETERS_ATTRIBUTE = "reusebench_new_parameters"


def mark_new_parameters(model: Any, names: set[str] | frozenset[str] | list[str]) -> None:
    """Record which of ``model``'s parameters were newly initialised (not loaded from the checkpoint),
    so that ``training.new_parameters_learning_rate`` can give them their own learning rate."""
    parameters = {name for name, _ in model.named_parameters()}
    setattr(model, NEW_PARAMETERS_ATTRIBUTE, frozenset(set(names) & parameters))


def new_parameter_names(model: Any) -> frozenset[str]:
    """The parameters :func:`mark_new_parameters` recorded on ``model`` (none when it was not called)."""
    return getattr(model, NEW_PARAMETERS_ATTRIBUTE, frozenset())


def initialise_output_bias(model: Any, targets: Any) -> str | None:
    """Start a new regression head at the training targets' mean: set the bias of its output layer (the last
    new one-element bias) to ``mean(targets)``; returns that parameter's name, None when the model has none.

    A head drawn around 0 must first move its output to where the targets are (2.5 for a 0-5 score) before it
    can learn anything else, and with a small learning rate or few steps it never gets there: a LoRA or probe
    of similarity stayed at predicting a constant. Starting at the mean is the usual remedy ("init well",
    e.g. Karpathy 2019, *A recipe for training neural networks*)."""
    import torch

    new = new_parameter_names(model)
    biases = [(name, p) for name, p in model.named_parameters() if name in new and name.endswith("bias") and p.numel() == 1]
    if not biases:
        return None
    name, bias = biases[-1]
    with torch.no_grad():
        bias.fill_(float(torch.as_tensor(list(targets), dtype=torch.float64).mean()))
    return name


@dataclass
class EvalOutput:
    """Predictions and references over an eval split, plus the raw outputs used for parity checks."""

    predictions: list[Any]
    references: list[Any]
    raw_outputs: dict[str, np.ndarray] = field(default_factory=dict)


class TaskKind:
    """Base class of a task kind. Subclasses set the class attributes and implement the methods."""

    name: ClassVar[str]
    #: transformers class used to build a model with the right head, e.g. "AutoModelForSequenceClassification".
    auto_class: ClassVar[str]
    #: optimum export task, e.g. "text-classification".
    onnx_task: ClassVar[str]
    #: the batch keys that hold targets (removed before the model's forward pass when distilling).
    label_keys: ClassVar[tuple[str, ...]] = ("labels",)
    #: the ways of adapting a pretrained model this kind supports (:data:`tasks.suite_settings.ADAPTATION_METHODS`).
    adaptation_methods: ClassVar[tuple[str, ...]] = ("estimate", "probe", "lora", "full")
    #: what the transferability estimates score the frozen features against (:mod:`harness.frozen_features`)
    estimate_target: ClassVar[str] = "sentence-class"
    #: the names of the distillation loss terms this kind computes.
    loss_terms: ClassVar[tuple[str, ...]]
    #: the intermediate-layer terms (harness.intermediate) a task of this kind may also weight
    intermediate_terms: ClassVar[tuple[str, ...]] = ("hidden_mse", "attention_kl", "relation_kl")
    #: the teacher output fields this kind's logit terms read (``logits``...): the distillation keeps them
    #: from the first epoch for the later ones (:mod:`harness.teacher_memo`); empty: the teacher runs every step
    teacher_output_fields: ClassVar[tuple[str, ...]] = ()
    #: whether those fields have one row per token (then the kind's terms must ignore padding positions)
    teacher_outputs_per_token: ClassVar[bool] = False
    #: the distillation loss weights used when the task file gives none.
    default_weights: ClassVar[dict[str, float]]
    #: the trained model's non-embedding parameters per parameter of the pretrained encoder it is built from
    #: (``--dry-run``'s 6·N·D, :mod:`harness.estimate`): 1 when the model is the encoder with a head
    params_per_encoder_param: ClassVar[float] = 1.0

    def build_model(self, source: str, spec: TaskSpec) -> Any | None:
        """Build the teacher from ``source`` when the kind needs more than ``auto_class``; None lets the
        harness load ``auto_class`` with :meth:`model_kwargs` (the usual case)."""
        return None

    def check_model_config(self, source: str, config: Any) -> None:
        """Refuse, from its configuration alone and before any training, a model the kind cannot build on
        (beyond what ``auto_class`` tells); the default accepts every model."""

    def estimate_target_of(self, spec: TaskSpec) -> str:
        """What the transferability estimates of a task of this kind score against: :attr:`estimate_target`,
        unless the task's own spec decides it (similarity: regression or pair classification)."""
        return self.estimate_target

    def head_bias_init(self, spec: TaskSpec) -> str | None:
        """How the new head's output bias starts, when not as drawn: ``"target mean"`` for a regression head
        (:func:`initialise_output_bias`); None (the default) leaves the drawn initialisation."""
        return None

    def build_student(self, teacher: Any, layers: list[int]) -> Any | None:
        """A student keeping ``layers`` of the fine-tuned teacher; None lets the harness cut the
        teacher's single layer stack (encoder-only and decoder-only models)."""
        return None

    def onnx_export_task(self, spec: TaskSpec, model: Any) -> str:
        """The optimum export task for this trained model (some kinds depend on the architecture)."""
        return self.onnx_task

    def distillation_features(
        self, spec: TaskSpec, teacher: Any, tokenizer: Any, train_raw: datasets.Dataset, train_features: datasets.Dataset
    ) -> datasets.Dataset:
        """The features a student is distilled on (the training features, unless e.g. sequence-level
        KD replaces the targets by the teacher's own outputs)."""
        return train_features

    def prepare_split(self, spec: TaskSpec, split: datasets.Dataset, origin: str, is_train: bool) -> datasets.Dataset:
        """Check columns and values against the task definition; return canonical columns."""
        raise NotImplementedError

    def model_kwargs(self, spec: TaskSpec) -> dict[str, Any]:
        """Keyword arguments for ``from_pretrained`` that shape the head (labels, problem type)."""
        raise NotImplementedError

    def tokenize(self, spec: TaskSpec, tokenizer: Any, split: datasets.Dataset) -> datasets.Dataset:
        """Turn canonical rows into model features (input ids, attention mask, labels)."""
        raise NotImplementedError

    def collator(self, tokenizer: Any, return_tensors: str = "pt") -> Any:
        """The batch collator used in training and evaluation (dynamic padding)."""
        raise NotImplementedError

    def evaluate(
        self, spec: TaskSpec, predictor: Predictor, features: datasets.Dataset, raw: datasets.Dataset, tokenizer: Any
    ) -> EvalOutput:
        """Run ``predictor`` over the eval split and decode its outputs into predictions."""
        raise NotImplementedError

    def metric_name(self, spec: TaskSpec) -> str:
        """The metric of :mod:`tasks.metrics` that scores this task."""
        raise NotImplementedError

    def metric_keys(self, spec: TaskSpec) -> tuple[str, ...]:
        """The metric values that may be named as ``primary_metric``."""
        raise NotImplementedError

    def distillation_weights(self, spec: TaskSpec) -> dict[str, float]:
        """The task file's loss weights, or this kind's defaults; unknown term names are an error."""
        from tasks.errors import ConfigError

        weights = dict(spec.distillation.weights or self.default_weights)
        allowed = (*self.loss_terms, *self.intermediate_terms)
        unknown = sorted(set(weights) - set(allowed))
        if unknown:
            raise ConfigError(
                f"task {spec.name!r}: field 'distillation.weights': unknown loss term(s) {unknown}; "
                f"allowed values for kind {self.name}: {', '.join(allowed)}"
            )
        return weights

    def metric_kwargs(self, spec: TaskSpec) -> dict[str, Any]:
        """Extra keyword arguments for the metric (e.g. the number of labels)."""
        return {}

    def distillation_terms(
        self,
        student_outputs: Any,
        teacher_outputs: Any,
        inputs: dict[str, torch.Tensor],
        config: DistillationConfig,
    ) -> dict[str, torch.Tensor]:
        """Named, unweighted loss terms; the trainer weights them with ``config.weights``."""
        raise NotImplementedError

    def baseline(self, spec: TaskSpec, train: Any, eval_split: Any) -> dict[str, Any] | None:
        """The metrics of a trivial model on the eval split (``name`` says which), or None.

        Reports show it next to the teachers, so a score can be read against what no learning gives."""
        return None

    def agreement(self, predictions_a: list[Any], predictions_b: list[Any]) -> float | None:
        """How often two models predict the same thing (None where it is not meaningful)."""
        if not predictions_a:
            return None
        return float(np.mean([a == b for a, b in zip(predictions_a, predictions_b, strict=True)]))
