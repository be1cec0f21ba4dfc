"""Opening the results store's database: its URL, the engine (SQLite with WAL and ``BEGIN IMMEDIATE``),
and bringing its schema to the current version (see :mod:`leaderboard.schema`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError

from leaderboard import schema
from tasks.errors import ReusebenchError

BUSY_TIMEOUT_S = 60


def default_db_url() -> str:
    """``$REUSEBENCH_DB``, else ``sqlite:///<$XDG_DATA_HOME or ~/.local/share>/reusebench/results.db``."""
    if os.environ.get("REUSEBENCH_DB"):
        return os.environ["REUSEBENCH_DB"]
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / 'reusebench' / 'results.db'}"


def parse_url(db: str | None) -> sa.URL:
    """``--db`` as a SQLAlchemy URL (a plain path is a SQLite file; None is :func:`default_db_url`)."""
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


def create_engine(url: sa.URL, label: str) -> Engine:
    """An engine for ``url`` (``label``: the URL without its password, for messages)."""
    try:
        return _sqlite_engine(url) if url.get_backend_name() == "sqlite" else sa.create_engine(url)
    except NoSuchModuleError:
        raise ReusebenchError(f"--db: no SQLAlchemy dialect for {label!r}") from None
    except (ArgumentError, ImportError) as exc:
        raise ReusebenchError(f"--db: cannot use {label!r}: {exc}") from None


def migrate(engine: Engine, label: str) -> int:
    """Apply every migration above the stored schema version, in one transaction; returns the version.
    A database newer than this reusebench is refused, never touched."""
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                version = _stored_version(conn)
                if version > schema.SCHEMA_VERSION:
                    raise ReusebenchError(
                        f"--db {label}: schema version {version} is newer than this reusebench supports "
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
