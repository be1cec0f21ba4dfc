"""The stages of a unit, registered in one place (:data:`STAGES`); :mod:`harness.graph` walks them.

A new stage is one module here that defines a :class:`harness.graph.Stage` and one registration below;
:meth:`harness.unit.TaskUnit.build_graph` places its nodes.
"""

from __future__ import annotations

from harness.graph import Stage, downstream_stages
from harness.registry import Registry
from harness.stages.adapt import AdaptStage
from harness.stages.estimate import EstimateStage
from harness.stages.export import ExportStage
from harness.stages.record import RecordStage
from harness.stages.train import DistillStage, FinetuneStage
from tasks.errors import ReusebenchError

STAGES: Registry[Stage] = Registry("stage")

FINETUNE = FinetuneStage()
DISTILL = DistillStage()
ADAPT = AdaptStage()
ESTIMATE = EstimateStage()
EXPORT = ExportStage()
RECORD = RecordStage()
for _stage in (ESTIMATE, FINETUNE, DISTILL, ADAPT, EXPORT, RECORD):
    STAGES.add(_stage.name, _stage)

#: The stages that train a model: a unit with one of them left to compute gets a lane of the training pass.
TRAINING_STAGES = frozenset({FINETUNE.name, DISTILL.name, ADAPT.name})
#: The stages a lane of the training pass (:mod:`harness.training_pass`) runs: training, and the exports made
#: from what it trained (ONNX and int8 files are artefacts, not measurements, so they need not wait for a quiet
#: machine; the serial pass evaluates and measures them).
LANE_STAGES = TRAINING_STAGES | {EXPORT.name}


def forced_stages(requested: list[str] | None) -> frozenset[str]:
    """The stages ``--force`` recomputes: the named ones and every stage that consumes their outputs."""
    if not requested:
        return frozenset()
    unknown = sorted(set(requested) - set(STAGES.names()))
    if unknown:
        raise ReusebenchError(f"--force {', '.join(unknown)}: allowed values: {', '.join(STAGES.names())}")
    return downstream_stages((STAGES.get(name) for name in STAGES), requested)


__all__ = ["ADAPT", "DISTILL", "ESTIMATE", "EXPORT", "FINETUNE", "LANE_STAGES", "RECORD", "STAGES", "TRAINING_STAGES",
           "forced_stages"]
