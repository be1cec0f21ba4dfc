"""Repeated training seeds: every model trained again with each extra seed, scores as mean ± std."""

from __future__ import annotations

import dataclasses
import logging
import statistics
from typing import Any

from harness.results import Record, SeedStats

log = logging.getLogger("reusebench")


def add_seed_statistics(records: list[Record], unit: Any) -> None:
    """Train and evaluate ``unit``'s task again with each extra seed; attach every record's scores across
    seeds (``seed_scores``: seeds, scores, mean, std). Records and CIs stay those of the main seed."""
    from harness.unit import TaskUnit

    options = unit.options
    scores: dict[tuple[str, str], list[float | None]] = {(r.model, r.format): [r.score] for r in records}
    for seed in options.extra_seeds:
        log.info("[%s] repeating with seed %d", unit.spec.name, seed)
        again = TaskUnit(
            unit.spec, dataclasses.replace(options, seed=seed), unit.run_dir, unit.environment, teacher=unit.teacher_name
        )
        for record in again.run():
            scores.setdefault((record.model, record.format), []).append(record.score)
    seeds = [options.seed, *options.extra_seeds]
    for record in records:
        values = [v for v in scores[(record.model, record.format)] if v is not None]
        if len(values) == len(seeds):
            record.seed_scores = SeedStats(
                seeds=seeds,
                scores=values,
                mean=statistics.fmean(values),
                std=statistics.stdev(values) if len(values) > 1 else 0.0,
            )
