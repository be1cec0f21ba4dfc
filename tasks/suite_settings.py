"""The run settings of a suite: how latency is measured (``measure:``) and how int8 is made (``int8:``)."""

from __future__ import annotations

import reprlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from tasks.errors import did_you_mean
from tasks.fieldtypes import Float, Int, no_repeats

MAX_BATCH = 65_536


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MeasureConfig(_Strict):
    """How latency is measured (see README, "Measurements")."""

    batch_sizes: list[Annotated[Int, Field(gt=0, le=MAX_BATCH)]] = Field(default_factory=lambda: [1, 32], min_length=1)
    warmup: Int = Field(5, ge=0, le=100_000)
    min_iterations: Int = Field(20, gt=0, le=1_000_000)
    min_seconds: Float = Field(1.0, gt=0, le=3600)
    threads: Int = Field(1, gt=0, le=1024)
    seq_len: Int | None = Field(None, gt=0, le=4096, description="pad inputs to this length; default: real lengths")

    @field_validator("batch_sizes")
    @classmethod
    def _distinct_batch_sizes(cls, value: list[int]) -> list[int]:
        return no_repeats(value, "a batch size")  # type: ignore[return-value]


class Int8Config(_Strict):
    """How ``onnx-int8`` (dynamic) and ``onnx-int8-static`` (static, calibrated) are made; the method is the
    format's. ``max_drop``: the accuracy-aware mode (docs/measurement.md, "int8")."""

    max_drop: Float | None = Field(None, ge=0, le=100, description="largest primary-metric drop against fp32 ONNX "
                                   "on a held-out slice of the training split; none: no check")
    calibration: Literal["minmax", "percentile"] = Field("minmax", description="static int8: activation ranges")
    calibration_examples: Int = Field(128, gt=0, le=100_000, description="training examples to calibrate on")
    check_examples: Int = Field(256, gt=0, le=100_000, description="training examples the drop is measured on")
    max_attempts: Int = Field(4, gt=0, le=20, description="quantizations at most, the first one included")

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        # An unknown key gets a "did you mean"; "method" (the key a reader expects) says where it is chosen.
        for key in data if isinstance(data, dict) else ():
            if key not in cls.model_fields:
                hint = ("the method is the format's (onnx-int8 is dynamic, onnx-int8-static is static)" if
                        key == "method" else f"allowed fields: {', '.join(cls.model_fields)}")
                raise PydanticCustomError("int8_unknown", "{message}", {
                    "message": f"unknown field {reprlib.repr(key)}{did_you_mean(key, cls.model_fields)}; {hint}"})
        return data


#: How a suite may adapt the pretrained model to each task, cheapest first (docs/adaptation.md).
AdaptationMethod = Literal["estimate", "probe", "lora", "full"]
ADAPTATION_METHODS: tuple[str, ...] = ("estimate", "probe", "lora", "full")


class ProbeConfig(_Strict):
    """The linear probe: only the new task head trains, on the frozen body's outputs, computed once and kept
    (harness.frozen_body), so epochs cost little. A linear head on fixed features wants a far higher rate than
    fine-tuning and many epochs (SimCLR's linear evaluation, Chen et al. 2020: lr 0.1·batch/256 for 90 epochs).
    Measured on the quick suite with Adam: 1e-3 over the task's 2-4 epochs left every probe at chance; 3e-2
    over 20 epochs is within 0.02-0.1 of where 1e-1 over 30 epochs levels off (docs/adaptation.md)."""

    learning_rate: Float = Field(3e-2, gt=0, le=1)
    epochs: Float = Field(20, gt=0, le=1000)


class LoraConfig(_Strict):
    """LoRA through peft (Hu et al. 2021, Table 9 for RoBERTa-base on GLUE: rank 8, learning rate 4e-4 to 5e-4).
    ``target_modules`` None: the query and value projections of the model's type (harness.adaptation);
    ``all-linear``: every linear layer of the blocks, whatever the architecture names them."""

    rank: Int = Field(8, gt=0, le=4096)
    alpha: Float = Field(16.0, gt=0, le=100_000)
    dropout: Float = Field(0.1, ge=0, lt=1)
    target_modules: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(None, min_length=1)
    learning_rate: Float = Field(5e-4, gt=0, le=1)
    head_learning_rate: Float | None = Field(
        None, gt=0, le=1, description="the new head's (and other new modules') rate; defaults to learning_rate"
    )
    epochs: Float | None = Field(None, gt=0, le=1000, description="defaults to the task's training epochs")
    layers: list[Annotated[Int, Field(ge=0, le=10_000)]] | None = Field(
        None, min_length=1, description="the blocks (0 = nearest the embeddings) that get adapters; none: all. "
        "Gradients stop at the lowest adapted block, so the top blocks alone train faster",
    )

    @field_validator("target_modules", mode="before")
    @classmethod
    def _one_name_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("layers")
    @classmethod
    def _distinct_layers(cls, value: list[int] | None) -> list[int] | None:
        return no_repeats(value, "a layer") if value is not None else None  # type: ignore[return-value]
