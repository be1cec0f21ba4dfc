"""Teacher fine-tuning and student distillation with the transformers Trainer.

Both use dynamic padding (the kind's collator) and length-grouped batches, which on short texts
cuts most of the padding that a fixed ``max_length`` would compute.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.intermediate import INTERMEDIATE_TERMS, IntermediateTerms
from harness.teacher_memo import TeacherMemo, memo_applies
from harness.trainer_log import route_output
from tasks.errors import ConfigError
from tasks.kinds.base import TaskKind, new_parameter_names
from tasks.spec import DistillationConfig, TrainingConfig

log = logging.getLogger("reusebench")


@dataclass
class TrainCost:
    """What adapting a model cost. FLOPs: 6·N·D for the trained model (forward + backward, Kaplan et
    al. 2020), plus 2·N_teacher·D for the teacher's forward passes when distilling (D: the tokens it ran on,
    the first epoch's alone when its outputs are kept, :mod:`harness.teacher_memo`); N counts the parameters
    outside the embeddings, D the non-pad tokens processed."""

    wall_s: float
    cpu_s: float
    examples: int
    tokens: int
    flops: float
    peak_rss_mb: float
    epochs: float
    steps: int
    final_loss: float | None
    energy_kwh: float | None = None
    energy_method: str | None = None
    #: distillation: each loss term's mean (unweighted) over the last epoch; absent for fine-tuning
    loss_terms: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["loss_terms"] is None:  # records of fine-tuned models stay as they were
            del data["loss_terms"]
        return data


def non_embedding_params(model: Any) -> int:
    """Parameters outside the embedding tables (what the 6·N·D FLOPs rule counts)."""
    return sum(p.numel() for name, p in model.named_parameters() if "embeddings" not in name and "wte" not in name)


def count_tokens(features: Any) -> int:
    """Non-pad tokens in a tokenized split (its rows are unpadded until collation)."""
    return int(sum(len(ids) for ids in features["input_ids"]))


def _training_arguments(
    config: TrainingConfig | DistillationConfig,
    base: TrainingConfig,
    out_dir: Path,
    seed: int,
    device: str,
    progress: bool,
) -> Any:
    import torch
    from transformers import TrainingArguments

    epochs = getattr(config, "epochs", None) or base.epochs
    learning_rate = getattr(config, "learning_rate", None) or base.learning_rate
    on_cuda = device == "cuda"
    # bf16 only where the hardware has it; never on CPUs (400x slower without native bf16).
    bf16 = on_cuda and torch.cuda.is_bf16_supported()
    return TrainingArguments(
        output_dir=str(out_dir),
        num_train_epochs=epochs,
        learning_rate=learning_rate,
        per_device_train_batch_size=base.batch_size,
        weight_decay=base.weight_decay,
        warmup_ratio=base.warmup_ratio,
        lr_scheduler_type="linear",
        group_by_length=True,
        use_cpu=not on_cuda,
        bf16=bf16,
        fp16=on_cuda and not bf16,
        seed=seed,
        data_seed=seed,
        report_to="none",
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="epoch",
        # The Trainer's own progress bar and its PrinterCallback write to stdout: both are replaced by
        # harness.trainer_log (see route_output), whatever ``progress`` says.
        disable_tqdm=True,
        dataloader_num_workers=0,
    )


class _CostMeter:
    """Wall time, CPU time, peak RSS and (optionally) estimated energy around a training call."""

    def __init__(self, energy: bool = False) -> None:
        from harness.measure.energy import EnergyTracker

        self._energy = EnergyTracker(energy)

    def __enter__(self) -> _CostMeter:
        from harness.measure.memory import PeakRSSSampler

        self._energy.__enter__()
        self._sampler = PeakRSSSampler()
        self._sampler.__enter__()
        self._cpu0 = _cpu_seconds()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._t0
        self.cpu_s = _cpu_seconds() - self._cpu0
        self._sampler.__exit__(*exc)
        self.peak_rss_mb = self._sampler.peak_mb
        self._energy.__exit__(*exc)
        self.energy_kwh = self._energy.energy_kwh

    def energy_fields(self) -> dict[str, Any]:
        """The energy fields of a :class:`TrainCost` (empty when energy was not tracked)."""
        if self.energy_kwh is None:
            return {}
        return {"energy_kwh": self.energy_kwh, "energy_method": "codecarbon OfflineEmissionsTracker (estimate)"}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _final_loss(trainer: Any) -> float | None:
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return float(losses[-1]) if losses else None


def fine_tune(
    model: Any,
    kind: TaskKind,
    tokenizer: Any,
    train_features: Any,
    config: TrainingConfig,
    work_dir: Path,
    seed: int,
    device: str = "cpu",
    progress: bool = True,
    energy: bool = False,
) -> TrainCost:
    """Fine-tune ``model`` on ``train_features`` in place; returns what it cost."""
    from transformers import Trainer

    args = _training_arguments(config, config, work_dir, seed, device, progress)
    trainer_class = Trainer
    if config.new_parameters_learning_rate is not None:
        trainer_class = _make_two_rate_trainer_class(config.new_parameters_learning_rate)
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=train_features,
        data_collator=kind.collator(tokenizer),
        processing_class=tokenizer,
    )
    route_output(trainer, "fine-tuning", progress)
    return _train_and_account(trainer, train_features, energy, model, teacher=None)


def parameter_groups(
    model: Any, decay_names: set[str], weight_decay: float, learning_rate: float, new_learning_rate: float
) -> list[dict[str, Any]]:
    """AdamW parameter groups: the Trainer's split into decayed and not decayed parameters (biases and
    norms are not), crossed with a split into the checkpoint's parameters (``learning_rate``) and the ones
    :func:`~tasks.kinds.base.new_parameter_names` lists (``new_learning_rate``). Empty groups are left out."""
    new_names = new_parameter_names(model)
    groups = []
    for is_new, rate in ((False, learning_rate), (True, new_learning_rate)):
        for decayed in (True, False):
            params = [
                param
                for name, param in model.named_parameters()
                if param.requires_grad and (name in new_names) == is_new and (name in decay_names) == decayed
            ]
            if params:
                groups.append({"params": params, "weight_decay": weight_decay if decayed else 0.0, "lr": rate})
    return groups


def _make_two_rate_trainer_class(new_learning_rate: float) -> type:
    from transformers import Trainer

    class TwoRateTrainer(Trainer):
        """A Trainer whose AdamW gives newly initialised parameters their own learning rate (the
        scheduler's warm-up and decay scale both rates alike)."""

        def create_optimizer(self) -> Any:
            import torch

            if self.optimizer is None:
                groups = parameter_groups(
                    self.model,
                    set(self.get_decay_parameter_names(self.model)),
                    self.args.weight_decay,
                    self.args.learning_rate,
                    new_learning_rate,
                )
                if not new_parameter_names(self.model):
                    log.warning("new_parameters_learning_rate: the model has no new parameters; it has no effect")
                self.optimizer = torch.optim.AdamW(
                    groups,
                    lr=self.args.learning_rate,
                    betas=(self.args.adam_beta1, self.args.adam_beta2),
                    eps=self.args.adam_epsilon,
                    fused=True,  # as the Trainer's own default (adamw_torch_fused): one kernel, not a loop
                )
            return self.optimizer

    return TwoRateTrainer


def _train_and_account(trainer: Any, features: Any, energy: bool, model: Any, teacher: Any | None,
                       teacher_tokens: Callable[[], int] | None = None) -> TrainCost:
    """Run ``trainer.train()`` under the cost meter and account for it (FLOPs rule: see TrainCost);
    ``teacher_tokens`` says how many tokens the teacher ran on, when that is not every training token."""
    with _CostMeter(energy) as meter:
        trainer.train()
    epochs = float(trainer.args.num_train_epochs)
    tokens = int(count_tokens(features) * epochs)
    flops = 6.0 * non_embedding_params(model) * tokens
    if teacher is not None:
        flops += 2.0 * non_embedding_params(teacher) * (teacher_tokens() if teacher_tokens else tokens)
    return TrainCost(
        wall_s=meter.wall_s,
        cpu_s=meter.cpu_s,
        examples=int(len(features) * epochs),
        tokens=tokens,
        flops=flops,
        peak_rss_mb=meter.peak_rss_mb,
        epochs=epochs,
        steps=int(trainer.state.global_step),
        final_loss=_final_loss(trainer),
        **meter.energy_fields(),
    )


def _make_distillation_trainer_class() -> type:
    from transformers import Trainer

    class DistillationTrainer(Trainer):
        """A Trainer whose loss is a weighted sum of named terms computed by the task kind.

        ``weights`` maps term names (e.g. ``hard_ce``, ``kd_kl``) to weights; the teacher runs in
        eval mode without gradients.
        """

        def __init__(
            self,
            *args: Any,
            teacher: Any,
            kind: TaskKind,
            distillation: DistillationConfig,
            weights: dict[str, float],
            intermediate: IntermediateTerms | None = None,
            memo: TeacherMemo | None = None,
            **kwargs: Any,
        ):
            super().__init__(*args, **kwargs)
            self.teacher = teacher.to(self.args.device).eval()
            self.kind = kind
            self.distillation = distillation
            self.weights = weights
            self.intermediate = intermediate
            self.memo = memo
            #: non-pad tokens the teacher ran on (its FLOPs: 2·N_teacher per token)
            self.teacher_tokens = 0
            self.term_totals: dict[str, float] = {}
            self.term_steps = 0
            #: each term's mean over the last logging period (an epoch): written to the training log and record
            self.last_terms: dict[str, float] = {}

        def compute_loss(self, model: Any, inputs: dict, return_outputs: bool = False, num_items_in_batch: Any = None):
            import torch

            model_inputs = {k: v for k, v in inputs.items() if k not in self.kind.label_keys}
            extra = {}
            if self.intermediate is not None:
                self.intermediate.start_batch()
                extra = self.intermediate.forward_kwargs
            outputs = model(**model_inputs, **extra)

            def run_teacher() -> Any:
                with torch.no_grad():
                    result = self.teacher(**model_inputs, **extra)
                self.teacher_tokens += int(model_inputs["attention_mask"].sum())
                return result

            teacher_outputs = self.memo.outputs(model_inputs, run_teacher) if self.memo is not None else run_teacher()
            terms = self.kind.distillation_terms(outputs, teacher_outputs, inputs, self.distillation)
            if self.intermediate is not None:
                terms.update(self.intermediate.terms(outputs, teacher_outputs, inputs["attention_mask"]))
            unknown = set(self.weights) - set(terms) - set(INTERMEDIATE_TERMS)
            if unknown:
                raise ConfigError(
                    f"distillation.weights: unknown loss term(s) {sorted(unknown)} for kind {self.kind.name!r}; "
                    f"allowed: {sorted(terms)}"
                )
            loss = sum(weight * terms[name] for name, weight in self.weights.items() if weight)
            for name, value in terms.items():
                self.term_totals[name] = self.term_totals.get(name, 0.0) + float(value.detach())
            self.term_steps += 1
            return (loss, outputs) if return_outputs else loss

        def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
            if self.term_steps:
                self.last_terms = {name: total / self.term_steps for name, total in self.term_totals.items()}
                logs.update({f"term_{name}": round(value, 6) for name, value in self.last_terms.items()})
                self.term_totals, self.term_steps = {}, 0
            super().log(logs, *args, **kwargs)

    return DistillationTrainer


def distill(
    student: Any,
    teacher: Any,
    kind: TaskKind,
    tokenizer: Any,
    train_features: Any,
    training: TrainingConfig,
    distillation: DistillationConfig,
    weights: dict[str, float],
    work_dir: Path,
    seed: int,
    device: str = "cpu",
    progress: bool = True,
    energy: bool = False,
) -> TrainCost:
    """Distill ``teacher`` into ``student`` (in place) on ``train_features``; returns what it cost (with each loss
    term's mean over the last epoch). Intermediate-layer terms (:mod:`harness.intermediate`) are added when
    ``weights`` names them; their hooks and projections are removed from the student afterwards."""
    trainer_class = _make_distillation_trainer_class()
    args = _training_arguments(distillation, training, work_dir, seed, device, progress)
    intermediate = None
    if any(weights.get(term) for term in INTERMEDIATE_TERMS):
        intermediate = IntermediateTerms(weights, distillation, student, teacher)
    memo = None
    if memo_applies(kind, weights, distillation.reuse_teacher_outputs, frozenset(INTERMEDIATE_TERMS)):
        memo = TeacherMemo(kind.teacher_output_fields, kind.teacher_outputs_per_token)
    trainer = trainer_class(
        model=student,
        args=args,
        train_dataset=train_features,
        data_collator=kind.collator(tokenizer),
        processing_class=tokenizer,
        teacher=teacher,
        kind=kind,
        distillation=distillation,
        weights=weights,
        intermediate=intermediate,
        memo=memo,
    )
    route_output(trainer, "distilling", progress)
    try:
        cost = _train_and_account(trainer, train_features, energy, student, teacher=teacher,
                                  teacher_tokens=lambda: trainer.teacher_tokens)
    finally:
        if intermediate is not None:
            intermediate.close(student)
    cost.loss_terms = {name: round(value, 6) for name, value in trainer.last_terms.items()} or None
    if memo is not None:
        log.info("  distilling: the teacher ran on %d of %d batches; its outputs for %d inputs were kept for the "
                 "rest%s", memo.misses, memo.misses + memo.hits, len(memo),
                 f" (the memo is full at {memo.bytes / 2**20:.0f} MiB)" if memo.full else "")
    return cost


def training_threads() -> int:
    """Threads for training and evaluation in the main process: every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
