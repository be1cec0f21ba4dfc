"""Bad task and suite definitions and data (issue #21), each driven through the command line.

The same contract as ``tests/test_bad_inputs.py`` (whose workspace, models and helpers are reused): exit code 2,
exactly one line on stderr naming the file, field or value, no traceback, nothing trained, and the earlier
``results.json`` and results store untouched. The classes:

* labels that a format would read differently (``labels: ["1", "2", "3"]`` and CSV integers, booleans, NaN...);
* data paths whose symbolic links leave ``--data-dir``;
* duplicate YAML keys, duplicate tasks, students, formats and batch sizes, labels equal once normalised;
* FIFOs, devices and folders where a file is expected (each case runs under an alarm: a hang is a failure);
* non-finite or out-of-range numbers, refused by ``validate`` and ``--dry-run`` before anything runs;
* no copy of a local data file left in the Hugging Face datasets cache (or a temporary folder).

The last part checks the one label rule directly: the same labels in every format give the same label ids.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import test_bad_inputs as base
from test_bad_inputs import (
    GOOD_ROWS,
    GOOD_TASK,
    NER_TASK,
    SIMILARITY_TASK,
    Workspace,
    assert_one_line_error,
    jsonl,
    run_args,
    task_yaml,
)

from tasks.data import load_splits, read_local_file
from tasks.errors import ConfigError, DataError
from tasks.kinds import get_kind
from tasks.registry import get_tasks, parse_task_list
from tasks.spec import parse_task

# The shared workspace (a data dir, a tiny suite, a finished run and a results store) and its helpers.
models, ws, _datasets_cache = base.models, base.ws, base._datasets_cache
_cli, _digest, _stored = base._cli, base._digest, base._stored

NUMERIC_LABELS = ["1", "2", "3"]
NUMERIC_TASK = {**GOOD_TASK, "labels": NUMERIC_LABELS,
                "data": {**GOOD_TASK["data"], "train": "train.csv", "eval": "dev.csv"}}
QA_TASK: dict[str, Any] = {"name": "bad-qa", "kind": "qa",
                           "data": {"source": "builtin", "generator": "qa", "train_size": 8, "eval_size": 4},
                           "max_length": 32, "primary_metric": "f1"}
SENTIMENT_COPY = (Path(__file__).parent.parent / "tasks" / "definitions" / "sentiment.yaml").read_text(encoding="utf-8")
NER_JSONL_TASK = {**NER_TASK, "data": {"source": "local", "path": "n", "train": "train.jsonl", "eval": "dev.jsonl"}}


def csv_rows(labels: list[Any]) -> str:
    """A CSV data file with one row per label, under a ``sentence,label`` header."""
    return "sentence,label\n" + "".join(f"sentence number {i},{label}\n" for i, label in enumerate(labels))


def suite(**fields: Any) -> str:
    """A tiny suite file (one 1-layer student, PyTorch only) with ``fields`` replaced."""
    data: dict[str, Any] = {"name": "tiny", "tasks": ["sentiment"], "students": ["layers=1"], "formats": ["pytorch"]}
    data.update(fields)
    return json.dumps(data)  # JSON is YAML


def training(**fields: Any) -> dict[str, Any]:
    """A ``training`` mapping with ``fields`` on top of the workspace task's."""
    return {**GOOD_TASK["training"], **fields}


DRY = ["--dry-run"]


@dataclass(frozen=True)
class Case:
    """One bad input: files to write, symbolic links and FIFOs to make, the command line, the message."""

    id: str
    argv: list[str]
    expect: list[str]
    files: dict[str, str | bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # link (relative to the root) -> target (placeholders)
    fifos: tuple[str, ...] = ()


CASES: list[Case] = [
    # --- 1. labels: one rule for every format ---------------------------------------------------------
    Case("label-numeric-names-csv-zero", run_args(), ["train.csv", "row 2", "label 0", "never as an index"],
         {"task.yaml": task_yaml(NUMERIC_TASK), "data/d/train.csv": csv_rows([1, 2, 0, 3]),
          "data/d/dev.csv": csv_rows([1, 2])}),
    Case("label-numeric-names-csv-four", run_args(), ["train.csv", "row 3", "label 4", "not one of the labels"],
         {"task.yaml": task_yaml(NUMERIC_TASK), "data/d/train.csv": csv_rows([1, 2, 3, 4]),
          "data/d/dev.csv": csv_rows([1, 2])}),
    Case("label-numeric-names-jsonl-string-zero", run_args(), ["train.jsonl", "row 1", "label '0'", "never"],
         {"task.yaml": task_yaml(labels=NUMERIC_LABELS),
          "data/d/train.jsonl": jsonl([{"sentence": "a", "label": "1"}, {"sentence": "b", "label": "0"}])}),
    Case("label-numeric-names-parquet", run_args(), ["dev.parquet", "row 1", "label 0", "never as an index"],
         {"task.yaml": task_yaml(labels=NUMERIC_LABELS, data={**GOOD_TASK["data"], "train": "train.csv",
                                                               "eval": "dev.parquet"}),
          "data/d/train.csv": csv_rows([1, 2, 3])}),  # dev.parquet is written by the test (binary)
    Case("label-boolean-names-ambiguous-index", run_args(), ["train.csv", "row 0", "ambiguous", "boolean false"],
         {"task.yaml": task_yaml(labels=["true", "false"], data={**GOOD_TASK["data"], "train": "train.csv"}),
          "data/d/train.csv": csv_rows([0, 1, 0])}),
    Case("label-boolean-value-without-boolean-label", run_args(), ["train.jsonl", "row 1", "boolean", "never"],
         {"data/d/train.jsonl": jsonl([{"sentence": "a", "label": 0}, {"sentence": "b", "label": True}])}),
    Case("label-fraction-as-index", run_args(), ["train.csv", "row 1", "0.5", "neither a label name nor an index"],
         {"task.yaml": task_yaml(data={**GOOD_TASK["data"], "train": "train.csv"}),
          "data/d/train.csv": csv_rows([0, 0.5, 1])}),
    Case("label-nan", run_args(), ["dev.jsonl", "row 0", "nan", "not a finite number"],
         {"data/d/dev.jsonl": '{"sentence": "a", "label": NaN}\n'}),
    Case("label-null", run_args(), ["dev.jsonl", "row 1", "None", "missing"],
         {"data/d/dev.jsonl": jsonl([{"sentence": "a", "label": 1}, {"sentence": "b", "label": None}])}),
    Case("label-list-value", run_args(), ["train.jsonl", "row 0", "a list"],
         {"data/d/train.jsonl": jsonl([{"sentence": "a", "label": [1]}, *GOOD_ROWS])}),
    Case("ner-tag-index-out-of-range", run_args(), ["train.jsonl", "row 1", "word 0", "has tag 7", "outside"],
         {"task.yaml": task_yaml(NER_JSONL_TASK),
          "data/n/train.jsonl": jsonl([{"tokens": ["Anna"], "ner_tags": [1]}, {"tokens": ["Bo"], "ner_tags": [7]}]),
          "data/n/dev.jsonl": jsonl([{"tokens": ["Anna"], "ner_tags": ["B-PER"]}])}),
    Case("ner-tag-unknown-in-conll", run_args(), ["{data}/n/dev.txt", "row 0", "word 1", "'B-XYZ'", "B-PER"],
         {"task.yaml": task_yaml(NER_TASK), "data/n/dev.txt": "Peter B-PER\nruns B-XYZ\n"}),
    Case("ner-tag-boolean", run_args(), ["train.jsonl", "row 0", "has tag True", "boolean"],
         {"task.yaml": task_yaml(NER_JSONL_TASK),
          "data/n/train.jsonl": jsonl([{"tokens": ["Anna"], "ner_tags": [True]}]),
          "data/n/dev.jsonl": jsonl([{"tokens": ["Anna"], "ner_tags": ["B-PER"]}])}),
    Case("regression-target-boolean", run_args(), ["train.jsonl", "row 1", "'score'", "must be a number", "True"],
         {"task.yaml": task_yaml(SIMILARITY_TASK, data={**SIMILARITY_TASK["data"], "train": "train.jsonl"}),
          "data/s/train.jsonl": jsonl([{"a": "x", "b": "y", "score": 1.0}, {"a": "x", "b": "z", "score": True}])}),
    Case("regression-target-underscored-number", run_args(), ["train.csv", "row 1", "'1_000'", "must be a number"],
         {"task.yaml": task_yaml(SIMILARITY_TASK), "data/s/train.csv": "a,b,score\nx,y,1.5\nx,z,1_000\n"}),
    Case("labels-equal-after-nfc", ["validate", "{task}"], ["task.yaml", "'labels'", "Unicode-normalised", "e\\u0301"],
         {"task.yaml": task_yaml(labels=["caf\u00e9", "cafe\u0301"])}),
    Case("labels-equal-after-nfkc", run_args(), ["task.yaml", "'labels'", "NFKC"],
         {"task.yaml": task_yaml(NER_TASK, labels=["O", "B-PER", "\uff22-PER"])}),  # fullwidth B
    Case("label-with-zero-width-space", ["validate", "{task}"], ["task.yaml", "'labels'", "U+200B"],
         {"task.yaml": task_yaml(labels=["neg", "neg\u200b"])}),
    Case("label-with-bidi-override", ["validate", "{task}"], ["task.yaml", "'labels'", "U+202E"],
         {"task.yaml": task_yaml(labels=["neg", "\u202eson"])}),
    Case("labels-same-number", ["validate", "{task}"], ["task.yaml", "'labels'", "'1' and '1.0'", "same number"],
         {"task.yaml": task_yaml(labels=["1", "1.0", "2"])}),
    Case("labels-same-boolean", ["validate", "{task}"], ["task.yaml", "'labels'", "'true' and 'True'"],
         {"task.yaml": task_yaml(labels=["true", "True"])}),
    Case("label-surrounding-space", ["validate", "{task}"], ["task.yaml", "'labels'", "' pos'", "whitespace"],
         {"task.yaml": task_yaml(labels=["neg", " pos"])}),
    # --- 2. symbolic links that leave --data-dir -------------------------------------------------------
    Case("data-file-links-outside", run_args(), ["{data}/d/train.jsonl", "points to", "{root}/outside/rows.jsonl",
                                                  "outside --data-dir"],
         {"outside/rows.jsonl": jsonl(GOOD_ROWS)}, links={"data/d/train.jsonl": "{root}/outside/rows.jsonl"}),
    Case("data-folder-links-outside", run_args(), ["{data}/d", "points to", "{root}/outside", "--data-dir"],
         {"outside/train.jsonl": jsonl(GOOD_ROWS), "outside/dev.jsonl": jsonl(GOOD_ROWS)},
         links={"data/d": "{root}/outside"}),
    Case("data-folder-links-to-parent", run_args(), ["{data}/up", "points to", "outside --data-dir"],
         {"task.yaml": task_yaml(data={**GOOD_TASK["data"], "path": "up"})}, links={"data/up": ".."}),
    Case("data-relative-link-chain-leaves", run_args(), ["{data}/d/dev.jsonl", "points to", "{root}/secret.jsonl"],
         {"secret.jsonl": jsonl(GOOD_ROWS)},
         links={"data/d/dev.jsonl": "hop.jsonl", "data/d/hop.jsonl": "../../secret.jsonl"}),
    Case("data-file-links-to-dev-zero", run_args(), ["{data}/d/dev.jsonl", "/dev/zero", "outside --data-dir"],
         links={"data/d/dev.jsonl": "/dev/zero"}),
    # --- 3. duplicate keys and entries ---------------------------------------------------------------
    Case("yaml-duplicate-top-level-key", ["validate", "{task}"], ["task.yaml", "line 3", "duplicate key 'name'",
                                                                 "line 1"],
         {"task.yaml": "name: a\nkind: classification\nname: b\n"}),
    Case("yaml-duplicate-nested-key", run_args(), ["task.yaml", "duplicate key 'epochs'"],
         {"task.yaml": task_yaml(training=None) + "training:\n  epochs: 1\n  epochs: 50\n"}),
    Case("yaml-duplicate-key-in-flow-mapping", run_args(), ["task.yaml", "duplicate key 'label'"],
         {"task.yaml": task_yaml(columns=None) + "columns: {text: sentence, label: label, label: other}\n"}),
    Case("yaml-duplicate-key-in-suite", run_args(""), ["suite.yaml", "duplicate key 'tasks'", "line 1"],
         {"suite.yaml": "tasks: [sentiment]\nname: s\ntasks: [ner]\n"}),
    Case("yaml-keys-equal-as-values", ["validate", "{task}"], ["task.yaml", "duplicate key"],
         {"task.yaml": "name: a\n1: x\n1.0: y\n"}),
    Case("suite-lists-a-task-twice", run_args("", *DRY), ["suite.yaml", "field 'tasks'", "sentiment", "twice"],
         {"suite.yaml": suite(tasks=["sentiment", "ner", "sentiment"])}),
    Case("suite-lists-a-student-twice", run_args("", *DRY), ["suite.yaml", "field 'students'", "layers=1"],
         {"suite.yaml": suite(students=["layers=1", "layers=1"])}),
    Case("suite-lists-a-format-twice", run_args("", *DRY), ["suite.yaml", "field 'formats'", "onnx"],
         {"suite.yaml": suite(formats=["onnx", "pytorch", "onnx"])}),
    Case("suite-no-formats", run_args("", *DRY), ["suite.yaml", "field 'formats'", "at least 1"],
         {"suite.yaml": suite(formats=[])}),
    # --- 4. special files ------------------------------------------------------------------------------
    Case("task-file-is-a-fifo", ["validate", "{root}/pipe.yaml"], ["pipe.yaml", "not a regular file", "FIFO"],
         fifos=("pipe.yaml",)),
    Case("suite-file-is-a-fifo", run_args(suite="{root}/pipe.yaml"), ["pipe.yaml", "FIFO"], fifos=("pipe.yaml",)),
    Case("task-file-links-to-dev-zero", run_args("{root}/zero.yaml"), ["zero.yaml", "character device"],
         links={"zero.yaml": "/dev/zero"}),
    Case("task-file-is-dev-null", ["validate", "/dev/null"], ["/dev/null", "not a regular file"]),
    Case("suite-file-is-a-folder", run_args(suite="{data}"), ["{data}", "a folder"]),
    Case("task-file-too-large", ["validate", "{task}"], ["task.yaml", "bytes", "at most 1000000"],
         {"task.yaml": task_yaml() + "#" * 1_000_001 + "\n"}),
    Case("data-file-is-a-fifo", run_args(), ["{data}/d/dev.jsonl", "not a regular file", "FIFO"],
         fifos=("data/d/dev.jsonl",)),
    Case("data-file-is-a-folder", run_args(), ["{data}/d/folder.jsonl", "a folder"],
         {"task.yaml": task_yaml(data={**GOOD_TASK["data"], "eval": "folder.jsonl"}),
          "data/d/folder.jsonl/inside.jsonl": jsonl(GOOD_ROWS)}),
    Case("conll-file-is-a-fifo", run_args(), ["{data}/n/train.txt", "FIFO"],
         {"task.yaml": task_yaml(NER_TASK)}, fifos=("data/n/train.txt",)),
    # --- 5. numbers that would fail late (or never end) ------------------------------------------------
    Case("epochs-infinite", ["validate", "{task}"], ["task.yaml", "training.epochs", "finite", "inf"],
         {"task.yaml": task_yaml(training=training(epochs=float("inf")))}),
    Case("learning-rate-nan", run_args("{task}", *DRY), ["task.yaml", "training.learning_rate", "finite"],
         {"task.yaml": task_yaml(training=training(learning_rate=float("nan")))}),
    Case("learning-rate-huge", ["validate", "{task}"], ["task.yaml", "training.learning_rate", "less than"],
         {"task.yaml": task_yaml(training=training(learning_rate=1e6))}),
    Case("warmup-ratio-nan", ["validate", "{task}"], ["task.yaml", "training.warmup_ratio"],
         {"task.yaml": task_yaml(training=training(warmup_ratio=float("nan")))}),
    Case("weight-decay-infinite", run_args("{task}", *DRY), ["task.yaml", "training.weight_decay", "finite"],
         {"task.yaml": task_yaml(training=training(weight_decay=float("inf")))}),
    Case("new-parameters-rate-negative-infinity", ["validate", "{task}"],
         ["task.yaml", "training.new_parameters_learning_rate"],
         {"task.yaml": task_yaml(training=training(new_parameters_learning_rate=float("-inf")))}),
    Case("epochs-boolean", ["validate", "{task}"], ["task.yaml", "training.epochs", "boolean"],
         {"task.yaml": task_yaml(training=training(epochs=True))}),
    Case("batch-size-astronomical", ["validate", "{task}"], ["task.yaml", "training.batch_size", "less than"],
         {"task.yaml": task_yaml(training=training(batch_size=10**30))}),
    Case("distillation-temperature-infinite", run_args("{task}", *DRY), ["distillation.temperature", "finite"],
         {"task.yaml": task_yaml(distillation={"temperature": float("inf")})}),
    Case("distillation-epochs-nan", ["validate", "{task}"], ["task.yaml", "distillation.epochs", "finite"],
         {"task.yaml": task_yaml(distillation={"epochs": float("nan")})}),
    Case("distillation-weight-infinite", ["validate", "{task}"], ["distillation.weights.kd_kl", "finite"],
         {"task.yaml": task_yaml(distillation={"weights": {"hard_ce": 0.5, "kd_kl": float("inf")}})}),
    Case("distillation-weights-all-zero", ["validate", "{task}"], ["distillation.weights", "every weight is 0"],
         {"task.yaml": task_yaml(distillation={"weights": {"hard_ce": 0, "kd_kl": 0}})}),
    Case("builtin-seed-negative", ["validate", "{task}"], ["task.yaml", "data.builtin.seed", "-1"],
         {"task.yaml": task_yaml(data={"source": "builtin", "generator": "sentiment", "seed": -1})}),
    Case("builtin-train-size-huge", run_args("{task}", *DRY), ["data.builtin.train_size", "less than"],
         {"task.yaml": task_yaml(data={"source": "builtin", "generator": "sentiment", "train_size": 10**12})}),
    Case("qa-doc-stride-not-below-max-length", ["validate", "{task}"], ["task.yaml", "doc_stride", "max_length"],
         {"task.yaml": task_yaml(QA_TASK, doc_stride=32)}),
    Case("qa-n-best-huge", ["validate", "{task}"], ["task.yaml", "n_best"],
         {"task.yaml": task_yaml(QA_TASK, n_best=10**9)}),
    Case("measure-batch-sizes-zero-and-negative", run_args("", *DRY),
         ["suite.yaml", "measure.batch_sizes.0", "got 0", "measure.batch_sizes.1", "-4"],
         {"suite.yaml": suite(measure={"batch_sizes": [0, -4]})}),
    Case("measure-batch-sizes-empty", ["validate", "{suite}"], ["suite.yaml", "measure.batch_sizes", "at least 1"],
         {"suite.yaml": suite(measure={"batch_sizes": []})}),
    Case("measure-batch-sizes-repeated", run_args("", *DRY), ["suite.yaml", "measure.batch_sizes", "1"],
         {"suite.yaml": suite(measure={"batch_sizes": [1, 8, 1]})}),
    Case("measure-min-seconds-infinite", run_args("", *DRY), ["suite.yaml", "measure.min_seconds", "finite"],
         {"suite.yaml": "name: s\ntasks: [sentiment]\nmeasure: {min_seconds: .inf}\n"}),
    Case("measure-threads-huge", ["validate", "{suite}"], ["suite.yaml", "measure.threads"],
         {"suite.yaml": suite(measure={"threads": 10**6})}),
    Case("export-tolerance-nan", run_args("", *DRY), ["suite.yaml", "export_tolerance", "finite"],
         {"suite.yaml": "name: s\ntasks: [sentiment]\nexport_tolerance: .nan\n"}),
    # --- and their siblings: names, paths and roles that would silently mean something else -------------
    Case("columns-unknown-role", ["validate", "{task}"], ["task.yaml", "columns", "'txt'", "did you mean 'text'"],
         {"task.yaml": task_yaml(columns={"txt": "sentence", "label": "label"})}),
    Case("task-name-with-newline", ["validate", "{task}"], ["task.yaml", "field 'name'", "must match"],
         {"task.yaml": task_yaml(name="bad-input\n")}),
    Case("data-path-with-control-character", ["validate", "{task}"], ["task.yaml", "data.local.train", "U+001B"],
         {"task.yaml": task_yaml(data={**GOOD_TASK["data"], "train": "train\x1b[2J.jsonl"})}),
    Case("hub-id-is-a-path", ["validate", "{task}"], ["task.yaml", "data.hub.id", "not a Hub dataset id"],
         {"task.yaml": task_yaml(data={"source": "hub", "id": "../../home/user/private"})}),
    Case("hub-id-is-a-local-folder", run_args(), ["hub dataset 'data'", "also a path", "source: local"],
         {"task.yaml": task_yaml(data={"source": "hub", "id": "data"})}),  # cwd is the workspace (see below)
    Case("validate-unknown-generator", ["validate", "{task}"], ["task.yaml", "data.generator", "'sentimnt'",
                                                                "did you mean 'sentiment'"],
         {"task.yaml": task_yaml(data={"source": "builtin", "generator": "sentimnt"})}),
    Case("validate-unknown-primary-metric", ["validate", "{task}"], ["task.yaml", "'primary_metric'", "'acc'"],
         {"task.yaml": task_yaml(primary_metric="acc")}),
    Case("validate-loss-term-of-another-mode", ["validate", "{task}"], ["task.yaml", "distillation.weights",
                                                                        "'hard_ce'", "regression"],
         {"task.yaml": task_yaml(SIMILARITY_TASK, distillation={"weights": {"hard_ce": 1.0}})}),
    Case("suite-teacher-empty", ["validate", "{suite}"], ["suite.yaml", "field 'teacher'"],
         {"suite.yaml": suite(teacher="")}),
    Case("suite-lists-the-same-task-by-name-and-file", run_args("", *DRY), ["'sentiment'", "same task", "twice"],
         {"suite.yaml": suite(tasks=["sentiment", "@ROOT@/copy.yaml"]), "copy.yaml": SENTIMENT_COPY}),
    Case("tasks-flag-empty-list", run_args(",", *DRY), ["--tasks", "','", "names no task"]),
    Case("tasks-flag-repeats-a-task", run_args("{task},{task}", *DRY), ["--tasks", "more than once"]),
    Case("tasks-flag-name-and-file-of-one-task", run_args("sentiment,{root}/copy.yaml", *DRY),
         ["--tasks", "'sentiment'", "same task"], {"copy.yaml": SENTIMENT_COPY}),
]


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    """A case that blocks (a FIFO opened for reading, /dev/zero read to the end) fails after 60 s, not never."""

    def fail(*_: Any) -> None:
        raise TimeoutError("the bad input made reusebench hang")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _make(ws: Workspace, case: Case) -> None:
    root = ws.paths["root"]
    ws.write({name: c.replace("@ROOT@", root) if isinstance(c, str) else c for name, c in case.files.items()})
    for name in case.fifos:
        path = ws.root / ws.fmt(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        os.mkfifo(path)
    for name, target in case.links.items():
        link = ws.root / ws.fmt(name)
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_dir() and not link.is_symlink():
            for child in sorted(link.rglob("*"), reverse=True):
                child.unlink() if child.is_file() else child.rmdir()
            link.rmdir()
        link.unlink(missing_ok=True)
        link.symlink_to(ws.fmt(target))
    if case.id == "label-numeric-names-parquet":
        pd.DataFrame({"sentence": ["a", "b"], "label": [1, 0]}).to_parquet(ws.root / "data/d/dev.parquet")


def test_the_catalogue_is_large_and_its_ids_are_distinct() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 30


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_definition_or_data_exits_2_with_one_line_and_loses_nothing(
    case: Case, ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _make(ws, case)
    out = Path(ws.paths["out"])
    before = {name: _digest(out / name) for name in ("results.json", "scorecard.md")}
    stored = _stored(ws.paths["db"])
    inputs = {name: _digest(ws.root / ws.fmt(name)) for name in case.files}

    monkeypatch.chdir(ws.root)
    code, stdout, err = _cli([ws.fmt(a) for a in case.argv], capsys)

    assert_one_line_error(code, err, [ws.fmt(fragment) for fragment in case.expect])
    assert "estimated time" not in stdout  # a --dry-run refused, not planned
    assert {name: _digest(out / name) for name in before} == before
    assert _stored(ws.paths["db"]) == stored
    assert {name: _digest(ws.root / ws.fmt(name)) for name in case.files} == inputs
    trained = [*out.rglob("model.safetensors"), *(ws.root / "stage-cache").rglob("model.safetensors")]
    assert not trained, "a model was trained before the input was checked"


# -- the task list of --tasks, and the same task twice ------------------------------------------------------


@pytest.mark.parametrize("text", [",", "", " , ", "sentiment,,ner", "sentiment,", ",sentiment"])
def test_an_empty_task_list_or_item_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="--tasks"):
        parse_task_list(text)


@pytest.mark.parametrize("text", ["sentiment,sentiment", "ner, sentiment ,ner"])
def test_a_task_listed_twice_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="more than once"):
        parse_task_list(text)


def test_a_good_task_list_keeps_its_order() -> None:
    assert parse_task_list(" ner,sentiment , qa") == ["ner", "sentiment", "qa"]


def test_a_name_and_a_file_that_define_the_same_task_are_refused(tmp_path: Path) -> None:
    from tasks.registry import task_files

    copy = tmp_path / "my-sentiment.yaml"
    copy.write_text(task_files()["sentiment"].read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ConfigError, match="same task 'sentiment'"):
        get_tasks(["sentiment", str(copy)])
    assert [spec.name for spec in get_tasks(["sentiment", "ner"])] == ["sentiment", "ner"]


# -- leftovers: nothing of a local file stays in the datasets cache ----------------------------------------


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".tsv", ".json", ".parquet"])
def test_loading_a_local_task_leaves_nothing_in_the_datasets_cache(
    suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets

    hf_cache, scratch = tmp_path / "hf-datasets-cache", tmp_path / "tmp"
    hf_cache.mkdir()
    scratch.mkdir()
    monkeypatch.setenv("HF_DATASETS_CACHE", str(hf_cache))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", hf_cache)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    rows = [{"sentence": f"text number {i}", "label": i % 2} for i in range(3000)]
    folder = tmp_path / "data" / "d"
    folder.mkdir(parents=True)
    for name in ("train", "dev"):
        _write(folder / f"{name}{suffix}", rows)
    spec = parse_task({**GOOD_TASK, "data": {**GOOD_TASK["data"], "train": f"train{suffix}", "eval": f"dev{suffix}"}})
    raw = load_splits(spec, tmp_path / "data", max_train=100)
    assert len(raw.train) == 100 and len(raw.eval) == 3000
    assert raw.train.cache_files == [] and raw.eval.cache_files == []  # in memory
    assert list(hf_cache.rglob("*")) == []
    assert list(scratch.iterdir()) == []  # the temporary Arrow copy is gone too


def test_a_refused_run_leaves_nothing_in_the_datasets_cache(
    ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws.write({"data/d/dev.jsonl": jsonl([{"sentence": "a", "label": "neutral"}])})  # train loads, then eval fails
    code, _, err = _cli([ws.fmt(a) for a in run_args()], capsys)
    assert code == 2 and "'neutral'" in err
    cache = tmp_path / "datasets-cache"  # where the shared fixture points the datasets cache
    assert not cache.exists() or list(cache.rglob("*.arrow")) == []


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(rows)
    if path.suffix == ".jsonl":
        path.write_text(jsonl(rows), encoding="utf-8")
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows), encoding="utf-8")
    elif path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False, sep="\t" if path.suffix == ".tsv" else ",")


# -- one label rule for every format ---------------------------------------------------------------------

FORMAT_SUFFIXES = [".jsonl", ".json", ".csv", ".tsv", ".parquet"]


def _label_ids(tmp_path: Path, suffix: str, labels: list[str], values: list[Any]) -> list[int]:
    rows = [{"sentence": f"text {i}", "label": value} for i, value in enumerate(values)]
    path = tmp_path / f"rows{suffix}"
    _write(path, rows)
    spec = parse_task({**GOOD_TASK, "labels": labels})
    prepared = get_kind("classification").prepare_split(spec, read_local_file(path), str(path), is_train=True)
    return list(prepared["label"])


@pytest.mark.parametrize("suffix", FORMAT_SUFFIXES)
@pytest.mark.parametrize("values", [[1, 2, 3, 1], ["1", "2", "3", "1"]], ids=["numbers", "strings"])
def test_integer_label_names_map_by_name_in_every_format(tmp_path: Path, suffix: str, values: list[Any]) -> None:
    # labels ["1", "2", "3"]: the row labelled 1 is class "1" (index 0), never index 1 ("2").
    assert _label_ids(tmp_path, suffix, NUMERIC_LABELS, values) == [0, 1, 2, 0]


@pytest.mark.parametrize("suffix", FORMAT_SUFFIXES)
@pytest.mark.parametrize("values", [[0, 1, 1, 0], ["0", "1", "1", "0"], ["neg", "pos", "pos", "neg"]],
                         ids=["numbers", "numeric-strings", "names"])
def test_indices_and_names_map_alike_in_every_format(tmp_path: Path, suffix: str, values: list[Any]) -> None:
    assert _label_ids(tmp_path, suffix, ["neg", "pos"], values) == [0, 1, 1, 0]


@pytest.mark.parametrize("suffix", FORMAT_SUFFIXES)
def test_boolean_labels_map_by_name_in_every_format(tmp_path: Path, suffix: str) -> None:
    assert _label_ids(tmp_path, suffix, ["false", "true"], [True, False, True]) == [1, 0, 1]


@pytest.mark.parametrize("suffix", FORMAT_SUFFIXES)
def test_a_number_that_is_no_numeric_label_is_refused_in_every_format(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(DataError, match=r"row 2: column 'label' has label '?0'?, not one of the labels"):
        _label_ids(tmp_path, suffix, NUMERIC_LABELS, [1, 3, 0])


def test_label_values_in_other_normal_forms_and_spacing_map_to_their_label(tmp_path: Path) -> None:
    assert _label_ids(tmp_path, ".jsonl", ["caf\u00e9", "th\u00e9"], ["cafe\u0301", " th\u00e9 ", "caf\u00e9"]) == [0, 1, 0]


def test_signed_numeric_labels_map_by_value(tmp_path: Path) -> None:
    assert _label_ids(tmp_path, ".csv", ["-1", "1"], [-1, 1, 1, -1]) == [0, 1, 1, 0]
    assert _label_ids(tmp_path, ".jsonl", ["-1", "1"], ["-1", "+1", 1.0, -1]) == [0, 1, 1, 0]


def test_ner_tags_follow_the_same_rule_in_conll_and_jsonl(tmp_path: Path) -> None:
    spec = parse_task({**NER_TASK, "data": {**NER_TASK["data"], "format": "auto"}})
    (tmp_path / "rows.txt").write_text("Anna B-PER\nMaria I-PER\nsings O\n", encoding="utf-8")
    (tmp_path / "rows.jsonl").write_text(jsonl([{"tokens": ["Anna", "Maria", "sings"], "ner_tags": [1, 2, 0]}]))
    (tmp_path / "names.jsonl").write_text(jsonl([{"tokens": ["Anna", "Maria", "sings"],
                                                  "ner_tags": ["B-PER", "I-PER", "O"]}]))
    kind = get_kind("ner")
    tags = [kind.prepare_split(spec, read_local_file(tmp_path / name), name, True)["ner_tags"]
            for name in ("rows.txt", "rows.jsonl", "names.jsonl")]
    assert tags[0] == tags[1] == tags[2] == [[1, 2, 0]]


def test_a_hub_classlabel_column_is_read_through_its_names() -> None:
    import datasets

    features = datasets.Features({"sentence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["pos", "neg"])})
    split = datasets.Dataset.from_dict({"sentence": ["a", "b", "c"], "label": [0, 1, 0]}, features=features)
    prepared = get_kind("classification").prepare_split(parse_task(GOOD_TASK), split, "hub:x", is_train=True)
    assert list(prepared["label"]) == [1, 0, 1]  # names, not positions: the task's order is [neg, pos]
    other = datasets.Dataset.from_dict({"sentence": ["a", "b"], "label": [0, 1]},
                                       features=datasets.Features({"sentence": datasets.Value("string"),
                                                                   "label": datasets.ClassLabel(names=["bad", "good"])}))
    with pytest.raises(DataError, match="hub:x: row 0: column 'label' has label 'bad'"):
        get_kind("classification").prepare_split(parse_task(GOOD_TASK), other, "hub:x", is_train=True)


def test_a_symlink_that_stays_inside_the_data_dir_is_followed(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "d"
    folder.mkdir(parents=True)
    (tmp_path / "data" / "shared.jsonl").write_text(jsonl(GOOD_ROWS), encoding="utf-8")
    (folder / "train.jsonl").symlink_to("../shared.jsonl")
    (folder / "dev.jsonl").symlink_to(tmp_path / "data" / "shared.jsonl")
    raw = load_splits(parse_task(GOOD_TASK), tmp_path / "data")
    assert raw.train["sentence"] == [row["sentence"] for row in GOOD_ROWS] and len(raw.eval) == len(GOOD_ROWS)


def test_a_data_dir_given_through_a_symlink_still_works(tmp_path: Path) -> None:
    real = tmp_path / "real" / "d"
    real.mkdir(parents=True)
    for name in ("train.jsonl", "dev.jsonl"):
        (real / name).write_text(jsonl(GOOD_ROWS), encoding="utf-8")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert len(load_splits(parse_task(GOOD_TASK), tmp_path / "link").train) == len(GOOD_ROWS)


def test_a_yaml_merge_key_may_still_be_overridden(tmp_path: Path) -> None:
    from tasks.spec import load_yaml

    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {epochs: 1, batch_size: 8}\ntraining:\n  <<: *b\n  epochs: 2\n", encoding="utf-8")
    assert load_yaml(path)["training"] == {"epochs": 2, "batch_size": 8}
