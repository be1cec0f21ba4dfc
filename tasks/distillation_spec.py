"""A task's ``distillation`` block: the student's weighted loss terms, their schedule and layer map."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tasks.fieldtypes import Float, Int, Text

#: far above any real recipe, low enough that nothing overflows or runs for ever
MAX_EPOCHS = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DistillationConfig(_Strict):
    """Knowledge-distillation loss: a weighted sum of named terms.

    ``weights`` maps the kind's loss-term names to weights; left out, each kind uses its documented
    default (for classification torchdistill's official GLUE KD recipe, ``KDLoss`` with temperature 3
    and alpha 0.9: ``0.9 * CE(student, gold) + 0.1 * T^2 * KL(teacher_T || student_T)``).
    """

    temperature: Float = Field(3.0, gt=0, le=100)
    weights: dict[Text, Annotated[Float, Field(ge=0, le=1000)]] | None = None
    epochs: Float | None = Field(None, gt=0, le=MAX_EPOCHS, description="defaults to the task's training epochs")
    learning_rate: Float | None = Field(None, gt=0, le=1)
    kd_mode: Literal["word", "sequence"] = Field(
        "word",
        description="generation only: 'word' = KL to the teacher's per-token distributions; 'sequence' = train "
        "on the teacher's own greedy outputs (Kim & Rush 2016)",
    )
    layer_map: Text | dict[Int, Int] = Field(
        "uniform",
        description="which teacher layer each student layer learns from in the hidden_mse and attention_kl terms: "
        "'uniform' (TinyBERT: student layer i of m <- teacher layer (i+1)*n/m - 1, 0-based), 'last-K' (the "
        "student's last K layers <- the teacher's last K; 'last' = 'last-1') or {student_layer: teacher_layer}",
    )
    reuse_teacher_outputs: bool = Field(
        True,
        description="keep the teacher's outputs from the first epoch for the later ones instead of running it "
        "again (kinds whose terms read small outputs: classification, similarity, NER, QA; not with "
        "intermediate-layer terms; harness.teacher_memo)",
    )
    relation_heads: Int | None = Field(
        None, gt=0, le=1024,
        description="relation_kl (MiniLMv2): the relation heads each of query, key and value is split into; "
        "default: the teacher's attention heads",
    )

    @field_validator("layer_map")
    @classmethod
    def _known_layer_map(cls, value: str | dict[int, int]) -> str | dict[int, int]:
        if isinstance(value, str) and not re.fullmatch(r"uniform|last(-[1-9][0-9]*)?", value):
            raise ValueError(f"{value!r} is not a layer map: use 'uniform', 'last-K' or {{student_layer: teacher_layer}}")
        if isinstance(value, dict):
            if not value:
                raise ValueError("an explicit layer map needs at least one {student_layer: teacher_layer} pair")
            negative = {k: v for k, v in value.items() if k < 0 or v < 0}
            if negative:
                raise ValueError(f"layer numbers count from 0, got {negative}")
        return value

    @field_validator("weights")
    @classmethod
    def _some_weight(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("needs at least one loss term")
        if not any(weight > 0 for weight in value.values()):
            raise ValueError(f"every weight is 0 ({value}): the student would learn nothing")
        return value
