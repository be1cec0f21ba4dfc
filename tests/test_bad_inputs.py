"""A catalogue of bad inputs, each driven through the command line.

Every case must exit with code 2, print exactly one line on stderr (no traceback), name the offending
file, field or value, train nothing, and leave what was already there untouched: an existing run
directory's ``results.json`` and the results store.

``run`` cases use a tiny random BERT (``tests/tiny_models.py``) and a suite with one 1-layer student in
PyTorch only, so that a case that wrongly got past the checks would train for a second, not minutes.
Only :func:`test_disk_full_during_export_keeps_what_was_trained` trains (8 examples, unavoidable: the
export comes after training).

Not covered here: a corrupted stage-cache entry (detected and recomputed, not an input error: see
``tests/test_cache.py``) and QA answers that are not where their offsets say (the QA kind's own tests).
"""

from __future__ import annotations

import copy
import errno
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixture_runs import FIXTURE, fixture_dict
from tiny_models import save_tiny_model

from harness.cli import main
from harness.results import RunResults
from leaderboard.store import Store

# -- the workspace every case runs in ---------------------------------------------------------------

GOOD_TASK: dict[str, Any] = {
    "name": "bad-input",
    "kind": "classification",
    "data": {"source": "local", "path": "d", "train": "train.jsonl", "eval": "dev.jsonl"},
    "columns": {"text": "sentence", "label": "label"},
    "labels": ["neg", "pos"],
    "max_length": 32,
    "primary_metric": "accuracy",
    "training": {"epochs": 1, "batch_size": 8},
    "distillation": {"epochs": 1},
}
SIMILARITY_TASK: dict[str, Any] = {
    "name": "bad-similarity",
    "kind": "similarity",
    "data": {"source": "local", "path": "s", "train": "train.csv", "eval": "dev.csv"},
    "columns": {"text": "a", "text_pair": "b", "label": "score"},
    "max_length": 32,
    "primary_metric": "pearson",
}
NER_TASK: dict[str, Any] = {
    "name": "bad-ner",
    "kind": "ner",
    "data": {"source": "local", "path": "n", "train": "train.txt", "eval": "dev.txt", "format": "conll"},
    "columns": {"tokens": "tokens", "ner_tags": "ner_tags"},
    "labels": ["O", "B-PER", "I-PER"],
    "max_length": 32,
    "primary_metric": "f1",
}
TINY_SUITE = "name: tiny\ntasks: [sentiment]\nstudents: ['layers=1']\nformats: [pytorch]\n"
ONNX_SUITE = "name: tiny-onnx\ntasks: [sentiment]\nstudents: ['layers=1']\nformats: [pytorch, onnx]\n"


def jsonl(rows: list[dict[str, Any]]) -> str:
    """Rows as JSON Lines."""
    return "".join(json.dumps(r) + "\n" for r in rows)


# At most --max-train 8 / --max-eval 4 rows, so caps keep every row in file order (row numbers match).
GOOD_ROWS = [{"sentence": f"sentence number {i}", "label": i % 2} for i in range(6)]
GOOD_CSV = "a,b,score\n" + "".join(f"first {i},second {i},{i % 5}.5\n" for i in range(10))
GOOD_CONLL = "Peter B-PER\nruns O\n\nAnna B-PER\nMaria I-PER\nsings O\n"


def task_yaml(base: dict[str, Any] = GOOD_TASK, **changes: Any) -> str:
    """A task file: ``base`` with top-level fields replaced (a value of None removes the field)."""
    data = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Model folders, good and bad, shared by every case (made once: no training)."""
    root = tmp_path_factory.mktemp("models")
    folders = {
        "model": save_tiny_model(root / "tiny"),
        "pickle_model": save_tiny_model(root / "tiny-pickle", safe=False),
        "three_label_model": save_tiny_model(root / "tiny-3-labels", head="sequence-classification", num_labels=3),
        "fnet_model": save_tiny_model(root / "tiny-fnet", model_type="fnet"),
        # its own ten-token WordPiece vocabulary, not the teacher's
        "other_vocab_model": save_tiny_model(root / "tiny-other-vocab", vocab=[
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film", "was", "good", "bad"]),
    }
    no_config = root / "no-config"
    no_config.mkdir()
    (no_config / "model.safetensors").write_bytes(b"")
    corrupt = root / "corrupt-config"
    corrupt.mkdir()
    (corrupt / "config.json").write_text('{"model_type": "bert", "hidden_size": ', encoding="utf-8")
    (corrupt / "model.safetensors").write_bytes(b"")
    no_weights = root / "no-weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text(json.dumps({"model_type": "bert"}), encoding="utf-8")
    vision = root / "vision"
    vision.mkdir()
    (vision / "config.json").write_text(json.dumps({"model_type": "vit"}), encoding="utf-8")
    (vision / "model.safetensors").write_bytes(b"")
    llama = root / "llama"  # a decoder-only language model (its config is all the check reads)
    llama.mkdir()
    (llama / "config.json").write_text(json.dumps({"model_type": "llama"}), encoding="utf-8")
    (llama / "model.safetensors").write_bytes(b"")
    a_file = root / "weights.safetensors"
    a_file.write_bytes(b"")
    folders.update(no_config=no_config, corrupt_model=corrupt, no_weights=no_weights, vision_model=vision,
                   model_file=a_file, llama_model=llama)
    return folders


@dataclass
class Workspace:
    """Paths a case can name as ``{placeholders}`` in its arguments and expected message."""

    root: Path
    paths: dict[str, str] = field(default_factory=dict)

    def fmt(self, text: str) -> str:
        """``text`` with ``{name}`` replaced by the workspace's paths."""
        return text.format(**self.paths)

    def write(self, files: dict[str, str | bytes]) -> None:
        """Create ``files`` (paths relative to the root, after placeholder substitution)."""
        for name, content in files.items():
            path = self.root / self.fmt(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")


@pytest.fixture(autouse=True)
def _datasets_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Arrow caches of the files read here go to the test's folder, not the user's cache."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets-cache")
    monkeypatch.setenv("REUSEBENCH_CACHE", str(tmp_path / "stage-cache"))  # never the user's stage cache


@pytest.fixture()
def ws(tmp_path: Path, models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A data dir with good files, a tiny suite, an existing run dir and a results store holding one run."""
    space = Workspace(tmp_path)
    data = tmp_path / "data"
    space.paths = {
        "root": str(tmp_path),
        "data": str(data),
        "out": str(tmp_path / "out"),
        "suite": str(tmp_path / "suite.yaml"),
        "onnx_suite": str(tmp_path / "onnx-suite.yaml"),
        "task": str(tmp_path / "task.yaml"),
        "db": f"sqlite:///{tmp_path / 'store.db'}",
        "fixture": str(FIXTURE),
        **{name: str(path) for name, path in models.items()},
    }
    space.write(
        {
            "suite.yaml": TINY_SUITE,
            "onnx-suite.yaml": ONNX_SUITE,
            "task.yaml": task_yaml(),
            "data/d/train.jsonl": jsonl(GOOD_ROWS),
            "data/d/dev.jsonl": jsonl(GOOD_ROWS[:4]),
            "data/s/train.csv": GOOD_CSV,
            "data/s/dev.csv": GOOD_CSV,
            "data/n/train.txt": GOOD_CONLL,
            "data/n/dev.txt": GOOD_CONLL,
        }
    )
    # What is already there and must survive every bad input: a finished run and a results store.
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    (out / "scorecard.md").write_text("# an earlier scorecard\n", encoding="utf-8")
    monkeypatch.setenv("REUSEBENCH_DB", space.paths["db"])
    with Store(space.paths["db"]) as store:
        store.import_run(RunResults.model_validate(fixture_dict()))
    return space


def run_args(task: str = "{task}", *extra: str, suite: str = "{suite}", teacher: str = "{model}") -> list[str]:
    """A ``reusebench run`` that would train for about a second if the input were good."""
    args = ["run", "--suite", suite, "--teacher", teacher, "--data-dir", "{data}", "--max-train", "8",
            "--max-eval", "4", "--out", "{out}", "--quiet", "--bootstrap", "10"]
    if task:
        args += ["--tasks", task]
    return args + list(extra)


# -- the catalogue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input: files to write, the command line, and what the one-line message must name."""

    id: str
    argv: list[str]
    expect: list[str]
    files: dict[str, str | bytes] = field(default_factory=dict)


def _results(mutate: Callable[[dict[str, Any]], None]) -> str:
    data = fixture_dict()
    mutate(data)
    return json.dumps(data)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting ``records.0.score``-style dotted ``path`` to ``value``."""

    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(leaf) if isinstance(node, list) else leaf] = value

    return mutate


def _duplicate_record(data: dict[str, Any]) -> None:
    data["records"].append(copy.deepcopy(data["records"][0]))


COMPARE = ["compare", "{fixture}"]

CASES: list[Case] = [
    # --- task and suite definitions ---------------------------------------------------------------
    Case("yaml-malformed", ["validate", "{root}/bad.yaml"], ["bad.yaml", "invalid YAML (line"],
         {"bad.yaml": "name: x\nkind: [classification\n"}),
    Case("yaml-not-a-mapping", ["validate", "{root}/list.yaml"], ["list.yaml", "expected a mapping"],
         {"list.yaml": "- a\n- b\n"}),
    Case("yaml-not-utf8", ["validate", "{root}/latin1.yaml"], ["latin1.yaml", "cannot read"],
         {"latin1.yaml": b"name: caf\xe9\n"}),
    Case("task-file-missing", run_args("{root}/nope.yaml"), ["nope.yaml", "file not found"]),
    Case("task-file-is-a-device", run_args("/dev/zero"), ["/dev/zero", "not a regular file"]),
    Case("task-file-is-a-folder", ["validate", "{data}"], ["{data}", "not a regular file"]),
    Case("suite-file-too-large", run_args(suite="{root}/huge.yaml"), ["huge.yaml", "bytes", "at most"],
         {"huge.yaml": "name: huge\ntasks: [sentiment]\n" + "# padding\n" * 200_000}),
    Case("task-unknown-kind", run_args(), ["task.yaml", "'kind'", "regresion", "classification, similarity"],
         {"task.yaml": task_yaml(kind="regresion")}),
    Case("task-unknown-field", ["validate", "{task}"], ["task.yaml", "'epochz'", "unknown field"],
         {"task.yaml": task_yaml(epochz=3)}),
    Case("task-missing-field", ["validate", "{task}"], ["task.yaml", "'primary_metric'"],
         {"task.yaml": task_yaml(primary_metric=None)}),
    Case("task-unknown-source", run_args(), ["task.yaml", "'s3'", "builtin, local, hub"],
         {"task.yaml": task_yaml(data={"source": "s3", "path": "x"})}),
    Case("task-name-escapes", run_args(), ["task.yaml", "field 'name'", "../../etc"],
         {"task.yaml": task_yaml(name="../../etc")}),
    Case("task-data-path-escapes", run_args(), ["task.yaml", "data.local.path", "../../secrets"],
         {"task.yaml": task_yaml(data={**GOOD_TASK["data"], "path": "../../secrets"})}),
    Case("task-negative-learning-rate", run_args(), ["task.yaml", "training.learning_rate"],
         {"task.yaml": task_yaml(training={"learning_rate": -1})}),
    Case("task-zero-batch-size", run_args(), ["task.yaml", "training.batch_size"],
         {"task.yaml": task_yaml(training={"batch_size": 0})}),
    Case("task-duplicate-labels", run_args(), ["task.yaml", "labels", "unique"],
         {"task.yaml": task_yaml(labels=["neg", "neg"])}),
    Case("task-labels-missing", run_args(), ["'bad-input'", "'labels'", "classification"],
         {"task.yaml": task_yaml(labels=None)}),
    Case("task-unknown-primary-metric", run_args(), ["'primary_metric'", "'bleu'", "accuracy"],
         {"task.yaml": task_yaml(primary_metric="bleu")}),
    Case("task-unknown-loss-term", run_args(), ["distillation.weights", "'mse'", "hard_ce"],
         {"task.yaml": task_yaml(distillation={"weights": {"mse": 1.0}})}),
    Case("task-unknown-generator", run_args(), ["data.generator", "'nope'", "sentiment"],
         {"task.yaml": task_yaml(data={"source": "builtin", "generator": "nope"})}),
    Case("task-unknown-name", run_args("sst3"), ["unknown task 'sst3'", "did you mean 'sst2'"]),
    Case("suite-unknown-name", run_args("", suite="quik"), ["unknown suite 'quik'", "did you mean 'quick'"]),
    Case("suite-unknown-format", run_args(), ["suite.yaml", "formats.1", "'tflite'", "onnx-int8"],
         {"suite.yaml": "name: s\ntasks: [sentiment]\nformats: [onnx, tflite]\n"}),
    Case("suite-no-tasks", run_args(""), ["suite.yaml", "field 'tasks'"], {"suite.yaml": "name: s\ntasks: []\n"}),
    # --- data ---------------------------------------------------------------------------------------
    Case("data-dir-flag-missing", ["run", "--suite", "{suite}", "--tasks", "sst2", "--out", "{out}", "--quiet"],
         ["'sst2'", "--data-dir"]),
    Case("data-folder-missing", run_args(), ["{data}/elsewhere", "'bad-input'", "not found"],
         {"task.yaml": task_yaml(data={**GOOD_TASK["data"], "path": "elsewhere"})}),
    Case("data-file-missing", run_args(), ["{data}/d/nope.jsonl", "data file not found"],
         {"task.yaml": task_yaml(data={**GOOD_TASK["data"], "eval": "nope.jsonl"})}),
    Case("data-unknown-suffix", run_args(), ["dev.xlsx", "cannot tell the format", ".jsonl"],
         {"task.yaml": task_yaml(data={**GOOD_TASK["data"], "eval": "dev.xlsx"}), "data/d/dev.xlsx": "x"}),
    Case("data-empty-file", run_args(), ["{data}/d/dev.jsonl", "empty"], {"data/d/dev.jsonl": ""}),
    Case("data-empty-split", run_args(), ["{data}/s/dev.csv", "no data rows"],
         {"task.yaml": task_yaml(SIMILARITY_TASK), "data/s/dev.csv": "a,b,score\n"}),
    Case("data-malformed-jsonl", run_args(), ["{data}/d/train.jsonl:2", "invalid JSON"],
         {"data/d/train.jsonl": '{"sentence": "ok", "label": 0}\n{"sentence": "broken", "lab\n'}),
    Case("data-jsonl-not-objects", run_args(), ["{data}/d/dev.jsonl:1", "JSON object", "'null'"],
         {"data/d/dev.jsonl": "null\n" + jsonl(GOOD_ROWS[:3])}),  # pyarrow 26 segfaults on this file
    Case("data-csv-ragged", run_args(), ["{data}/d/train.csv", "cannot read as csv"],
         {"task.yaml": task_yaml(data={**GOOD_TASK["data"], "train": "train.csv"}),
          "data/d/train.csv": 'sentence,label\n"a",0\n"b",1,extra,cells\n"c\n'}),
    Case("data-parquet-corrupt", run_args(), ["{data}/d/dev.parquet", "cannot read as parquet"],
         {"task.yaml": task_yaml(data={**GOOD_TASK["data"], "eval": "dev.parquet"}),
          "data/d/dev.parquet": b"PAR1 this is not parquet PAR1"}),
    Case("data-column-missing", run_args(), ["train.jsonl", "'review'", "columns.text", "sentence"],
         {"task.yaml": task_yaml(columns={"text": "review", "label": "label"})}),
    Case("data-label-outside-list", run_args(), ["train.jsonl", "row 3", "label 7", "outside the label list"],
         {"data/d/train.jsonl": jsonl([*GOOD_ROWS[:3], {"sentence": "x", "label": 7}, *GOOD_ROWS[3:]])}),
    Case("data-label-unknown-name", run_args(), ["dev.jsonl", "row 1", "'neutral'", "neg"],
         {"data/d/dev.jsonl": jsonl([GOOD_ROWS[0], {"sentence": "x", "label": "neutral"}])}),
    Case("data-single-class", run_args(), ["train.jsonl", "single class", "'pos'"],
         {"data/d/train.jsonl": jsonl([{"sentence": f"s{i}", "label": 1} for i in range(10)])}),
    Case("data-empty-text", run_args(), ["train.jsonl", "row 2", "'sentence'", "non-empty text"],
         {"data/d/train.jsonl": jsonl([*GOOD_ROWS[:2], {"sentence": "   ", "label": 0}, *GOOD_ROWS[2:]])}),
    Case("data-nan-target", run_args(), ["train.jsonl", "row 1", "'score'", "nan"],
         {"task.yaml": task_yaml(SIMILARITY_TASK, data={**SIMILARITY_TASK["data"], "train": "train.jsonl"}),
          "data/s/train.jsonl": '{"a": "x", "b": "y", "score": 1.0}\n{"a": "x", "b": "z", "score": NaN}\n'}),
    Case("data-missing-target", run_args(), ["train.csv", "row 1", "'score'", "empty"],
         {"task.yaml": task_yaml(SIMILARITY_TASK), "data/s/train.csv": "a,b,score\nx,y,1.0\nx,z,\nu,v,2\n"}),
    Case("data-infinite-target", run_args(), ["dev.csv", "row 0", "'score'", "inf"],
         {"task.yaml": task_yaml(SIMILARITY_TASK), "data/s/dev.csv": "a,b,score\nx,y,inf\n"}),
    Case("data-text-target", run_args(), ["train.csv", "'score'", "must be a number", "'high'"],
         {"task.yaml": task_yaml(SIMILARITY_TASK), "data/s/train.csv": "a,b,score\nx,y,1.0\nx,z,high\n"}),
    Case("data-constant-targets", run_args(), ["train.csv", "every training score is 2.0"],
         {"task.yaml": task_yaml(SIMILARITY_TASK), "data/s/train.csv": "a,b,score\nx,y,2\nx,z,2\n"}),
    Case("data-missing-pair-text", run_args(), ["train.csv", "row 1", "'b'", "non-empty text"],
         {"task.yaml": task_yaml(SIMILARITY_TASK), "data/s/train.csv": "a,b,score\nx,y,1.0\nx,,2\n"}),
    Case("conll-malformed-line", run_args(), ["{data}/n/train.txt:2", "TOKEN ... TAG", "'runs'"],
         {"task.yaml": task_yaml(NER_TASK), "data/n/train.txt": "Peter B-PER\nruns\n\nAnna B-PER\n"}),
    Case("conll-not-utf8", run_args(), ["{data}/n/dev.txt:3", "not UTF-8"],
         {"task.yaml": task_yaml(NER_TASK), "data/n/dev.txt": b"Peter B-PER\n\nM\xfcller B-PER\n"}),
    Case("input-longer-than-model", run_args(), ["{model}", "max_length 128", "max_position_embeddings 64"],
         {"task.yaml": task_yaml(max_length=128)}),
    Case("task-max-length-too-large", ["validate", "{task}"], ["task.yaml", "max_length"],
         {"task.yaml": task_yaml(max_length=100_000)}),
    # --- models -------------------------------------------------------------------------------------
    Case("teacher-path-missing", run_args(teacher="{root}/no-model"), ["{root}/no-model", "not found"]),
    Case("teacher-is-a-file", run_args(teacher="{model_file}"), ["weights.safetensors", "not a model folder"]),
    Case("teacher-without-config", run_args(teacher="{no_config}"), ["{no_config}", "no config.json"]),
    Case("teacher-corrupt-config", run_args(teacher="{corrupt_model}"), ["{corrupt_model}", "config"]),
    Case("teacher-without-weights", run_args(teacher="{no_weights}"), ["{no_weights}", "no weights"]),
    Case("teacher-pickle-weights", run_args(teacher="{pickle_model}"),
         ["{pickle_model}", "pytorch_model.bin", "--allow-pickle"]),
    Case("teacher-head-does-not-fit", run_args(teacher="{three_label_model}"),
         ["{three_label_model}", "3 outputs", "needs 2"]),
    Case("teacher-without-task-head", run_args(teacher="{vision_model}"),
         ["{vision_model}", "'vit'", "SequenceClassification"]),
    Case("teacher-decoder-only-for-an-encoder-kind", run_args(teacher="{llama_model}"),
         ["{llama_model}", "'llama'", "decoder-only", "needs an encoder", "SequenceClassification"]),
    Case("student-decoder-only-for-an-encoder-kind", run_args("{task}", "--student", "model={llama_model}"),
         ["{llama_model}", "'llama'", "decoder-only"]),
    Case("onnx-export-unsupported", run_args(teacher="{fnet_model}", suite="{onnx_suite}"),
         ["{fnet_model}", "'fnet'", "ONNX", "formats"]),
    Case("student-spec-unknown", run_args("{task}", "--student", "depth=3"), ["'depth=3'", "layers"]),
    Case("student-deeper-than-teacher", run_args("{task}", "--student", "layers=5"),
         ["'layers=5'", "only 2 layers"]),
    Case("student-layer-index-too-high", run_args("{task}", "--student", "layers=0,2"),
         ["'layers=0,2'", "only 2 layers"]),
    Case("student-model-missing", run_args("{task}", "--student", "model={root}/gone"), ["{root}/gone", "not found"]),
    Case("student-other-vocabulary", run_args("{task}", "--student", "model={other_vocab_model}"),
         ["model={other_vocab_model}", "10 tokens", "{model}: BertTokenizerFast, 30522 tokens",
          "must share a vocabulary"]),
    # --- command-line values ------------------------------------------------------------------------
    Case("cap-zero", run_args("{task}", "--max-train", "0"), ["--max-train", "positive integer", "0"]),
    Case("cap-negative", run_args("{task}", "--max-eval", "-5"), ["--max-eval", "positive integer", "-5"]),
    Case("cap-not-a-number", run_args("{task}", "--max-eval", "many"), ["--max-eval", "'many'"]),
    Case("threads-zero", run_args("{task}", "--threads", "0"), ["--threads", "positive integer"]),
    Case("device-unknown", run_args("{task}", "--device", "tpu"), ["--device", "'tpu'", "cuda"]),
    Case("command-unknown", ["frobnicate"], ["'frobnicate'", "leaderboard"]),
    Case("out-not-writable", run_args("{task}", "--out", "{root}/blocker/run"), ["{root}/blocker/run", "not writable"],
         {"blocker": "a file, not a folder"}),
    # --- results files: compare, leaderboard --add, report --------------------------------------------
    Case("results-missing", [*COMPARE, "{root}/nope.json"], ["{root}/nope.json", "not found"]),
    Case("results-folder-without-file", [*COMPARE, "{data}"], ["{data}/results.json", "not found"]),
    Case("results-truncated", [*COMPARE, "{root}/r.json"], ["{root}/r.json", "not a readable results file"],
         {"r.json": FIXTURE.read_text(encoding="utf-8")[:500]}),
    Case("results-binary", [*COMPARE, "{root}/r.json"], ["{root}/r.json", "not a readable results file"],
         {"r.json": b"\x89PNG\r\n\x1a\n\x00\x00\xff"}),
    Case("results-foreign-json", [*COMPARE, "{root}/package.json"], ["package.json", "not a reusebench results"],
         {"package.json": '{"name": "left-pad", "version": "1.3.0"}'}),
    Case("results-json-array", [*COMPARE, "{root}/r.json"], ["{root}/r.json", "not a reusebench results"],
         {"r.json": "[1, 2, 3]"}),
    Case("results-deeply-nested", [*COMPARE, "{root}/r.json"], ["{root}/r.json", "nested too deeply"],
         {"r.json": "[" * 100_000 + "]" * 100_000}),
    Case("results-future-schema", [*COMPARE, "{root}/r.json"], ["{root}/r.json", "schema_version 99"],
         {"r.json": _results(_set("schema_version", 99))}),
    Case("results-records-not-a-list", [*COMPARE, "{root}/r.json"], ["{root}/r.json", "'records'"],
         {"r.json": _results(_set("records", "all of them"))}),
    Case("results-unknown-role", [*COMPARE, "{root}/r.json"], ["{root}/r.json", "records.0.role"],
         {"r.json": _results(_set("records.0.role", "boss"))}),
    Case("results-nan-score", [*COMPARE, "{root}/r.json"], ["{root}/r.json", "records[1].score", "nan"],
         {"r.json": _results(_set("records.1.score", float("nan")))}),
    Case("results-negative-latency", [*COMPARE, "{root}/r.json"], ["records[0].latency_ms.batch_1.p50", "≥ 0"],
         {"r.json": _results(_set("records.0.latency_ms.batch_1.p50", -3.0))}),
    Case("results-inverted-ci", [*COMPARE, "{root}/r.json"], ["records[2].score_ci", "low"],
         {"r.json": _results(_set("records.2.score_ci", [0.9, 0.1]))}),
    Case("results-huge-integer", [*COMPARE, "{root}/r.json"], ["records[0].params", "out of range"],
         {"r.json": _results(_set("records.0.params", 10**30))}),
    Case("results-duplicate-record", [*COMPARE, "{root}/r.json"], ["{root}/r.json", "duplicate record"],
         {"r.json": _results(_duplicate_record)}),
    Case("results-run-id-escapes", [*COMPARE, "{root}/r.json"], ["'run_id'", "../../etc/cron.d/x", "leave"],
         {"r.json": _results(_set("run_id", "../../etc/cron.d/x"))}),
    Case("results-control-characters", [*COMPARE, "{root}/r.json"], ["records[0].model", "control characters"],
         {"r.json": _results(_set("records.0.model", "student\x00\x1b[31m"))}),
    Case("compare-threshold-nan", [*COMPARE, "{fixture}", "--max-score-drop", "nan"],
         ["--max-score-drop", "finite number", "nan"]),
    Case("compare-markdown-unwritable", [*COMPARE, "{fixture}", "--markdown", "{root}/blocker/x.md"],
         ["--markdown", "{root}/blocker/x.md"], {"blocker": "a file"}),
    Case("leaderboard-add-corrupt", ["leaderboard", "--add", "{root}/r.json", "--out", "{root}/site"],
         ["{root}/r.json", "not a readable results file"], {"r.json": "{"}),
    Case("leaderboard-add-one-bad-of-two",
         ["leaderboard", "--add", "{root}/good.json", "--add", "{root}/r.json", "--out", "{root}/site"],
         ["{root}/r.json", "records[0].score", "inf"],
         {"good.json": _results(_set("run_id", "a-new-good-run")),
          "r.json": _results(_set("records.0.score", float("inf")))}),
    Case("leaderboard-db-not-a-database", ["leaderboard", "--db", "{root}/notes.txt", "--out", "{root}/site"],
         ["notes.txt", "cannot open the results store"], {"notes.txt": "these are my notes, not SQLite\n" * 100}),
    Case("leaderboard-db-unknown-dialect", ["leaderboard", "--db", "nosuchdb://host/x", "--out", "{root}/site"],
         ["--db", "nosuchdb"]),
    Case("report-run-dir-missing", ["report", "{root}/no-run"], ["{root}/no-run", "not found"]),
    Case("report-results-corrupt", ["report", "{root}/bad-run"], ["{root}/bad-run/results.json", "not a readable"],
         {"bad-run/results.json": '{"schema_version": 1, "records": [}'}),
    Case("history-unknown-task", ["history", "tiny-sentimnt"], ["'tiny-sentimnt'", "did you mean 'tiny-sentiment'"]),
]


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``reusebench argv`` in this process; argparse usage errors exit through SystemExit."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code) if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stored(db: str) -> list[tuple[str, str]]:
    with Store(db) as store:
        return [(r.run_id, r.results_sha256) for r in store.list_runs()]


def assert_one_line_error(code: int, err: str, fragments: list[str]) -> str:
    """The catalogue's contract for every bad input: exit 2, one line on stderr that starts with ``reusebench``,
    no traceback, and every expected fragment (the file, field or value at fault) in that line."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("reusebench"), err
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def test_the_catalogue_is_large_and_its_ids_are_distinct() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 30


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_exits_2_with_one_line_and_loses_nothing(
    case: Case, ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws.write(case.files)
    out = Path(ws.paths["out"])
    before = {name: _digest(out / name) for name in ("results.json", "scorecard.md")}
    stored = _stored(ws.paths["db"])
    inputs = {name: _digest(ws.root / ws.fmt(name)) for name in case.files}

    code, _, err = _cli([ws.fmt(a) for a in case.argv], capsys)

    assert_one_line_error(code, err, [ws.fmt(fragment) for fragment in case.expect])
    # Nothing already computed or stored is lost, and nothing was trained.
    assert {name: _digest(out / name) for name in before} == before
    assert _stored(ws.paths["db"]) == stored
    assert {name: _digest(ws.root / ws.fmt(name)) for name in case.files} == inputs  # inputs are read, never written
    trained = [*out.rglob("model.safetensors"), *(ws.root / "stage-cache").rglob("model.safetensors")]
    assert not trained, "a model was trained before the input was checked"


def test_debug_shows_the_traceback(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(["--debug", *[ws.fmt(a) for a in run_args("sst3")]], capsys)
    assert code == 2 and "Traceback" in err and "did you mean 'sst2'" in err.splitlines()[-1]


def test_a_bad_second_task_fails_before_the_first_trains(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.write({"second.yaml": task_yaml(name="second", columns={"text": "missing", "label": "label"})})
    code, _, err = _cli([ws.fmt(a) for a in run_args("{task},{root}/second.yaml")], capsys)
    assert code == 2 and "'missing'" in err
    assert not (Path(ws.paths["out"]) / "artifacts").exists()


def test_disk_full_during_export_keeps_what_was_trained(
    ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trains the tiny teacher on 8 examples (the export comes after training), then the disk is full."""
    import optimum.exporters.onnx

    def disk_full(model_name_or_path: str, output: str, **_: Any) -> None:
        target = Path(output) / "model.onnx"
        target.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(optimum.exporters.onnx, "main_export", disk_full)
    out = Path(ws.paths["out"])
    before = _digest(out / "results.json")
    stored = _stored(ws.paths["db"])
    code, _, err = _cli([ws.fmt(a) for a in run_args("{task}", suite="{onnx_suite}")], capsys)
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "model.onnx" in lines[0] and "No space left on device" in lines[0] and "free some space" in lines[0]
    assert _digest(out / "results.json") == before and _stored(ws.paths["db"]) == stored
    kept = re.search(r"the trained model in (\S+) is kept", lines[0])
    assert kept and (Path(kept.group(1)) / "model.safetensors").is_file(), lines[0]  # the trained teacher is kept
