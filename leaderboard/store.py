"""The results store: every run, with its environment, in a database (SQLite by default).

* **Where.** ``--db URL`` (any SQLAlchemy URL: ``sqlite:///path.db``, ``postgresql://…``; a plain path is
  taken as a SQLite file), else ``$REUSEBENCH_DB``, else ``sqlite:///<data dir>/reusebench/results.db``
  with the data dir ``$XDG_DATA_HOME`` or ``~/.local/share``.
* **Schema.** Versioned in ``schema_meta``; the migrations in :mod:`leaderboard.schema` are applied on open.
  A database newer than this reusebench is refused, never touched.
* **Idempotent import.** A run is keyed on its ``run_id`` *and* the SHA-256 of its canonical JSON: importing
  the same results again changes nothing. A different run that reuses a stored ``run_id`` (run ids are
  run-folder names) is stored as ``run_id~<sha8>``.
* **Concurrency.** One transaction per import (all records or none). On SQLite: WAL journal, a 60 s busy
  timeout and ``BEGIN IMMEDIATE``, so concurrent writers queue instead of failing; elsewhere, a unique
  constraint on (run_id, hash) makes a racing duplicate a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from harness.results import RunResults
from leaderboard import schema
from leaderboard.db import BUSY_TIMEOUT_S, create_engine, default_db_url, migrate, parse_url, reason
from leaderboard.rows import canonical_json, content_hash, record_row, results_from_rows, run_row
from tasks.errors import ReusebenchError

# Importable from here as before the store was split (URL and engine: leaderboard.db; rows: leaderboard.rows).
__all__ = [
    "BUSY_TIMEOUT_S",
    "ImportOutcome",
    "Store",
    "StoredRun",
    "canonical_json",
    "content_hash",
    "default_db_url",
    "record_run",
]

# Looked up here at call time, so that a test can make one record's row fail (an import is all or nothing).
_record_row = record_row


@dataclass(frozen=True)
class ImportOutcome:
    """What importing one run did: ``added`` or ``unchanged`` (already stored), and the stored run id."""

    source_run_id: str
    stored_run_id: str
    status: str


@dataclass(frozen=True)
class StoredRun:
    """A stored run's summary row."""

    run_id: str
    source_run_id: str
    created_at: str
    suite: str
    records: int
    results_sha256: str
    cpu: str | None


class Store:
    """An open results store; migrated to the current schema on open. Use as a context manager."""

    def __init__(self, db: str | None = None) -> None:
        url = parse_url(db)
        self.url = url.render_as_string(hide_password=True)
        self.engine = create_engine(url, self.url)
        try:
            self.schema_version = migrate(self.engine, self.url)
        except ReusebenchError:
            self.engine.dispose()
            raise
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise ReusebenchError(f"--db {self.url}: cannot open the results store: {reason(exc)}") from None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- writing --------------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Refuse a store this process cannot write (a read-only database file or folder, a read-only
        URL, a user without write rights) before anything is written: a one-line :class:`ReusebenchError`
        naming the store. The probe is a no-op update, rolled back."""
        meta = schema.schema_meta
        try:
            with self.engine.connect() as conn:
                transaction = conn.begin()
                try:
                    conn.execute(
                        meta.update().where(meta.c.key == "schema_version").values(value=meta.c.value)
                    )
                finally:
                    transaction.rollback()
        except SQLAlchemyError as exc:
            raise ReusebenchError(
                f"--db {self.url}: the results store is not writable ({reason(exc)}); nothing was stored"
            ) from None

    def import_runs(self, runs: Sequence[RunResults]) -> list[ImportOutcome]:
        """Store runs, all in one transaction (all or nothing); already-stored runs are left as they are.
        A database error (a read-only or full store) is a one-line :class:`ReusebenchError`."""
        prepared = [(r, content_hash(r)) for r in runs]
        for attempt in range(2):
            try:
                with self.engine.begin() as conn:
                    return [self._import_one(conn, r, sha) for r, sha in prepared]
            except IntegrityError:
                if attempt == 1:  # a concurrent writer stored the same run between our check and insert
                    raise
            except SQLAlchemyError as exc:
                raise ReusebenchError(
                    f"--db {self.url}: cannot store the run(s), nothing was stored: {reason(exc)}"
                ) from None
        raise AssertionError("unreachable")

    def import_run(self, results: RunResults) -> ImportOutcome:
        """Store one run (idempotent)."""
        return self.import_runs([results])[0]

    def _import_one(self, conn: Connection, results: RunResults, sha: str) -> ImportOutcome:
        runs = schema.runs
        existing = conn.execute(
            sa.select(runs.c.run_id).where(
                runs.c.source_run_id == results.run_id, runs.c.results_sha256 == sha
            )
        ).scalar_one_or_none()
        if existing is not None:
            return ImportOutcome(results.run_id, existing, "unchanged")
        stored_id = results.run_id
        if conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == stored_id)).first() is not None:
            stored_id = f"{results.run_id}~{sha[:8]}"
        conn.execute(runs.insert().values(**run_row(results, stored_id, sha)))
        rows = [_record_row(stored_id, i, r) for i, r in enumerate(results.records)]
        if rows:
            conn.execute(schema.records.insert(), rows)
        return ImportOutcome(results.run_id, stored_id, "added")

    # -- reading --------------------------------------------------------------------------------------

    def list_runs(self) -> list[StoredRun]:
        """Every stored run, oldest first."""
        runs, records = schema.runs, schema.records
        count = (
            sa.select(sa.func.count())
            .select_from(records)
            .where(records.c.run_id == runs.c.run_id)
            .scalar_subquery()
        )
        query = sa.select(
            runs.c.run_id,
            runs.c.source_run_id,
            runs.c.created_at,
            runs.c.suite,
            runs.c.results_sha256,
            runs.c.environment,
            count.label("n"),
        ).order_by(runs.c.created_at, runs.c.run_id)
        with self.engine.connect() as conn:
            return [
                StoredRun(
                    row.run_id,
                    row.source_run_id,
                    row.created_at,
                    row.suite,
                    row.n,
                    row.results_sha256,
                    (row.environment or {}).get("cpu"),
                )
                for row in conn.execute(query)
            ]

    def load_runs(self, run_ids: Iterable[str] | None = None) -> list[RunResults]:
        """Stored runs as :class:`RunResults` (``run_id`` is the stored id), oldest first."""
        runs, records = schema.runs, schema.records
        query = sa.select(runs).order_by(runs.c.created_at, runs.c.run_id)
        if run_ids is not None:
            query = query.where(runs.c.run_id.in_(list(run_ids)))
        with self.engine.connect() as conn:
            run_rows = list(conn.execute(query))
            record_rows = conn.execute(
                sa.select(records.c.run_id, records.c.data).order_by(records.c.run_id, records.c.position)
            ).all()
        by_run: dict[str, list[dict[str, Any]]] = {}
        for row in record_rows:
            by_run.setdefault(row.run_id, []).append(row.data)
        return [results_from_rows(row, by_run.get(row.run_id, [])) for row in run_rows]

    def task_history(self, task: str) -> list[dict[str, Any]]:
        """Every stored record of a task with its run's time and commit, oldest run first."""
        runs, records = schema.runs, schema.records
        query = (
            sa.select(
                records.c.run_id,
                runs.c.created_at,
                runs.c.environment,
                records.c.model,
                records.c.role,
                records.c.format,
                records.c.primary_metric,
                records.c.score,
                records.c.score_ci_low,
                records.c.score_ci_high,
                records.c.p50_ms,
                records.c.p90_ms,
                records.c.size_mb,
                records.c.status,
            )
            .join(runs, runs.c.run_id == records.c.run_id)
            .where(records.c.task == task)
            .order_by(runs.c.created_at, runs.c.run_id, records.c.position)
        )
        with self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        for row in rows:
            env = row.pop("environment") or {}
            row["git_commit"] = env.get("git_commit")
        return rows

    def tasks(self) -> list[str]:
        """Every task with at least one stored record, sorted."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(schema.records.c.task).distinct().order_by(schema.records.c.task)
                ).scalars()
            )

    def count(self) -> tuple[int, int]:
        """(runs, records) stored."""
        with self.engine.connect() as conn:
            n_runs = conn.execute(sa.select(sa.func.count()).select_from(schema.runs)).scalar_one()
            n_records = conn.execute(sa.select(sa.func.count()).select_from(schema.records)).scalar_one()
        return int(n_runs), int(n_records)


def record_run(results: RunResults, db_url: str | None = None) -> ImportOutcome:
    """Store one finished run in the results store (``db_url`` or the default); idempotent."""
    with Store(db_url) as store:
        return store.import_run(results)
