"""The typed result records (pydantic models) behind ``results.json``; :mod:`harness.results` re-exports
them with the file's reading and writing (see its docstring for the compatibility rules).

Fields may be added; the contract's fields are never renamed or dropped. Reading a file and writing it
again gives the same JSON: the measurement blocks (:class:`LatencyBlock`, :class:`Parity`,
:class:`TrainCostRecord`) write back exactly the keys they were given, a :class:`ScoreInterval` is the
``[low, high]`` list, and :class:`Role`/:class:`Format` are written as their plain strings.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

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

SCHEMA_VERSION = 1


class _StrEnum(str, Enum):
    """A str enum that compares, hashes, prints and reprs as its plain value (``enum.StrEnum`` is 3.11+),
    so that code and messages written for the plain strings read the same."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    def __repr__(self) -> str:
        return repr(str(self.value))


class Role(_StrEnum):
    """A model's part in a run."""

    TEACHER = "teacher"
    STUDENT = "student"


class Format(_StrEnum):
    """How a model is stored and run."""

    PYTORCH = "pytorch"
    ONNX = "onnx"
    ONNX_INT8 = "onnx-int8"

    @property
    def is_onnx(self) -> bool:
        """True for the ONNX Runtime formats (fp32 and int8)."""
        return self is not Format.PYTORCH


# The custom serializers below would turn NaN and infinities into null in model_dump(mode="json") (where
# plain fields keep them) unless the model being dumped says "constants": save_results must still refuse
# them (allow_nan=False), never write null.
_KEEP_NAN = ConfigDict(ser_json_inf_nan="constants")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", **_KEEP_NAN)


class _Given(_Open):
    """A JSON object with typed known keys: it writes back only the keys it was given (or that were set
    later), so a block read from an older file is written unchanged. Reads like the plain dict it once was
    (``get``, ``[]``, ``keys``, ``items``), for callers written against that."""

    @model_serializer(mode="wrap")
    def _given_keys_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        declared = type(self).model_fields
        return {k: v for k, v in handler(self).items() if k not in declared or k in self.model_fields_set}

    def as_dict(self) -> dict[str, Any]:
        """The keys it holds (given or set; extras included) with their typed values."""
        values = {k: getattr(self, k) for k in type(self).model_fields if k in self.model_fields_set}
        values.update(self.model_extra or {})
        return values

    def get(self, key: str, default: Any = None) -> Any:
        """``block.get("p50")``: the value of a key it holds, else ``default``."""
        return self.as_dict().get(key, default)

    def keys(self) -> list[str]:
        """The keys it holds."""
        return list(self.as_dict())

    def items(self) -> list[tuple[str, Any]]:
        """(key, value) of every key it holds."""
        return list(self.as_dict().items())

    def __getitem__(self, key: str) -> Any:
        values = self.as_dict()
        if key not in values:
            raise KeyError(key)
        return values[key]


class LatencyBlock(_Given):
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


class Parity(_Given):
    """An export against the PyTorch model it came from (:func:`harness.evaluation.parity`)."""

    max_abs_diff: dict[str, float] | None = None
    metric_delta: float | None = None
    prediction_agreement: float | None = None
    tolerance: float | None = None
    passed: bool | None = None


class TrainCostRecord(_Given):
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


class ScoreInterval(BaseModel):
    """A score's confidence interval, written as the JSON list ``[low, high]``. Unpacks like that list
    (``low, high = record.score_ci``). Bounds in the wrong order are kept (so that
    :func:`harness.result_checks.check_results` can name the file); any other shape is a validation error."""

    model_config = ConfigDict(frozen=True, **_KEEP_NAN)

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


class SeedStats(_Open):
    """A record's score across the run's training seeds (``run --seeds``); CIs stay the main seed's."""

    seeds: list[int]
    scores: list[float]
    mean: float
    std: float


def batch_key(batch: int | str) -> str:
    """The ``latency_ms`` key of a batch size: ``1`` → ``batch_1``; a key is returned as it is."""
    return batch if isinstance(batch, str) else f"batch_{batch}"


class Lineage(_Open):
    """Where a model came from."""

    distilled_from: str | None = None
    exported_from: str | None = None
    quantized_from: str | None = None
    base_model: str | None = None


class Record(_Open):
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
    metrics: dict[str, float] = Field(default_factory=dict)
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

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
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


class Scorecard(_Open):
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


class RunResults(_Open):
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
