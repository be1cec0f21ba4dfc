"""What a results file must hold beyond its schema, checked before anything reads it into a report or a store.

:func:`check_values` walks the JSON as read, before it is typed: every number finite and within 64 bits, every
string bounded (:data:`MAX_TEXT`) and free of control characters (C0 but tab, newline and carriage return; DEL;
C1), bidirectional-text controls and lone surrogates (in ``config``, which no report shows, only NUL and lone
surrogates), nesting at most :data:`MAX_DEPTH` deep.

:func:`check_results` checks the typed run against what a measurement can produce:

* names (run id, suite, task, model, kind, metric, teacher, latency and metric keys) are non-empty single-line
  strings of at most :data:`MAX_NAME` characters, and a run id cannot leave its folder;
* a metric lies in its range (:data:`METRIC_RANGES`: accuracy, F1, precision, recall, exact match and ROUGE in
  [0, 1], BLEU and chrF in [0, 100], MCC and correlations in [-1, 1], MSE ≥ 0; a key of no known metric, or of
  a kind this module does not know, only needs to be finite), and a built-in kind's ``primary_metric`` is one
  of its metric's keys;
* ``score`` equals ``metrics[primary_metric]`` and lies in its own interval ``score_ci = [low, high]``
  (low ≤ high), within :data:`TOLERANCE`;
* counts, sizes, parameters, latencies, memory, throughput and wall times are ≥ 0, and latency percentiles are
  ordered: min ≤ p50 ≤ p90 ≤ p99 ≤ max;
* no two records share (task, role, model, format), and ``created_at`` is an ISO-8601 time.

Every failure is a :class:`ReusebenchError` with one line naming the file and the field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from harness.result_models import LatencyBlock, Record, RunResults, Scorecard
from harness.value_checks import (  # noqa: F401 - re-exported for the modules that import them from here
    _BAD_ANYWHERE,
    _BAD_IN_TEXT,
    MAX_ANY_INT,
    MAX_DEPTH,
    MAX_INT,
    MAX_NAME,
    MAX_TEXT,
    TOLERANCE,
    _bad_char,
    check_name,
    check_run_id,
    check_text,
    finite,
    short,
)
from tasks.errors import ReusebenchError

UNIT = (0.0, 1.0)
PERCENT = (0.0, 100.0)
CORRELATION = (-1.0, 1.0)
NON_NEGATIVE = (0.0, math.inf)
#: The range of every metric key the built-in metrics (``tasks.metrics``) compute.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    **dict.fromkeys(("accuracy", "f1", "f1_macro", "precision", "recall", "exact_match"), UNIT),
    **dict.fromkeys(("rouge1", "rouge2", "rougeL"), UNIT),
    **dict.fromkeys(("bleu", "chrf"), PERCENT),
    **dict.fromkeys(("mcc", "pearson", "spearman"), CORRELATION),
    "mse": NON_NEGATIVE,
}
#: The metric keys of each built-in task kind (the keys of its metric in ``tasks.metrics``; similarity is
#: scored as regression or, with labels, as classification).
KIND_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "f1", "f1_macro", "mcc"),
    "similarity": ("pearson", "spearman", "mse", "accuracy", "f1", "f1_macro", "mcc"),
    "ner": ("precision", "recall", "f1", "accuracy"),
    "qa": ("exact_match", "f1"),
    "generation": ("rouge1", "rouge2", "rougeL", "bleu", "chrf"),
}


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def check_values(data: Any, source: str) -> None:
    """Walk the JSON of a results file (see the module docstring); iterative, so depth costs no stack."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ReusebenchError(f"{source}: {where}: nested more than {MAX_DEPTH} levels deep")
        label = f"{source}: {where}" if where else source
        # The reports show nothing of the config but a few numbers, and none of the per-example outputs
        # (model predictions and eval references may hold any text a data set holds).
        shown = not (where.startswith(("config", "eval_sets")) or ".predictions[" in where)
        if isinstance(value, str):
            check_text(value, label, shown=shown)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if abs(value) > MAX_ANY_INT:
                raise ReusebenchError(f"{label}: {short(value)} is out of range")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise ReusebenchError(f"{label}: not a finite number ({short(value)})")
        elif isinstance(value, Mapping):
            for key, item in value.items():
                check_text(str(key), f"{label} (a key)", limit=MAX_NAME * 5, shown=shown)
                stack.append((item, _path(where, str(key)), depth + 1))
        elif isinstance(value, list | tuple):
            stack.extend((item, _path(where, i), depth + 1) for i, item in enumerate(value))


def _iso_time(value: str, where: str) -> None:
    try:
        datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise ReusebenchError(f"{where}: {short(value)} is not an ISO-8601 time (e.g. 2026-11-29T08:02:25+00:00)") from None


def metric_range(kind: str | None, key: str) -> tuple[float, float]:
    """The range of metric ``key`` in a record of ``kind``: its built-in range for a built-in kind, else any
    finite value."""
    if kind in KIND_METRICS and key in METRIC_RANGES:
        return METRIC_RANGES[key]
    return (-math.inf, math.inf)


def _check_metrics(kind: str | None, metrics: Mapping[str, Any], where: str) -> None:
    for name, value in metrics.items():
        check_name(name, f"{where}.metrics (a key)")
        finite(value, f"{where}.metrics.{name}", low=metric_range(kind, name)[0], high=metric_range(kind, name)[1])


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _check_score(record: Record, where: str) -> None:
    """Primary metric, score, CI: in range, the score equal to its metric and inside its own interval."""
    kind, metric = record.kind, record.primary_metric
    if kind in KIND_METRICS and metric not in KIND_METRICS[kind]:
        raise ReusebenchError(
            f"{where}.primary_metric: {metric!r} is not a metric of kind {kind!r} ({', '.join(KIND_METRICS[kind])})"
        )
    low, high = metric_range(kind, metric)
    finite(record.score, f"{where}.score", low=low, high=high)
    value = record.metrics.get(metric)
    if record.score is not None and value is not None and not _same(record.score, value):
        raise ReusebenchError(
            f"{where}.score: {record.score!r} is not metrics.{metric} ({value!r}): the score is its primary metric"
        )
    ci = record.score_ci  # its shape ([low, high]) was checked by the schema
    if ci is None:
        return
    for j, bound in enumerate(ci):
        finite(bound, f"{where}.score_ci[{j}]", low=low, high=high)
    if ci.low > ci.high:
        raise ReusebenchError(f"{where}.score_ci: low {ci.low!r} > high {ci.high!r}")
    score = record.score
    if score is not None:
        slack = TOLERANCE * max(1.0, abs(score))
        if not ci.low - slack <= score <= ci.high + slack:
            raise ReusebenchError(f"{where}.score: {score!r} lies outside its own interval score_ci [{ci.low!r}, {ci.high!r}]")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_LATENCY_ORDER = ("min", "p50", "p90", "p99", "max")


def _check_latency(key: str, block: LatencyBlock, where: str) -> None:
    where = f"{where}.latency_ms.{key}"
    check_name(key, f"{where} (a key)")
    for stat, value in block.items():
        if _is_number(value):
            finite(value, f"{where}.{stat}", low=0)
    given = [(s, block.get(s)) for s in _LATENCY_ORDER if block.get(s) is not None]
    for (first, a), (second, b) in zip(given, given[1:], strict=False):
        if a > b * (1 + TOLERANCE) + TOLERANCE:
            raise ReusebenchError(f"{where}: {first} {a!r} > {second} {b!r} (expected min ≤ p50 ≤ p90 ≤ p99 ≤ max)")


_RECORD_NON_NEGATIVE = ("params", "size_mb", "eval_examples", "throughput_per_s", "peak_rss_mb", "eval_s", "load_s")


def _check_measurements(record: Record, where: str) -> None:
    """Sizes, counts, times, memory: finite and ≥ 0; agreement in [-1, 1]; training and parity figures."""
    values = {**(record.model_extra or {}), **{k: getattr(record, k) for k in type(record).model_fields}}
    for name in _RECORD_NON_NEGATIVE:
        finite(values.get(name), f"{where}.{name}", low=0)
    finite(values.get("teacher_agreement"), f"{where}.teacher_agreement", low=-1, high=1)
    for key, block in record.latency_ms.items():
        _check_latency(key, block, where)
    if record.train is not None:
        for stat, value in record.train.items():
            if _is_number(value):
                finite(value, f"{where}.train.{stat}", low=0)
    if record.parity is not None:
        parity = record.parity
        for output, diff in (parity.max_abs_diff or {}).items():
            finite(diff, f"{where}.parity.max_abs_diff.{output}", low=0)
        finite(parity.metric_delta, f"{where}.parity.metric_delta")
        finite(parity.prediction_agreement, f"{where}.parity.prediction_agreement", low=-1, high=1)
        finite(parity.tolerance, f"{where}.parity.tolerance", low=0)
    seeds = record.seed_scores
    if seeds is not None:
        if len(seeds.seeds) != len(seeds.scores):
            raise ReusebenchError(f"{where}.seed_scores: {len(seeds.seeds)} seeds but {len(seeds.scores)} scores")
        low, high = metric_range(record.kind, record.primary_metric)
        for i, score in enumerate(seeds.scores):
            finite(score, f"{where}.seed_scores.scores[{i}]", low=low, high=high)
        finite(seeds.mean, f"{where}.seed_scores.mean", low=low, high=high)
        finite(seeds.std, f"{where}.seed_scores.std", low=0)


def _check_paired(record: Record, where: str) -> None:
    """The paired statistics against the teacher: p-values in [0, 1], counts ≥ 0, intervals in order."""
    paired = record.paired
    if record.predictions is not None and record.eval_examples and len(record.predictions) != record.eval_examples:
        raise ReusebenchError(
            f"{where}.predictions: {len(record.predictions)} predictions for {record.eval_examples} eval examples"
        )
    if paired is None:
        return
    where = f"{where}.paired"
    for field in ("tost_p", "mcnemar_p"):
        finite(getattr(paired, field), f"{where}.{field}", low=0, high=1)
    finite(paired.margin, f"{where}.margin", low=0)
    finite(paired.examples, f"{where}.examples", low=0)
    finite(paired.difference, f"{where}.difference")
    for name, count in (paired.flips or {}).items():
        check_name(name, f"{where}.flips (a key)")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ReusebenchError(f"{where}.flips.{name}: expected a count ≥ 0, got {short(count)}")
    intervals = [("difference_ci", paired.difference_ci)]
    intervals += [(f"metrics.{k}.ci", (v or {}).get("ci")) for k, v in (paired.metrics or {}).items()]
    for field, ci in intervals:
        if ci is None:
            continue
        if not isinstance(ci, list | tuple) or len(ci) != 2:
            raise ReusebenchError(f"{where}.{field}: expected [low, high], got {short(ci)}")
        finite(ci[0], f"{where}.{field}[0]")
        finite(ci[1], f"{where}.{field}[1]")
        if ci[0] > ci[1]:
            raise ReusebenchError(f"{where}.{field}: low {ci[0]!r} > high {ci[1]!r}")


def check_record(record: Record, where: str) -> None:
    """One record: its names, its score and interval, its measurements, its paired statistics."""
    for field in ("task", "model", "kind", "primary_metric"):
        check_name(getattr(record, field), f"{where}.{field}")
    if record.teacher is not None:
        check_name(record.teacher, f"{where}.teacher")
    _check_metrics(record.kind, record.metrics, where)
    _check_score(record, where)
    _check_measurements(record, where)
    _check_paired(record, where)


def _check_records(records: Iterable[Record], source: str) -> dict[str, tuple[str, str]]:
    """Every record, and no two for the same (task, role, model, format); returns task → (kind, metric)."""
    seen: dict[tuple[str, str, str, str], int] = {}
    tasks: dict[str, tuple[str, str]] = {}
    for index, record in enumerate(records):
        where = f"{source}: records[{index}]"
        check_record(record, where)
        key = (record.task, record.role, record.model, record.format)
        if key in seen:
            raise ReusebenchError(
                f"{where}: duplicate record for task {record.task!r}, {record.role} {record.model!r}, "
                f"format {record.format!r} (same as records[{seen[key]}])"
            )
        seen[key] = index
        tasks.setdefault(record.task, (record.kind, record.primary_metric))
    return tasks


def _check_scorecard(card: Scorecard, where: str) -> None:
    for field in ("task", "teacher", "student", "format"):
        check_name(getattr(card, field), f"{where}.{field}")
    for field in ("speedup", "compression", "train_cost_s", "reuse_score"):
        finite(getattr(card, field), f"{where}.{field}", low=0)
    finite(card.retention, f"{where}.retention")
    for field in ("score", "teacher_score"):
        finite((card.model_extra or {}).get(field), f"{where}.{field}")


def _check_baselines(baselines: Mapping[str, Mapping[str, Any]], tasks: Mapping[str, tuple[str, str]], source: str) -> None:
    for task, baseline in baselines.items():
        where = f"{source}: baselines.{task}"
        check_name(task, f"{source}: baselines (a key)")
        kind, metric = tasks.get(task, (None, None))
        metrics = baseline.get("metrics") or {}
        if not isinstance(metrics, Mapping):
            raise ReusebenchError(f"{where}.metrics: expected an object, got {short(metrics)}")
        _check_metrics(kind, metrics, where)
        low, high = metric_range(kind, metric) if metric else (-math.inf, math.inf)
        finite(baseline.get("score"), f"{where}.score", low=low, high=high)


_ENV_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("cpu", "isa_summary", "python", "torch", "transformers", "onnxruntime", "git_commit",
                     "platform"), (str,)),
    **dict.fromkeys(("threads", "measure_threads", "cpu_count", "cpus_usable", "seed"), (int,)),
    "cpu_flags": (list,),
    "versions": (dict,),
    "gpu": (dict, str),
    "git_dirty": (bool,),
}
_MEASURE_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("warmup", "min_iterations", "threads"), (int,)),
    "min_seconds": (int, float),
}


def _typed(value: object, types: tuple[type, ...], where: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) and bool not in types or not isinstance(value, types):
        wanted = " or ".join("an integer" if t is int else f"a {t.__name__}" for t in types)
        raise ReusebenchError(f"{where}: expected {wanted}, got {short(value)}")
    if _is_number(value):
        finite(value, where, low=0)


def _check_context(results: RunResults, source: str) -> None:
    """The environment and configuration fields the reports show have the types they are shown as."""
    env = results.environment
    for key, types in _ENV_TYPES.items():
        _typed(env.get(key), types, f"{source}: environment.{key}")
    for i, flag in enumerate(env.get("cpu_flags") or []):
        _typed(flag, (str,), f"{source}: environment.cpu_flags[{i}]")
    for name, version in (env.get("versions") or {}).items():
        _typed(version, (str,), f"{source}: environment.versions.{name}")
    config = results.config
    _typed(config.get("seed"), (int,), f"{source}: config.seed")
    _typed(config.get("bootstrap_resamples"), (int,), f"{source}: config.bootstrap_resamples")
    suite = config.get("suite")
    _typed(suite, (dict,), f"{source}: config.suite")
    measure = (suite or {}).get("measure")
    _typed(measure, (dict,), f"{source}: config.suite.measure")
    for key, types in _MEASURE_TYPES.items():
        _typed((measure or {}).get(key), types, f"{source}: config.suite.measure.{key}")


def check_results(results: RunResults, source: str) -> RunResults:
    """Reject what no measurement can produce (see the module docstring); returns ``results`` when sound."""
    check_run_id(results.run_id, source)
    for field in ("suite", "created_at"):
        check_name(getattr(results, field), f"{source}: field '{field}'")
    _iso_time(results.created_at, f"{source}: field 'created_at'")
    finite(results.wall_s, f"{source}: wall_s", low=0)
    _check_context(results, source)
    tasks = _check_records(results.records, source)
    for index, card in enumerate(results.scorecards):
        _check_scorecard(card, f"{source}: scorecards[{index}]")
    _check_baselines(results.baselines, tasks, source)
    for task, eval_set in results.eval_sets.items():
        check_name(task, f"{source}: eval_sets (a key)")
        if len(eval_set.references) not in (0, eval_set.examples):
            raise ReusebenchError(
                f"{source}: eval_sets.{task}.references: {len(eval_set.references)} references for "
                f"{eval_set.examples} examples"
            )
    return results
