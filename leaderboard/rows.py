"""What a run becomes in the results store's tables, and back: the content hash, a run's row, its records' rows
(the whole record as JSON plus the columns the leaderboard and history query), and a stored run as
:class:`RunResults` again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from harness.results import Record, RunResults

# Top-level fields with their own columns or table; everything else (scorecards included) goes to runs.extra.
_CONTRACT_FIELDS = {
    "schema_version",
    "run_id",
    "created_at",
    "suite",
    "wall_s",
    "environment",
    "config",
    "records",
}


def _json(model: Record | RunResults) -> dict[str, Any]:
    """The model as plain JSON values (anything odd stringified, as when it is written to disk)."""
    return json.loads(json.dumps(model.model_dump(mode="json"), default=str))


def canonical_json(results: RunResults) -> str:
    """The results as canonical JSON (sorted keys, no whitespace): what the content hash is taken of."""
    return json.dumps(_json(results), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(results: RunResults) -> str:
    """SHA-256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(results).encode("utf-8")).hexdigest()


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def record_row(run_id: str, position: int, record: Record) -> dict[str, Any]:
    """The ``records`` row of one record of a stored run."""
    latency = record.latency(1)
    ci = record.score_ci
    return {
        "run_id": run_id,
        "position": position,
        "task": record.task,
        "kind": record.kind,
        "model": record.model,
        "role": str(record.role),
        "format": str(record.format),
        "primary_metric": record.primary_metric,
        "score": _num(record.score),
        "score_ci_low": ci.low if ci else None,
        "score_ci_high": ci.high if ci else None,
        "p50_ms": _num(latency.p50) if latency else None,
        "p90_ms": _num(latency.p90) if latency else None,
        "size_mb": _num(record.size_mb),
        "params": int(record.params) if record.params else None,
        "train_wall_s": _num(record.train_wall_s),
        "status": record.status,
        "data": _json(record),
    }


def run_row(results: RunResults, stored_id: str, sha: str) -> dict[str, Any]:
    """The ``runs`` row of a run stored as ``stored_id`` with content hash ``sha``."""
    dump = _json(results)
    return {
        "run_id": stored_id,
        "source_run_id": results.run_id,
        "created_at": results.created_at,
        "suite": results.suite,
        "wall_s": results.wall_s,
        "results_schema_version": results.schema_version,
        "environment": dump.get("environment") or {},
        "config": dump.get("config") or {},
        "extra": {k: v for k, v in dump.items() if k not in _CONTRACT_FIELDS},
        "results_sha256": sha,
        "imported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def results_from_rows(row: Any, records: Sequence[dict[str, Any]]) -> RunResults:
    """A stored run (its ``runs`` row and its records' JSON) as :class:`RunResults`; ``run_id`` is the
    stored id, and ``source_run_id`` the run's own where they differ."""
    payload = dict(row.extra or {})
    payload.update(
        schema_version=row.results_schema_version,
        run_id=row.run_id,
        created_at=row.created_at,
        suite=row.suite,
        wall_s=row.wall_s or 0.0,
        environment=row.environment or {},
        config=row.config or {},
        records=list(records),
    )
    if row.source_run_id != row.run_id:
        payload.setdefault("source_run_id", row.source_run_id)
    return RunResults.model_validate(payload)
