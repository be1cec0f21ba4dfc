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

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from harness.results import Record, RunResults
from leaderboard import schema
from tasks.errors import ReusebenchError

BUSY_TIMEOUT_S = 60
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


def default_db_url() -> str:
    """``$REUSEBENCH_DB``, else ``sqlite:///<$XDG_DATA_HOME or ~/.local/share>/reusebench/results.db``."""
    if os.environ.get("REUSEBENCH_DB"):
        return os.environ["REUSEBENCH_DB"]
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / 'reusebench' / 'results.db'}"


def _url(db: str | None) -> sa.URL:
    text = db or default_db_url()
    if "://" not in text:  # a plain path: a SQLite file
        text = f"sqlite:///{Path(text).expanduser()}"
    try:
        return sa.make_url(text)
    except ArgumentError:
        raise ReusebenchError(f"--db: {text!r} is not a database URL (e.g. sqlite:///results.db)") from None


def _sqlite_engine(url: sa.URL) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReusebenchError(
                f"--db: cannot create the folder of {database}: {exc.strerror or exc}"
            ) from None
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event (below) open transactions, as BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        if database and database != ":memory:":
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def canonical_json(results: RunResults) -> str:
    """The results as canonical JSON (sorted keys, no whitespace): what the content hash is taken of."""
    payload = json.loads(json.dumps(results.model_dump(mode="json"), default=str))
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(results: RunResults) -> str:
    """SHA-256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(results).encode("utf-8")).hexdigest()


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


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _record_row(run_id: str, position: int, record: Record) -> dict[str, Any]:
    data = json.loads(json.dumps(record.model_dump(mode="json"), default=str))
    latency = record.latency_ms.get("batch_1") or {}
    ci = record.score_ci if record.score_ci and len(record.score_ci) == 2 else [None, None]
    return {
        "run_id": run_id,
        "position": position,
        "task": record.task,
        "kind": record.kind,
        "model": record.model,
        "role": record.role,
        "format": record.format,
        "primary_metric": record.primary_metric,
        "score": _num(record.score),
        "score_ci_low": _num(ci[0]),
        "score_ci_high": _num(ci[1]),
        "p50_ms": _num(latency.get("p50")),
        "p90_ms": _num(latency.get("p90")),
        "size_mb": _num(record.size_mb),
        "params": int(record.params) if record.params else None,
        "train_wall_s": _num((record.train or {}).get("wall_s")),
        "status": record.status,
        "data": data,
    }


class Store:
    """An open results store; migrated to the current schema on open. Use as a context manager."""

    def __init__(self, db: str | None = None) -> None:
        url = _url(db)
        self.url = url.render_as_string(hide_password=True)
        try:
            self.engine = _sqlite_engine(url) if url.get_backend_name() == "sqlite" else sa.create_engine(url)
        except NoSuchModuleError:
            raise ReusebenchError(f"--db: no SQLAlchemy dialect for {self.url!r}") from None
        except (ArgumentError, ImportError) as exc:
            raise ReusebenchError(f"--db: cannot use {self.url!r}: {exc}") from None
        try:
            self.schema_version = self._migrate()
        except ReusebenchError:
            self.engine.dispose()
            raise
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise ReusebenchError(
                f"--db {self.url}: cannot open the results store: {exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0]}"
            ) from None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------------------------------

    def _migrate(self) -> int:
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    version = _stored_version(conn)
                    if version > schema.SCHEMA_VERSION:
                        raise ReusebenchError(
                            f"--db {self.url}: schema version {version} is newer than this reusebench supports "
                            f"({schema.SCHEMA_VERSION}); upgrade reusebench"
                        )
                    for migration in schema.MIGRATIONS[version:]:
                        migration(conn)
                    if version < schema.SCHEMA_VERSION:
                        _set_version(conn, schema.SCHEMA_VERSION, insert=version == 0)
                    return schema.SCHEMA_VERSION
            except (IntegrityError, sa.exc.ProgrammingError, sa.exc.OperationalError):
                # Another process migrated the same database at the same moment (servers without
                # BEGIN IMMEDIATE): read its result on the next attempt.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # -- writing --------------------------------------------------------------------------------------

    def import_runs(self, runs: Sequence[RunResults]) -> list[ImportOutcome]:
        """Store runs, all in one transaction (all or nothing); already-stored runs are left as they are."""
        prepared = [(r, content_hash(r)) for r in runs]
        for attempt in range(2):
            try:
                with self.engine.begin() as conn:
                    return [self._import_one(conn, r, sha) for r, sha in prepared]
            except IntegrityError:
                if attempt == 1:  # a concurrent writer stored the same run between our check and insert
                    raise
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
        dump = json.loads(json.dumps(results.model_dump(mode="json"), default=str))
        conn.execute(
            runs.insert().values(
                run_id=stored_id,
                source_run_id=results.run_id,
                created_at=results.created_at,
                suite=results.suite,
                wall_s=results.wall_s,
                results_schema_version=results.schema_version,
                environment=dump.get("environment") or {},
                config=dump.get("config") or {},
                extra={k: v for k, v in dump.items() if k not in _CONTRACT_FIELDS},
                results_sha256=sha,
                imported_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            )
        )
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
        loaded = []
        for row in run_rows:
            payload = dict(row.extra or {})
            payload.update(
                schema_version=row.results_schema_version,
                run_id=row.run_id,
                created_at=row.created_at,
                suite=row.suite,
                wall_s=row.wall_s or 0.0,
                environment=row.environment or {},
                config=row.config or {},
                records=by_run.get(row.run_id, []),
            )
            if row.source_run_id != row.run_id:
                payload.setdefault("source_run_id", row.source_run_id)
            loaded.append(RunResults.model_validate(payload))
        return loaded

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


def _stored_version(conn: Connection) -> int:
    if not sa.inspect(conn).has_table("schema_meta"):
        return 0
    value = conn.execute(
        sa.select(schema.schema_meta.c.value).where(schema.schema_meta.c.key == "schema_version")
    ).scalar_one_or_none()
    try:
        return int(value) if value is not None else 0
    except ValueError:
        raise ReusebenchError(f"schema_meta.schema_version is not a number: {value!r}") from None


def _set_version(conn: Connection, version: int, *, insert: bool) -> None:
    table = schema.schema_meta
    if insert and conn.execute(sa.select(table.c.key).where(table.c.key == "schema_version")).first() is None:
        conn.execute(table.insert().values(key="schema_version", value=str(version)))
    else:
        conn.execute(table.update().where(table.c.key == "schema_version").values(value=str(version)))


def record_run(results: RunResults, db_url: str | None = None) -> ImportOutcome:
    """Store one finished run in the results store (``db_url`` or the default); idempotent."""
    with Store(db_url) as store:
        return store.import_run(results)
