"""The results store: idempotent import, migrations, concurrent writers, all-or-nothing imports."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from fixture_runs import FIXTURE, variant, write_run

from harness.cli import main
from harness.results import RunResults, load_results
from leaderboard import schema
from leaderboard import store as store_module
from leaderboard.store import Store, content_hash, default_db_url, record_run
from tasks.errors import ReusebenchError


def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'results.db'}"


def table_rows(db_url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = {
            name: [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {name} ORDER BY 1"))]
            for name in ("schema_meta", "runs", "records")
        }
    engine.dispose()
    return rows


def test_importing_the_same_results_twice_changes_nothing(tmp_path):
    results = load_results(FIXTURE)
    with Store(url(tmp_path)) as store:
        first = store.import_run(results)
        before = table_rows(url(tmp_path))
        second = store.import_run(results)
        assert (first.status, second.status) == ("added", "unchanged")
        assert second.stored_run_id == first.stored_run_id == "run"
        assert store.count() == (1, 5)
    assert table_rows(url(tmp_path)) == before


def test_cli_import_twice_and_record_run_are_idempotent(tmp_path, capsys):
    db = url(tmp_path)
    record_run(load_results(FIXTURE), db)  # what `reusebench run` does at the end
    before = table_rows(db)
    for _ in range(2):
        assert main(["leaderboard", "--db", db, "--add", str(FIXTURE), "--out", str(tmp_path / "site")]) == 0
    assert "unchanged: run run" in capsys.readouterr().out
    assert table_rows(db) == before


def test_a_stored_run_comes_back_whole(tmp_path):
    results = load_results(FIXTURE)
    with Store(url(tmp_path)) as store:
        store.import_run(results)
        (loaded,) = store.load_runs()
    assert loaded.model_dump() == results.model_dump()  # environment, config, records, scorecards
    assert content_hash(loaded) == content_hash(results)


def test_another_run_with_the_same_id_is_stored_beside_it(tmp_path):
    results = load_results(FIXTURE)
    other = RunResults.model_validate(variant(lambda d: d.update(wall_s=1.0)))
    with Store(url(tmp_path)) as store:
        store.import_run(results)
        outcome = store.import_run(other)
        assert outcome.status == "added" and outcome.stored_run_id == f"run~{content_hash(other)[:8]}"
        assert store.import_run(other).status == "unchanged"
        assert [r.run_id for r in store.list_runs()] == ["run", outcome.stored_run_id]


def test_migrations_build_an_empty_database_to_the_current_version(tmp_path):
    db = url(tmp_path)
    with Store(db) as store:
        assert store.schema_version == schema.SCHEMA_VERSION == len(schema.MIGRATIONS)
    engine = sa.create_engine(db)
    inspector = sa.inspect(engine)
    assert {"schema_meta", "runs", "records"} <= set(inspector.get_table_names())
    assert "extra" in {c["name"] for c in inspector.get_columns("runs")}
    assert {"ix_records_task", "ix_records_run"} <= {i["name"] for i in inspector.get_indexes("records")}
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        version = conn.execute(sa.text("SELECT value FROM schema_meta WHERE key = 'schema_version'")).scalar()
    engine.dispose()
    assert version == str(schema.SCHEMA_VERSION)


def test_a_version_1_database_is_migrated_and_keeps_its_runs(tmp_path):
    db = url(tmp_path)
    engine = sa.create_engine(db)
    with engine.begin() as conn:  # a database as the first release wrote it
        schema.MIGRATIONS[0](conn)
        conn.execute(sa.text("INSERT INTO schema_meta VALUES ('schema_version', '1')"))
        conn.execute(
            sa.text(
                "INSERT INTO runs (run_id, source_run_id, created_at, suite, wall_s, results_schema_version, environment, "
                "config, results_sha256, imported_at) VALUES ('old', 'old', '2020-01-01', 'quick', 1.0, 1, '{}', '{}', "
                "'abc', '2020-01-01')"
            )
        )
    engine.dispose()
    with Store(db) as store:
        assert store.schema_version == schema.SCHEMA_VERSION
        (old,) = store.load_runs()
        assert old.run_id == "old" and old.records == []
        assert store.import_run(load_results(FIXTURE)).status == "added"


def test_a_newer_database_is_refused_untouched(tmp_path):
    db = url(tmp_path)
    Store(db).close()
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE schema_meta SET value = '99' WHERE key = 'schema_version'"))
    engine.dispose()
    with pytest.raises(ReusebenchError, match="schema version 99 is newer"):
        Store(db)


def test_an_import_is_all_or_nothing(tmp_path, monkeypatch):
    good = load_results(FIXTURE)
    second = RunResults.model_validate(variant(lambda d: None, run_id="second"))
    real = store_module._record_row

    def failing(run_id, position, record):
        if run_id == "second" and position == 3:
            raise RuntimeError("disk full")
        return real(run_id, position, record)

    monkeypatch.setattr(store_module, "_record_row", failing)
    with Store(url(tmp_path)) as store:
        with pytest.raises(RuntimeError):
            store.import_runs([good, second])
        assert store.count() == (0, 0)


def test_a_corrupted_file_among_several_imports_nothing(tmp_path, capsys):
    db = url(tmp_path)
    broken = write_run(tmp_path / "broken", variant(lambda d: d["records"][2].update(score_ci=[0.9, 0.1])))
    code = main(
        ["leaderboard", "--db", db, "--add", str(FIXTURE), "--add", str(broken), "--out", str(tmp_path / "s")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert str(broken) in err and "records[2].score_ci" in err
    with Store(db) as store:
        assert store.count() == (0, 0)


SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from harness.results import load_results
    from leaderboard.store import Store
    db, start, tag = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    base = load_results(sys.argv[4])
    while not start.exists():
        time.sleep(0.01)
    for i in range(3):
        run = base.model_copy(update={"run_id": f"{tag}-{i}"})
        with Store(db) as store:
            assert store.import_run(run).status == "added"
    print("ok", tag)
    """
)


def test_two_processes_importing_at_once_both_land(tmp_path):
    db = url(tmp_path)
    start = tmp_path / "start"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, db, str(start), tag, str(FIXTURE)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    time.sleep(1.5)  # both are importing and waiting at the barrier (the database does not exist yet)
    start.touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    with Store(db) as store:
        assert sorted(r.run_id for r in store.list_runs()) == ["a-0", "a-1", "a-2", "b-0", "b-1", "b-2"]
        assert store.count() == (6, 30)


def test_default_url_and_plain_paths(tmp_path, monkeypatch):
    monkeypatch.delenv("REUSEBENCH_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_url() == f"sqlite:///{tmp_path / 'xdg' / 'reusebench' / 'results.db'}"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_db_url().endswith("/.local/share/reusebench/results.db")
    monkeypatch.setenv("REUSEBENCH_DB", "sqlite:///elsewhere.db")
    assert default_db_url() == "sqlite:///elsewhere.db"
    with Store(str(tmp_path / "sub" / "plain.db")) as store:  # a path, its folder created
        assert store.count() == (0, 0)
    assert (tmp_path / "sub" / "plain.db").exists()


@pytest.mark.parametrize("bad", ["nosuchdialect://x/y", "sqlite:////proc/no/such/dir/x.db"])
def test_a_bad_database_url_is_bad_input(bad, capsys, tmp_path):
    assert main(["leaderboard", "--db", bad, "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--db" in err
