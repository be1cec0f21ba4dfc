"""The estimate stage: transferability estimates of the pretrained model on the task, before any training.

LogME (You et al. 2021) and H-score (Bao et al. 2019) score the frozen features of the pretrained encoder on
the training split against the task's targets (:mod:`harness.frozen_features`); LEEP (Nguyen et al. 2020) needs
the source model's own classification head, which a pretrained encoder does not have, so it is reported as not
applicable with that reason. The result travels on the teacher's PyTorch record (``transferability``): the
estimate belongs to the (task, pretrained model) pair that record's score measures.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, ClassVar

from harness.cache import CacheEntry
from harness.graph import Node, StageBase
from harness.variants import model_identity

log = logging.getLogger("reusebench")

#: Why LEEP is missing for a pretrained encoder (it scores a source classifier's label distribution).
LEEP_NOT_APPLICABLE = "needs the source model's own classification head; a pretrained encoder has none"


def transferability(frozen: Any) -> dict[str, Any]:
    """LogME and H-score of frozen features (H-score: classification targets only), with the reasons for
    what is missing."""
    from tasks.metrics.transferability import hscore, logme

    values: dict[str, Any] = {"logme": float(logme(frozen.features, frozen.labels, regression=frozen.regression))}
    notes = {"leep": LEEP_NOT_APPLICABLE}
    if frozen.regression:
        values["hscore"] = None
        notes["hscore"] = "defined for class labels; this task's targets are real numbers"
    else:
        values["hscore"] = float(hscore(frozen.features, frozen.labels))
    values["leep"] = None
    values["notes"] = notes
    return values


class EstimateStage(StageBase):
    """LogME and H-score of the pretrained model's frozen features on the training split."""

    name: ClassVar[str] = "estimate"
    after: ClassVar[tuple[str, ...]] = ()

    def payload(self, unit: Any, node: Node) -> dict[str, Any]:
        return {
            "target": unit.kind.estimate_target_of(unit.spec),
            "task": unit.spec.model_dump(mode="json", include={"name", "kind", "columns", "labels", "max_length"}),
            "data": unit.data_fingerprint["train"],
            "teacher": model_identity(unit.teacher_source),
            "estimators": "logme, hscore (tasks.metrics.transferability)",
        }

    def load(self, unit: Any, node: Node, entry: CacheEntry) -> dict[str, Any]:
        log.info("[%s] transferability estimates: cached (%s)", unit.spec.name, node.key)
        return dict(entry.metadata["estimates"])

    def compute(self, unit: Any, node: Node, folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
        from harness.frozen_features import frozen_features

        log.info("[%s] transferability estimates of %s", unit.spec.name, unit.teacher_name)
        start = time.perf_counter()
        frozen = frozen_features(
            unit.teacher_source,
            unit.kind.estimate_target_of(unit.spec),
            unit.train_features,
            unit.kind.collator(unit.tokenizer),
            unit.kind.label_keys,
            list(unit.tokenizer.model_input_names),
            trust_remote_code=unit.options.trust_remote_code,
            allow_pickle=unit.options.allow_pickle,
        )
        estimates = transferability(frozen)
        estimates.update(
            {
                "target": frozen.target,
                "examples": frozen.examples,
                "rows": int(len(frozen.labels)),
                "seconds": round(time.perf_counter() - start, 3),
            }
        )
        meta["estimates"] = estimates
        return estimates

    def estimate_s(self, unit: Any, node: Node) -> float:
        return 3.0  # one forward pass over at most 1,000 examples and an SVD: 0.9-4.0 s on the quick suite
