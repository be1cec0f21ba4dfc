"""A run that adapts one pretrained model three ways (linear probe, LoRA, full fine-tuning) and what it records.

A tiny random BERT stands in for the pretrained model, so the run takes seconds; the methods' scores mean
nothing here, their bookkeeping does.
"""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from tests.tiny_models import save_tiny_model

TASK = """
name: tiny-adapt
kind: classification
data: {source: builtin, generator: sentiment, train_size: 48, eval_size: 32, seed: 3}
columns: {text: text, label: label}
labels: [negative, positive]
max_length: 32
primary_metric: accuracy
training: {epochs: 1, learning_rate: 1.0e-4, batch_size: 16}
"""

SUITE = """
name: tiny-adapt
tasks: [{task}]
students: []
formats: [pytorch, onnx]
adaptation: [estimate, probe, lora, full]
lora: {{rank: 4}}
measure: {{batch_sizes: [1], warmup: 1, min_iterations: 2, min_seconds: 0.01, threads: 1}}
"""


@pytest.fixture(scope="module")
def adapted_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("adapt")
    teacher = save_tiny_model(root / "pretrained")
    task = root / "tiny-adapt.yaml"
    task.write_text(TASK)
    suite = root / "suite.yaml"
    suite.write_text(SUITE.format(task=task))
    args = ["run", "--suite", str(suite), "--teacher", str(teacher), "--quiet", "--bootstrap", "50",
            "--cache-dir", str(root / "cache")]
    assert main([*args, "--out", str(root / "run")]) == 0
    assert main([*args, "--out", str(root / "again")]) == 0
    return root


def _records(folder):
    return json.loads((folder / "results.json").read_text())["records"]


def test_each_method_has_its_records_and_costs(adapted_run):
    records = _records(adapted_run / "run")
    by_method = {(r.get("adaptation") or r["role"], r["format"]): r for r in records}
    assert set(by_method) == {(m, f) for m in ("teacher", "probe", "lora") for f in ("pytorch", "onnx")}
    assert all(r["status"] == "ok" for r in records)
    teacher, probe, lora = (by_method[(m, "pytorch")] for m in ("teacher", "probe", "lora"))
    assert "adaptation" not in teacher and "trainable_params" not in teacher
    assert probe["role"] == lora["role"] == "adapted"
    assert probe["trainable_params"] == 16 * 2 + 2  # the head alone: hidden 16 -> 2 labels
    # rank 4 on query and value of 2 layers (A: 4x16, B: 16x4) plus the head
    assert lora["trainable_params"] == 2 * 2 * (4 * 16 + 16 * 4) + 16 * 2 + 2
    assert probe["params"] == lora["params"] == teacher["params"]  # merged: the teacher's architecture
    # FLOPs follow what each method computes: LoRA about two thirds of full fine-tuning; the probe's frozen
    # body runs forward once (its outputs are kept), and its head trains for the probe's 20 epochs
    assert lora["train"]["flops"] < teacher["train"]["flops"]
    per_epoch = teacher["train"]["tokens"] / teacher["train"]["epochs"]
    assert probe["train"]["epochs"] == 20 and probe["train"]["tokens"] == 20 * per_epoch
    non_embedding = teacher["train"]["flops"] / (6 * teacher["train"]["tokens"])
    expected = 2 * non_embedding * per_epoch + 4 * probe["trainable_params"] * probe["train"]["tokens"]
    assert probe["train"]["flops"] == pytest.approx(expected, rel=1e-9)


def test_the_teacher_record_carries_the_estimates(adapted_run):
    records = _records(adapted_run / "run")
    teacher = next(r for r in records if r["role"] == "teacher" and r["format"] == "pytorch")
    estimates = teacher["transferability"]
    assert isinstance(estimates["logme"], float) and isinstance(estimates["hscore"], float)
    assert estimates["leep"] is None and "classification head" in estimates["notes"]["leep"]
    assert estimates["target"] == "sentence-class" and estimates["examples"] == estimates["rows"] == 48
    assert estimates["seconds"] > 0
    others = [r for r in records if r is not teacher and "transferability" in r]
    assert not others
    markdown = (adapted_run / "run" / "scorecard.md").read_text()
    section = markdown.split("## Transferability estimates", 1)[1].split("## Records", 1)[0]
    assert "LogME: no τ (1 (task, model) pair(s) with a value; τ needs 3)" in section


def test_merged_lora_exports_with_the_same_predictions(adapted_run):
    records = {(r["model"], r["format"]): r for r in _records(adapted_run / "run")}
    name = next(model for model, _ in records if model.endswith("(lora)"))
    assert records[(name, "onnx")]["predictions"] == records[(name, "pytorch")]["predictions"]
    assert records[(name, "onnx")]["parity"]["passed"] is True


def test_reports_show_the_reuse_card(adapted_run):
    markdown = (adapted_run / "run" / "scorecard.md").read_text()
    card = markdown.split("## Adaptation", 1)[1].split("## Records", 1)[0]
    assert "linear probe" in card and "LoRA" in card and "full fine-tuning" in card
    assert "| tiny-adapt | full fine-tuning | accuracy |" in card and "1.000" in card  # full of itself
    # the caption says what LoRA adapted in this run (the suite's rank, the model type's default targets)
    assert "LoRA: rank-4 updates of the attention query and value projections (the model type's default)" in card
    html = (adapted_run / "run" / "report.html").read_text()
    assert 'id="adaptation"' in html and "how little it takes" in html
    # The adaptation curve: one point per method at its trainable parameters, on a log axis.
    curve = html.split("tiny-adapt: adaptation curve", 1)[1].split("</figure>", 1)[0]
    assert "trainable parameters (log scale)" in curve
    for method in ("linear probe", "LoRA", "full fine-tuning"):
        assert method in curve
    # The profile: one stacked bar for the task, a segment per stage that ran.
    profile = html.split("<h3>Where the time went</h3>", 1)[1].split("</figure>", 1)[0]
    for stage in ("estimate", "adapt", "finetune", "export", "record"):
        assert f"tiny-adapt, {stage}:" in profile


def test_adapted_models_come_from_the_cache_the_second_time(adapted_run):
    again = [r for r in _records(adapted_run / "again") if r["role"] == "adapted"]
    assert len(again) == 4 and all(r.get("cached") for r in again)
    first = {(r["model"], r["format"]): r["score"] for r in _records(adapted_run / "run")}
    assert all(first[(r["model"], r["format"])] == r["score"] for r in again)


def test_generation_skips_the_probe_and_the_plan_shows_the_rest(tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: g\ntasks: [generation]\nstudents: []\nformats: [pytorch]\nadaptation: [probe, lora, full]\n")
    assert main(["run", "--suite", str(suite), "--dry-run", "--json", "--max-train", "8", "--max-eval", "4",
                 "--out", str(tmp_path / "run"), "--no-cache"]) == 0
    plan = json.loads(capsys.readouterr().out)
    rows = plan["plan"] if isinstance(plan, dict) else plan
    adapt = [row["model"] for row in rows if row["stage"] == "adapt"]
    assert adapt == ["all-MiniLM-L6-v2 (lora)"]
    assert not [row for row in rows if row["stage"] == "estimate"]  # generation has no labels to estimate against


def test_a_task_asking_for_a_method_its_kind_lacks_is_refused(tmp_path, capsys):
    from importlib.resources import files

    task = tmp_path / "generation.yaml"
    text = (files("tasks") / "definitions" / "generation.yaml").read_text()
    task.write_text(text.replace("name: generation", "name: gen-estimate") + "\nadaptation: [estimate, full]\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: g\ntasks: [{task}]\nstudents: []\nformats: [pytorch]\n")
    assert main(["run", "--suite", str(suite), "--out", str(tmp_path / "run"), "--no-cache"]) == 2
    err = capsys.readouterr().err.strip()
    assert "'gen-estimate'" in err and "field 'adaptation'" in err and "estimate" in err and "lora, full" in err
    assert "\n" not in err


@pytest.mark.parametrize(
    ("adaptation", "fragment"),
    [("[probe, lora]", "must list 'full'"), ("[full, prob]", "allowed values: 'estimate', 'probe', 'lora' or 'full'"),
     ("[full, full]", "more than once")],
)
def test_bad_adaptation_lists_are_refused(tmp_path, capsys, adaptation, fragment):
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: g\ntasks: [sentiment]\nadaptation: {adaptation}\n")
    assert main(["run", "--suite", str(suite), "--out", str(tmp_path / "run"), "--no-cache"]) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and "adaptation" in err and str(suite) in err and "\n" not in err


@pytest.mark.parametrize("lora, fragments", [
    ("{target_modules: [q_proj, value]}", ["lora.target_modules: q_proj", "query, value"]),
    ("{layers: [4, 6]}", ["lora.layers: 6:", "blocks: 0-5"]),  # MiniLM has blocks 0-5
])
def test_lora_settings_the_teacher_cannot_take_fail_before_training(tmp_path, capsys, lora, fragments):
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: g\ntasks: [sentiment]\nstudents: []\nadaptation: [lora, full]\nlora: {lora}\n")
    assert main(["run", "--suite", str(suite), "--out", str(tmp_path / "run"), "--no-cache"]) == 2
    err = capsys.readouterr().err.strip()
    assert all(fragment in err for fragment in fragments) and "\n" not in err, err
    assert not (tmp_path / "run" / "results.json").exists()


def test_the_leaderboard_shows_each_method_beside_full_fine_tuning(adapted_run, tmp_path):
    import csv

    from harness.results import load_results
    from leaderboard.site import build_site

    results = load_results(adapted_run / "run")
    site = build_site([results], tmp_path / "site")
    rows = [r for r in csv.DictReader(site.csv.open()) if r["format"] == "pytorch"]
    by_method = {r["adaptation"]: r for r in rows if r["adaptation"]}
    assert set(by_method) == {"probe", "lora", "full"}
    records = {(r["role"], r.get("adaptation")): r for r in _records(adapted_run / "run") if r["format"] == "pytorch"}
    full = records[("teacher", None)]
    assert float(by_method["full"]["of_full"]) == pytest.approx(1.0)
    assert int(by_method["full"]["trainable_params"]) == full["params"]
    for method in ("probe", "lora"):
        record = records[("adapted", method)]
        assert int(by_method[method]["trainable_params"]) == record["trainable_params"] < full["params"]
        assert float(by_method[method]["of_full"]) == pytest.approx(record["score"] / full["score"])
    markdown = site.markdown.read_text()
    card = markdown.split("Adaptation: how little it takes", 1)[1]
    assert "| linear probe |" in card and "| LoRA |" in card and "| full fine-tuning |" in card
    page = site.task_pages["tiny-adapt"].read_text()
    assert 'id="adaptation"' in page and "linear probe" in page.split('id="adaptation"', 1)[1]


def test_the_caption_names_the_lora_targets_the_suite_chose():
    from types import SimpleNamespace

    from reports.adaptation import adaptation_note

    chosen = SimpleNamespace(config={"suite": {"lora": {"rank": 8, "target_modules": ["query", "key", "value", "dense"]}}})
    assert "LoRA: rank-8 updates of the linear layers named query, key, value, dense" in adaptation_note(chosen)
    assert "rank-r updates of the attention query and value" in adaptation_note(SimpleNamespace(config={}))


def test_the_bench_summary_shows_the_reuse_card_of_a_results_file(adapted_run):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "bench" / "summarize.py"
    spec = importlib.util.spec_from_file_location("bench_summarize_adaptation", path)
    summarize = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(summarize)
    table = summarize.adaptation_section(adapted_run / "run" / "results.json")
    assert "| tiny-adapt | linear probe | accuracy |" in table and "| tiny-adapt | LoRA | accuracy |" in table
    assert "LoRA: rank-4 updates" in table
