"""Per-example outputs of a unit's records and their paired statistics against the teacher.

After a unit's graph has run, every record gets the predictions it was scored with, the fingerprint of the
eval split and the folder of its model; every record but the teacher's own PyTorch one gets
:class:`~harness.results.PairedStats` against that teacher (:func:`tasks.metrics.paired.paired_summary`:
paired bootstrap of every metric, McNemar and flips where examples are right or wrong, TOST at the suite's
``equivalence_margin``). The references travel once per task, on the teacher's record under
:data:`REFERENCES_KEY`, and the runner moves them to ``RunResults.eval_sets``.
"""

from __future__ import annotations

import logging
from typing import Any

from harness.results import EvalSet, PairedStats, Record, RunResults

log = logging.getLogger("reusebench")

#: The extra key of the teacher's PyTorch record that carries the eval references out of a unit.
REFERENCES_KEY = "eval_references"


def reference_record(records: list[Record]) -> Record | None:
    """The unit's teacher in PyTorch (what every other record is compared with), if it succeeded."""
    return next((r for r in records if r.role == "teacher" and r.format == "pytorch" and r.status == "ok"), None)


def attach_paired_stats(unit: Any, records: list[Record], references: list[Any] | None) -> None:
    """Paired statistics of every ok record with predictions against the teacher's PyTorch record."""
    from tasks.metrics.paired import (
        paired_summary,  # scipy and evaluate: only once there is something to pair
    )

    teacher = reference_record(records)
    if teacher is None or teacher.predictions is None or references is None:
        return
    name, kwargs = unit.kind.metric_name(unit.spec), unit.kind.metric_kwargs(unit.spec)
    for record in records:
        if record is teacher or record.status != "ok" or record.predictions is None:
            continue
        summary = paired_summary(
            name,
            teacher.predictions,
            record.predictions,
            references,
            primary=unit.spec.primary_metric,
            reference_metrics=teacher.metrics,
            metrics=record.metrics,
            margin_points=unit.suite.equivalence_margin,
            n_resamples=unit.options.bootstrap_resamples,
            seed=unit.options.seed,
            metric_kwargs=kwargs,
        )
        record.paired = PairedStats(reference=f"{teacher.model} (pytorch)", **summary)


def eval_set(unit: Any, references: list[Any]) -> EvalSet:
    """The unit's eval split as ``RunResults.eval_sets`` holds it."""
    return EvalSet(
        fingerprint=unit.data_fingerprint["eval"],
        examples=len(references),
        metric=unit.kind.metric_name(unit.spec),
        metric_kwargs=unit.kind.metric_kwargs(unit.spec),
        references=references,
    )


def collect_eval_sets(results: RunResults, records: list[Record]) -> None:
    """Move the references a unit attached to its teacher's record into ``results.eval_sets`` (once per task)."""
    for record in records:
        extra = record.model_extra or {}
        if REFERENCES_KEY in extra:
            data = extra.pop(REFERENCES_KEY)
            if data is not None and record.task not in results.eval_sets:
                # assigned, not updated in place: a field the run sets is written to results.json
                results.eval_sets = {**results.eval_sets, record.task: EvalSet.model_validate(data)}
