"""Opening the results store's database: its URL, the engine (SQLite with WAL and ``BEGIN IMMEDIATE``),
and bringing its schema to the current version (see :mod:`leaderboard.schema`)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError

from harness.safe_files import file_kind
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


def _refuse_special_file(path: Path) -> None:
    """A SQLite store is a regular file (or not there yet): never a device, a FIFO or a folder."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        raise ReusebenchError(f"--db {path}: cannot be used: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise ReusebenchError(
            f"--db {path}: not a regular file ({file_kind(mode)}); a SQLite results store is a file"
        )


def _sqlite_engine(url: sa.URL) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        _refuse_special_file(Path(database).expanduser())
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
        # WAL is a lasting property of the file: set it on our own (or an empty) database only, never on
        # another application's (which :func:`migrate` then refuses, untouched).
        tables, ours = cursor.execute(
            "SELECT count(*), count(CASE WHEN name = 'schema_meta' THEN 1 END) "
            "FROM sqlite_master WHERE type = 'table'"
        ).fetchone()
        if database and database != ":memory:" and (tables == 0 or ours):
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
                version = _stored_version(conn, label)
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


def reason(exc: BaseException) -> str:
    """A database error's own first line, without SQLAlchemy's wrapping (``attempt to write a readonly
    database``)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _stored_version(conn: Connection, label: str) -> int:
    inspector = sa.inspect(conn)
    if not inspector.has_table("schema_meta"):
        foreign = [name for name in inspector.get_table_names() if not name.startswith("sqlite_")]
        if foreign:  # another application's database: never add tables to it, never alter its own
            shown = ", ".join(sorted(foreign)[:5]) + (" ..." if len(foreign) > 5 else "")
            raise ReusebenchError(
                f"--db {label}: not a reusebench results store (it holds other tables: {shown}); left untouched"
            )
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
