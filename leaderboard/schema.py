"""The results store's schema and its migrations (SQLAlchemy Core).

The schema version lives in the ``schema_meta`` table (key ``schema_version``). :data:`MIGRATIONS` is the
ordered list of migration functions; migration *i* (0-based) brings a database from version *i* to
*i + 1*. On open, every migration above the stored version is applied, in order, in one transaction
(see :func:`leaderboard.store.Store`). Migrations are never edited once released: a schema change is a
new function appended to the list. Each migration spells out its own DDL rather than calling
``metadata.create_all`` on the current tables, so that an old database is brought forward exactly as a
new one was built.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# The tables as they are at the latest schema version, for queries.
metadata = sa.MetaData()

schema_meta = sa.Table(
    "schema_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    # The stored id: the run's own run_id, or run_id~<sha8> when another run with that id but other content
    # was stored first (two runs written to folders of the same name).
    sa.Column("run_id", sa.String(255), primary_key=True),
    sa.Column("source_run_id", sa.String(255), nullable=False),
    sa.Column("created_at", sa.String(64), nullable=False),
    sa.Column("suite", sa.String(255), nullable=False),
    sa.Column("wall_s", sa.Float),
    sa.Column("results_schema_version", sa.Integer, nullable=False),
    sa.Column("environment", sa.JSON, nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("results_sha256", sa.String(64), nullable=False),
    sa.Column("imported_at", sa.String(64), nullable=False),
    sa.Column("extra", sa.JSON),  # added by migration 2
    sa.UniqueConstraint("source_run_id", "results_sha256", name="uq_runs_source_content"),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(255), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("task", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("model", sa.String(1000), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("primary_metric", sa.String(255), nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("score_ci_low", sa.Float),
    sa.Column("score_ci_high", sa.Float),
    sa.Column("p50_ms", sa.Float),  # batch 1
    sa.Column("p90_ms", sa.Float),
    sa.Column("size_mb", sa.Float),
    sa.Column("params", sa.BigInteger),
    sa.Column("train_wall_s", sa.Float),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),  # the whole record, as in results.json
)


def _v1_initial(conn: Connection) -> None:
    """Version 1: schema_meta, runs (one row per stored run, with its environment and config), records."""
    md = sa.MetaData()
    sa.Table(
        "schema_meta",
        md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    sa.Table(
        "runs",
        md,
        sa.Column("run_id", sa.String(255), primary_key=True),
        sa.Column("source_run_id", sa.String(255), nullable=False),
        sa.Column("created_at", sa.String(64), nullable=False),
        sa.Column("suite", sa.String(255), nullable=False),
        sa.Column("wall_s", sa.Float),
        sa.Column("results_schema_version", sa.Integer, nullable=False),
        sa.Column("environment", sa.JSON, nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("results_sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.String(64), nullable=False),
        sa.UniqueConstraint("source_run_id", "results_sha256", name="uq_runs_source_content"),
    )
    sa.Table(
        "records",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(255), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("task", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("model", sa.String(1000), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("primary_metric", sa.String(255), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("score_ci_low", sa.Float),
        sa.Column("score_ci_high", sa.Float),
        sa.Column("p50_ms", sa.Float),
        sa.Column("p90_ms", sa.Float),
        sa.Column("size_mb", sa.Float),
        sa.Column("params", sa.BigInteger),
        sa.Column("train_wall_s", sa.Float),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    md.create_all(conn)


def _v2_indexes_and_extra(conn: Connection) -> None:
    """Version 2: indexes for the per-task queries (leaderboard, history); ``runs.extra`` keeps any
    top-level results fields beyond the contract's, so that a stored run comes back whole."""
    conn.execute(sa.text("ALTER TABLE runs ADD COLUMN extra JSON"))
    conn.execute(sa.text("UPDATE runs SET extra = '{}' WHERE extra IS NULL"))
    conn.execute(sa.text("CREATE INDEX ix_records_task ON records (task, role, format)"))
    conn.execute(sa.text("CREATE INDEX ix_records_run ON records (run_id)"))
    conn.execute(sa.text("CREATE INDEX ix_runs_created ON runs (created_at)"))


Migration = Callable[[Connection], None]
MIGRATIONS: list[Migration] = [_v1_initial, _v2_indexes_and_extra]
SCHEMA_VERSION = len(MIGRATIONS)
