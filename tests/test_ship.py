"""``reusebench ship``: one tiny run of every task kind, each shipped and loaded back with a ``transformers``
pipeline (PyTorch) or an optimum ``ORTModelFor…`` class + pipeline (ONNX, int8), giving the predictions the
record was evaluated with; the bad inputs of ``ship``; and ``cache clean`` asking before it removes the models
stored runs still use.

The run uses a tiny random BERT (``tests/tiny_models.py``) on the five built-in tasks with 32 training and 16
eval examples, in every format (static int8 of a generation model is a failed record: not shipped). Latency is not measured (the measurement process is replaced by fixed figures): what is tested
is the shipped folder, not the timings. The pipelines are built by running the model card's own code snippet.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from fixture_runs import fixture_dict, rename_model
from test_bad_inputs import assert_one_line_error
from tiny_models import save_tiny_model

from harness.cache import StageCache
from harness.cli import main
from harness.results import RunResults, load_results
from harness.ship import KIND_USAGE, base_model, pipeline_call, task_spec
from harness.ship_files import SHIP_SIGNATURE
from leaderboard.store import Store
from reports.modelcard import CardInputs, render_model_card
from reports.recommend import recommend
from tasks.kinds.batching import EVAL_BATCH_SIZE

SUITE = """
name: ship-tiny
tasks: [sentiment, similarity, ner, qa, generation]
students: ["layers=1"]
formats: [pytorch, onnx, onnx-int8, onnx-int8-static]
measure: {batch_sizes: [1, 4], warmup: 1, min_iterations: 3, min_seconds: 0.05, threads: 1}
"""
FAKE_BLOCK = {"p50": 2.0, "p90": 2.5, "p99": 3.0, "mean": 2.1, "std": 0.2, "min": 1.9, "max": 3.0, "n": 5,
              "batch_size": 1, "threads": 1}


def _no_server(*args: Any) -> None:
    """Stands in for the measurement server (nothing is measured in this module)."""


def _fake_measure(unit: Any, variant: Any, fmt: str, folder: Path, inputs: Path) -> dict:
    scale = {"pytorch": 1.0, "onnx": 0.5}.get(fmt, 0.25)
    blocks = {f"batch_{b}": {**FAKE_BLOCK, **{k: FAKE_BLOCK[k] * scale * b for k in ("p50", "p90", "p99", "mean",
                                                                                  "min", "max")}, "batch_size": b}
              for b in (1, 4)}
    return {"latency_ms": blocks, "throughput_per_s": 100.0, "peak_rss_mb": 50.0, "load_s": 0.1}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the five built-in tasks (a teacher and a 1-layer student; pytorch, onnx, onnx-int8)."""
    import harness.stages.record

    root = tmp_path_factory.mktemp("ship")
    teacher = save_tiny_model(root / "tiny", layers=2, max_positions=128)
    (root / "suite.yaml").write_text(SUITE, encoding="utf-8")
    db = f"sqlite:///{root / 'store.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(harness.stages.record, "measure", _fake_measure)
        patch.setattr(harness.stages.record, "measurement_server", _no_server)
        code = main(["run", "--suite", str(root / "suite.yaml"), "--teacher", str(teacher), "--out", str(root / "run"),
                     "--cache-dir", str(root / "cache"), "--db", db, "--quiet", "--max-train", "32", "--max-eval",
                     "16", "--bootstrap", "20", "--threads", "1"])
    assert code == 0
    return {"root": root, "run": root / "run", "cache": root / "cache", "db": db,
            "results": load_results(root / "run")}


def record_of(results: RunResults, task: str, model: str, fmt: str) -> Any:
    return next(r for r in results.records if (r.task, r.model, str(r.format)) == (task, model, fmt))


def eval_split(results: RunResults, task: str) -> Any:
    """The eval examples of ``task`` as the run saw them (same caps, same seed)."""
    from tasks.data import load_splits
    from tasks.kinds import get_kind
    from tasks.spec import TaskSpec

    spec = TaskSpec.model_validate(task_spec(results, task))
    config = results.config
    raw = load_splits(spec, config["data_dir"], config["max_train"], config["max_eval"])
    return get_kind(spec.kind).prepare_split(spec, raw.eval, raw.eval_origin, is_train=False)


def card_pipeline(folder: Path) -> Any:
    """The pipeline the model card's snippet builds (its code run with this folder)."""
    card = (folder / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    code = "\n".join(line for line in code.splitlines() if not line.startswith("print("))
    namespace: dict[str, Any] = {}
    exec(code.replace("path/to/this/folder", str(folder)), namespace)  # noqa: S102 - our own card
    return namespace["pipe"]


def _ner_tags(pipe: Any, words: list[str], kwargs: dict[str, Any]) -> list[str]:
    """Per-word tags from the pipeline's per-piece tags: each word's first piece decides; no piece is "O"."""
    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word) + 1
    tags, seen = ["O"] * len(words), set()
    for piece in pipe(" ".join(words), **kwargs):
        word = max(i for i, start in enumerate(starts) if start <= piece["start"])
        if word not in seen:
            seen.add(word)
            tags[word] = piece["entity"]
    return tags


def pipeline_predictions(pipe: Any, record: Any, results: RunResults) -> list[Any]:
    """The pipeline's predictions on the eval split, in the form the record keeps them."""
    examples = eval_split(results, record.task)
    kwargs = pipeline_call(record, task_spec(results, record.task)).kwargs
    if record.kind == "classification":
        label2id = pipe.model.config.label2id
        return [label2id[out["label"]] for out in pipe(list(examples["text"]), **kwargs)]
    if record.kind == "similarity":
        pairs = [{"text": a, "text_pair": b} for a, b in zip(examples["text"], examples["text_pair"], strict=True)]
        return [out["score"] for out in pipe(pairs, **kwargs)]
    if record.kind == "ner":
        return [_ner_tags(pipe, words, kwargs) for words in examples["tokens"]]
    if record.kind == "qa":
        return [pipe(question=q, context=c, **kwargs)["answer"]
                for q, c in zip(examples["question"], examples["context"], strict=True)]
    sources = list(examples["source"])
    if record.format == "onnx-int8":
        # Dynamic int8 quantizes each batch's activations with that batch's range, so a prediction depends on
        # the examples batched with it: batch as the evaluation did (by token length, EVAL_BATCH_SIZE at a time).
        lengths = [len(ids) for ids in pipe.tokenizer(sources, truncation=True)["input_ids"]]
        order = sorted(range(len(sources)), key=lengths.__getitem__)
        outs = pipe([sources[i] for i in order], batch_size=EVAL_BATCH_SIZE, **kwargs)
        by_index = dict(zip(order, (out["generated_text"].strip() for out in outs), strict=True))
        return [by_index[i] for i in range(len(sources))]
    return [out["generated_text"].strip() for out in pipe(sources, **kwargs)]


CASES = [
    ("sentiment", "tiny", "pytorch"),
    ("sentiment", "tiny-layers1", "onnx-int8"),
    ("similarity", "tiny-layers1", "pytorch"),
    ("similarity", "tiny", "onnx"),
    ("ner", "tiny-layers1", "pytorch"),
    ("ner", "tiny-layers1", "onnx-int8"),
    ("ner", "tiny-layers1", "onnx-int8-static"),
    ("qa", "tiny", "pytorch"),
    ("qa", "tiny-layers1", "onnx"),
    ("generation", "tiny-layers1", "pytorch"),
    ("generation", "tiny-layers1", "onnx-int8"),
]


@pytest.mark.parametrize(("task", "model", "fmt"), CASES, ids=[f"{t}-{f}" for t, _, f in CASES])
def test_shipped_folder_loads_with_a_pipeline_and_predicts_as_evaluated(tiny_run, tmp_path, task, model, fmt):
    out = tmp_path / "shipped"
    assert main(["ship", str(tiny_run["run"]), "--task", task, "--pick", model, "--format", fmt,
                 "--out", str(out)]) == 0
    results = tiny_run["results"]
    record = record_of(results, task, model, fmt)
    names = {p.name for p in out.iterdir()}
    assert {"README.md", "config.json", "tokenizer.json", "tokenizer_config.json"} <= names
    if fmt == "pytorch":
        assert "model.safetensors" in names and not any(n.endswith(".onnx") for n in names)
    elif task == "generation":
        assert {"encoder_model.onnx", "decoder_model.onnx"} <= names
    else:
        assert "model.onnx" in names
    assert ".reusebench-entry.json" not in names
    pipe = card_pipeline(out)
    got, want = pipeline_predictions(pipe, record, results), record.predictions
    assert want is not None and len(got) == len(want) == record.eval_examples
    if record.kind == "similarity":
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    else:
        assert got == want


def test_model_card_has_hub_metadata_lineage_and_provenance(tiny_run, tmp_path):
    out = tmp_path / "card"
    assert main(["ship", str(tiny_run["run"]), "--task", "sentiment", "--pick", "tiny-layers1", "--format",
                 "onnx-int8", "--out", str(out)]) == 0
    text = (out / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n") and SHIP_SIGNATURE in text
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["license"] == "unknown" and meta["pipeline_tag"] == "text-classification"
    result = meta["model-index"][0]["results"][0]
    assert meta["model-index"][0]["name"] == "tiny-layers1"
    assert result["task"]["type"] == "text-classification" and result["dataset"]["name"] == "sentiment"
    primary = result["metrics"][0]
    record = record_of(tiny_run["results"], "sentiment", "tiny-layers1", "onnx-int8")
    assert primary["type"] == "accuracy" and primary["value"] == round(record.score, 4)
    assert "95% bootstrap CI" in primary["name"]
    for part in ("## Reuse scorecard", "## Latency and memory", "| 4 |", "**Distilled**", "**Quantized**",
                 "unknown: check the base model's licence", "reusebench 0.1.0", tiny_run["results"].run_id,
                 "ship-tiny", "AutoTokenizer", "ORTModelForSequenceClassification"):
        assert part in text, part
    tokenizer = json.loads((out / "tokenizer_config.json").read_text())
    assert tokenizer["model_max_length"] == 64  # the task's max_length: pipelines truncate where evaluation did


def test_card_of_the_packaged_teacher_is_apache_and_escapes_user_strings():
    """The fixture run (packaged MiniLM): its licence and Hub id are known; a hostile model name stays inert."""
    hostile = "evil`name|<script>alert(1)</script>\n---\nlicense: mit [x](javascript:1)"
    data = fixture_dict()
    rename_model("all-MiniLM-L6-v2-layers3", hostile)(data)
    results = RunResults.model_validate(data)
    record = next(r for r in results.records if r.model == hostile and str(r.format) == "onnx-int8")
    inputs = CardInputs(usage=KIND_USAGE["classification"], call=pipeline_call(record, task_spec(results, "tiny-sentiment")),
                        ort_kwargs={}, base=base_model(results, record), version="0.1.0", command="reusebench ship x")
    text = render_model_card(results, record, inputs)
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["license"] == "apache-2.0" and meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta["model-index"][0]["name"] == hostile.replace("\n", " ")
    body = text.split(SHIP_SIGNATURE, 1)[1]
    assert "<script>" not in body and "&lt;script&gt;" in body and "\\[x\\]" in body
    assert "Apache-2.0" in body or "apache-2.0" in body
    assert "## Reuse scorecard" in body and "| 1 |" in body  # the fixture's batch-1 latency


def test_recommended_pick_ships_what_recommend_names(tiny_run, tmp_path):
    """With the baseline of a task beaten (the tiny teacher learns nothing, so it is set low here), the default
    --pick ships the recommended record, and its card carries the recommendation."""
    data = json.loads((tiny_run["run"] / "results.json").read_text())
    data["baselines"]["sentiment"] = {"name": "majority label", "metrics": {"accuracy": 0.0}, "score": 0.0}
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(data), encoding="utf-8")
    advice = recommend(load_results(run), "sentiment")
    assert advice is not None and advice.record is not None
    out = tmp_path / "shipped"
    assert main(["ship", str(run), "--task", "sentiment", "--out", str(out)]) == 0
    text = (out / "README.md").read_text(encoding="utf-8")
    assert f"# {advice.model} ({advice.format})" in text and "Recommendation:" in text
    # A second ship into the same folder replaces the first one (a previous ship output).
    assert main(["ship", str(run), "--task", "sentiment", "--pick", "tiny", "--format", "onnx", "--out", str(out)]) == 0
    assert "# tiny (onnx)" in (out / "README.md").read_text(encoding="utf-8")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".shipped.")]


# -- bad inputs ----------------------------------------------------------------------------------------------


def _copy_run(tiny_run: dict[str, Any], folder: Path, change: Any = None) -> Path:
    data = json.loads((tiny_run["run"] / "results.json").read_text())
    if change is not None:
        change(data)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def _lose_artifact(data: dict[str, Any]) -> None:
    for record in data["records"]:
        record["artifact"] = "/nonexistent/cache/export/0123/onnx"


BAD = {
    "missing run dir": (lambda t, p: [str(p / "no-such-run"), "--task", "ner"], ["no-such-run"]),
    "no results.json": (lambda t, p: [str(p / "empty-run"), "--task", "ner"], ["results.json"]),
    "several tasks": (lambda t, p: [str(t["run"])], ["several tasks", "sentiment", "generation", "--task"]),
    "unknown task": (lambda t, p: [str(t["run"]), "--task", "sentimnt"], ["sentimnt", "did you mean 'sentiment'"]),
    "unknown pick": (lambda t, p: [str(t["run"]), "--task", "ner", "--pick", "tiny-layers9"],
                     ["tiny-layers9", "tiny-layers1", "allowed values"]),
    "unknown format": (lambda t, p: [str(t["run"]), "--task", "ner", "--pick", "tiny", "--format", "tflite"],
                       ["--format", "tflite"]),
    "format not in the run": (lambda t, p: [str(t["run"]), "--task", "ner", "--pick", "tiny", "--format", "onnx-int8"],
                              ["no onnx-int8 record", "pytorch, onnx"]),
    "no recommendation": (lambda t, p: [str(t["run"]), "--task", "sentiment"], ["no recommended model", "--pick NAME"]),
    "missing artifact": (lambda t, p: [str(_copy_run(t, p / "lost", _lose_artifact)), "--task", "ner", "--pick", "tiny",
                                       "--format", "onnx"], ["/nonexistent/cache/export/0123/onnx", "missing",
                                                             "reusebench run --suite ship-tiny"]),
    "out not empty": (lambda t, p: [str(t["run"]), "--task", "ner", "--pick", "tiny", "--format", "onnx", "--out",
                                    str(p / "mine")], ["mine", "not empty", "left as it is"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_ship_inputs_are_one_line_and_touch_nothing(tiny_run, tmp_path, capsys, case):
    (tmp_path / "empty-run").mkdir()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine\n", encoding="utf-8")
    argv, fragments = BAD[case]
    args = argv(tiny_run, tmp_path)
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    capsys.readouterr()
    try:
        code = main(["ship", *args])
    except SystemExit as exit_:  # a usage error (an unknown --format) is the parser's, exit 2 too
        code = exit_.code
    assert_one_line_error(code, capsys.readouterr().err, fragments)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine\n"


def test_previous_ship_with_a_foreign_file_is_left_alone(tiny_run, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["ship", str(tiny_run["run"]), "--task", "ner", "--pick", "tiny", "--format", "pytorch", "--out", str(out)]
    assert main(argv) == 0
    (out / "my-notes.md").write_text("keep me\n", encoding="utf-8")
    capsys.readouterr()
    assert_one_line_error(main(argv), capsys.readouterr().err, ["my-notes.md", "did not write"])
    assert (out / "my-notes.md").read_text() == "keep me\n"


# -- cache clean and stored runs --------------------------------------------------------------------------


@pytest.fixture()
def referenced_cache(tmp_path: Path) -> dict[str, Any]:
    """A cache with three entries, two of them (a model and an export) used by a run in the store."""
    cache = StageCache(tmp_path / "cache")
    entries = {}
    for stage, key in (("finetune", "a" * 32), ("export", "b" * 32), ("distill", "c" * 32)):
        with cache.write(stage, key) as (folder, _):
            (folder / "onnx").mkdir()
            (folder / "onnx" / "model.onnx").write_bytes(b"graph")
        entries[stage] = cache.path_for(stage, key)
    data = fixture_dict()
    data["records"][0]["artifact"] = str(entries["finetune"])
    data["records"][1]["artifact"] = str(entries["export"] / "onnx")
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with Store(db) as store:
        store.import_run(RunResults.model_validate(data))
    return {"cache": str(tmp_path / "cache"), "db": db, "entries": entries}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _clean(ws: dict[str, Any], *extra: str) -> int:
    return main(["cache", "clean", "--cache-dir", ws["cache"], "--db", ws["db"], *extra])


def test_cache_clean_without_a_terminal_refuses_to_remove_what_stored_runs_use(referenced_cache, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    capsys.readouterr()
    code = _clean(referenced_cache)
    assert_one_line_error(code, capsys.readouterr().err, ["2 of the entries", "referenced", "--yes", "nothing was removed"])
    assert all(path.is_dir() for path in referenced_cache["entries"].values())


def test_cache_clean_asks_on_a_terminal(referenced_cache, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    assert _clean(referenced_cache) == 0
    assert "Remove them too? [y/N]" in capsys.readouterr().err
    assert all(path.is_dir() for path in referenced_cache["entries"].values())
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    assert _clean(referenced_cache) == 0
    assert not any(path.exists() for path in referenced_cache["entries"].values())


def test_cache_clean_yes_removes_without_asking(referenced_cache, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert _clean(referenced_cache, "--yes") == 0
    assert not any(path.exists() for path in referenced_cache["entries"].values())


def test_cache_clean_of_unreferenced_entries_does_not_ask(referenced_cache, monkeypatch, tmp_path):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    shutil.rmtree(referenced_cache["entries"]["finetune"])
    shutil.rmtree(referenced_cache["entries"]["export"])
    assert _clean(referenced_cache) == 0  # only the unreferenced distill entry was left: no question
    assert not referenced_cache["entries"]["distill"].exists()
    empty_store = {**referenced_cache, "db": f"sqlite:///{tmp_path / 'absent.db'}"}
    assert _clean(empty_store) == 0 and not (tmp_path / "absent.db").exists()  # a store not made yet: not created
