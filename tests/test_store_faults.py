"""A process killed (SIGKILL) while writing the results store leaves it consistent and importable."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"

WRITER = """
import copy, json, sys
from harness.results import RunResults
from leaderboard.store import Store
base = json.load(open(sys.argv[2]))
with Store(sys.argv[1]) as store:
    for i in range(10_000):
        data = copy.deepcopy(base)
        data["run_id"] = f"run-{i:05d}"
        store.import_run(RunResults.model_validate(data))
        print(i, flush=True)
"""


def test_sigkill_during_store_writes_leaves_a_consistent_store(tmp_path):
    from harness.results import RunResults
    from leaderboard.store import Store

    db = f"sqlite:///{tmp_path / 'results.db'}"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, db, str(FIXTURE)],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ), cwd=Path(__file__).parents[1],
    )
    written = 0
    deadline = time.time() + 120
    while written < 5 and time.time() < deadline:  # let a few imports land, then kill mid-stream
        line = writer.stdout.readline()
        if not line:
            break
        written = int(line.split()[0]) + 1
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert written >= 5

    connection = sqlite3.connect(tmp_path / "results.db")
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()
    with Store(db) as store:
        runs = store.load_runs()
        stored = {run.run_id for run in runs}
        assert len(stored) >= written  # every acknowledged import survived
        assert all(len(run.records) == len(json.loads(FIXTURE.read_text())["records"]) for run in runs)
        # The store still takes writes, and re-importing a stored run changes nothing.
        data = json.loads(FIXTURE.read_text())
        data["run_id"] = "run-00000"
        store.import_run(RunResults.model_validate(data))
        assert {run.run_id for run in store.load_runs()} == stored
