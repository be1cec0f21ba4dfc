"""The typed result records (pydantic models) behind ``results.json``; :mod:`harness.results` re-exports
them with the file's reading and writing (see its docstring for the compatibility rules).

Fields may be added; the contract's fields are never renamed or dropped. Reading a file and writing it
again gives the same JSON: the measurement blocks (:class:`LatencyBlock`, :class:`Parity`,
:class:`TrainCostRecord`) write back exactly the keys they were given, a :class:`ScoreInterval` is the
``[low, high]`` list, and :class:`Role`/:class:`Format` are written as their plain strings.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from harness.profile_models import PeakInfo, ProfileRow, RunProfile  # noqa: F401 - re-exported
from harness.result_base import KEEP_NAN, GivenKeys, OpenModel, StrEnum, without_unset

SCHEMA_VERSION = 1


class Role(StrEnum):
    """A model's part in a run."""

    TEACHER = "teacher"
    STUDENT = "student"
    #: the pretrained model adapted by a cheaper method than full fine-tuning (a linear probe, LoRA)
    ADAPTED = "adapted"


class Format(StrEnum):
    """How a model is stored and run."""

    PYTORCH = "pytorch"
    ONNX = "onnx"
    ONNX_INT8 = "onnx-int8"
    #: static int8 (QDQ, per-channel) calibrated on training examples
    ONNX_INT8_STATIC = "onnx-int8-static"

    @property
    def is_onnx(self) -> bool:
        """True for the ONNX Runtime formats (fp32 and int8)."""
        return self is not Format.PYTORCH


class LatencyBlock(GivenKeys):
    """The latency of one batch size, in ms (``latency_ms.batch_N``): what
    :class:`harness.measure.latency.LatencyStats` writes, plus generation's per-token figures."""

    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    mean: float | None = None
    std: float | None = None
    cv: float | None = None
    min: float | None = None
    max: float | None = None
    n: int | None = None
    total_s: float | None = None
    batch_size: int | None = None
    seq_len: int | None = None
    threads: int | None = None
    other_load_cores: float | None = None
    attempts: int | None = None
    noisy: bool | None = None
    noise_reason: str | None = None
    #: generation only: decoding steps of the batch, and p50 per step
    generated_tokens: int | None = None
    ms_per_token: float | None = None


class Parity(GivenKeys):
    """An export against the PyTorch model it came from (:func:`harness.evaluation.parity`)."""

    max_abs_diff: dict[str, float] | None = None
    metric_delta: float | None = None
    prediction_agreement: float | None = None
    tolerance: float | None = None
    passed: bool | None = None


class TrainCostRecord(GivenKeys):
    """A record's ``train`` object: :meth:`harness.train.TrainCost.to_dict` as written to JSON."""

    wall_s: float | None = None
    cpu_s: float | None = None
    examples: int | None = None
    tokens: int | None = None
    flops: float | None = None
    peak_rss_mb: float | None = None
    epochs: float | None = None
    steps: int | None = None
    final_loss: float | None = None
    energy_kwh: float | None = None
    energy_method: str | None = None
    #: distillation: each loss term's unweighted mean over the last epoch
    loss_terms: dict[str, float] | None = None


class ScoreInterval(BaseModel):
    """A score's confidence interval, written as the JSON list ``[low, high]``. Unpacks like that list
    (``low, high = record.score_ci``). Bounds in the wrong order are kept (so that
    :func:`harness.result_checks.check_results` can name the file); any other shape is a validation error."""

    model_config = ConfigDict(frozen=True, **KEEP_NAN)

    low: float
    high: float

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            if len(data) != 2:
                raise ValueError(f"expected [low, high], got {list(data)!r}")
            return {"low": data[0], "high": data[1]}
        return data

    @model_serializer(mode="plain")
    def _as_list(self) -> list[float]:
        return [self.low, self.high]

    def __iter__(self) -> Any:  # type: ignore[override]  # unpacks as the list it is written as
        return iter((self.low, self.high))

    def as_tuple(self) -> tuple[float, float]:
        """``(low, high)``."""
        return (self.low, self.high)

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low

    def below(self, value: float) -> bool:
        """Whether the whole interval lies below ``value``."""
        return self.high < value

    def above(self, value: float) -> bool:
        """Whether the whole interval lies above ``value``."""
        return self.low > value


class SeedStats(OpenModel):
    """A record's score across the run's training seeds (``run --seeds``); CIs stay the main seed's."""

    seeds: list[int]
    scores: list[float]
    mean: float
    std: float


def batch_key(batch: int | str) -> str:
    """The ``latency_ms`` key of a batch size: ``1`` → ``batch_1``; a key is returned as it is."""
    return batch if isinstance(batch, str) else f"batch_{batch}"


class PairedStats(GivenKeys):
    """A model against a reference (its teacher in PyTorch) on the same eval examples; the keys of
    :func:`tasks.metrics.paired.paired_summary`, which documents them."""

    reference: str | None = None
    metric: str | None = None
    examples: int | None = None
    difference: float | None = None
    difference_ci: list[float] | None = None
    metrics: dict[str, dict[str, Any]] | None = None
    mcnemar_p: float | None = None
    flips: dict[str, int] | None = None
    margin: float | None = None
    tost_p: float | None = None
    equivalence: Literal["equivalent", "not shown", "worse"] | None = None
    note: str | None = None


class EvalSet(OpenModel):
    """A task's eval split as the run saw it: fingerprint, size, the metric and the references that the
    records' per-example predictions are scored against."""

    fingerprint: str
    examples: int
    metric: str | None = None
    metric_kwargs: dict[str, Any] = Field(default_factory=dict)
    references: list[Any] = Field(default_factory=list)


class Lineage(OpenModel):
    """Where a model came from."""

    distilled_from: str | None = None
    exported_from: str | None = None
    quantized_from: str | None = None
    base_model: str | None = None


class Record(OpenModel):
    """One (task, model, format): its score, CI, latency, memory and training cost.

    Assignments are validated (``record.seed_scores = {...}`` becomes a :class:`SeedStats`)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    task: str
    kind: str
    model: str
    #: the teacher this model belongs to (a teacher's own name for its records); None in old results.
    teacher: str | None = None
    role: Role
    format: Format
    lineage: Lineage = Field(default_factory=Lineage)
    params: int = 0
    size_mb: float = 0.0
    metrics: dict[str, float | None] = Field(default_factory=dict)
    primary_metric: str
    score: float | None = None
    score_ci: ScoreInterval | None = None
    eval_examples: int = 0
    latency_ms: dict[str, LatencyBlock] = Field(default_factory=dict)
    throughput_per_s: float | None = None
    peak_rss_mb: float | None = None
    train: TrainCostRecord | None = None
    status: Literal["ok", "failed"] = "ok"
    status_reason: str | None = None
    parity: Parity | None = None
    #: set only when the run repeated training with extra seeds; absent from the JSON otherwise
    seed_scores: SeedStats | None = None
    #: per-example predictions on the eval split (the kind's own form, in eval order), for paired statistics
    predictions: list[Any] | None = None
    #: the fingerprint of the eval split the record was scored on (``RunResults.eval_sets[task]``)
    eval_fingerprint: str | None = None
    #: metrics undefined on this sample (``null`` in ``metrics``, or the score): metric -> why
    metric_notes: dict[str, str] | None = None
    #: against the teacher in PyTorch on the same examples (absent for the teacher's own PyTorch record)
    paired: PairedStats | None = None
    #: the folder holding this (model, format) when the run wrote the record (the stage cache's entry)
    artifact: str | None = None
    #: how an int8 format was quantized (method, calibration, nodes kept in fp32)
    quantization: dict[str, Any] | None = None
    #: how the pretrained model was adapted ("probe", "lora"; absent for full fine-tuning and students)
    adaptation: str | None = None
    #: parameters the adaptation trained (the probe's head, LoRA's adapters and head); absent: all of them
    trainable_params: int | None = None
    #: on the teacher's PyTorch record: LogME, H-score (and why LEEP is missing) of the pretrained model's
    #: frozen features on the training split (harness/stages/estimate.py)
    transferability: dict[str, Any] | None = None

    # seed_scores was once an extra key set after the record was built: it is written where it was read
    # (among the extra keys), or after the extras present when it was first set, as before.
    _seed_slot: int | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _note_seed_slot(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Record:
        record = handler(data)
        if isinstance(data, dict) and "seed_scores" in data:
            extras = [k for k in data if k not in cls.model_fields or k == "seed_scores"]
            record._seed_slot = extras.index("seed_scores")
        return record

    def __setattr__(self, name: str, value: Any) -> None:
        first = name == "seed_scores" and "seed_scores" not in self.model_fields_set
        super().__setattr__(name, value)
        if first:
            self._seed_slot = len(self.model_extra or {})

    _OPTIONAL: ClassVar[frozenset[str]] = frozenset(
        {
            "predictions", "eval_fingerprint", "metric_notes", "paired", "artifact", "quantization",
            "adaptation", "trainable_params", "transferability",
        }
    )

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = without_unset(self, handler(self), self._OPTIONAL)
        if "seed_scores" not in data:
            return data
        seeds = data.pop("seed_scores")
        if "seed_scores" not in self.model_fields_set:
            return data
        keys = list(data)
        extras = [k for k in keys if k not in type(self).model_fields]
        slot = len(extras) if self._seed_slot is None else min(self._seed_slot, len(extras))
        at = keys.index(extras[slot]) if slot < len(extras) else len(keys)
        keys.insert(at, "seed_scores")
        data["seed_scores"] = seeds
        return {k: data[k] for k in keys}

    def latency(self, batch: int | str = 1) -> LatencyBlock | None:
        """The latency block of a batch size (``1`` or ``"batch_1"``), if measured."""
        return self.latency_ms.get(batch_key(batch))

    def p50(self, batch: int | str = 1) -> float | None:
        """The p50 latency in ms at a batch size, if measured and positive."""
        block = self.latency(batch)
        value = block.p50 if block else None
        return float(value) if value is not None and value > 0 else None

    @property
    def noisy(self) -> bool:
        """True when any of its latencies was measured on a busy machine (flagged ``noisy``)."""
        return any(block.noisy for block in self.latency_ms.values())

    @property
    def train_wall_s(self) -> float | None:
        """Wall time of the training that produced this record, if it was trained."""
        return self.train.wall_s if self.train else None


class Scorecard(OpenModel):
    """A (task, teacher, student, format): how much of the teacher is kept, at what gain."""

    task: str
    teacher: str
    student: str
    format: str
    retention: float | None = None
    speedup: float | None = None
    compression: float | None = None
    train_cost_s: float | None = None
    reuse_score: float | None = None
    #: the TOST verdict against the teacher (``PairedStats.equivalence``) and its p-value
    equivalence: str | None = None
    tost_p: float | None = None
    #: False when the teacher does not beat the task's trivial baseline by more than its CI: no retention
    retention_reported: bool | None = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return without_unset(self, handler(self), frozenset({"equivalence", "tost_p", "retention_reported"}))


class RunResults(OpenModel):
    """Everything one run produced."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    created_at: str
    suite: str
    wall_s: float = 0.0
    environment: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    records: list[Record] = Field(default_factory=list)
    scorecards: list[Scorecard] = Field(default_factory=list)
    #: per task: what a trivial model scores on the eval split (majority label, copy the input).
    baselines: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: per task: the eval split's fingerprint, size and references (see :class:`EvalSet`)
    eval_sets: dict[str, EvalSet] = Field(default_factory=dict)
    #: per stage node: wall and CPU seconds, training throughput against the machine's peak (absent before)
    profile: RunProfile | None = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return without_unset(self, handler(self), frozenset({"eval_sets", "profile"}))

    def to_pandas(self) -> Any:
        """The records as a ``pandas.DataFrame``: one row per record, flat typed columns (:mod:`harness.frames`)."""
        from harness.frame_rows import to_frame

        return to_frame(self)
