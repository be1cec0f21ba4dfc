"""The command line: exit codes and one-line errors for bad input, --version and the help texts, validate against
run, and what goes to stdout and stderr (a Trainer trained for two steps, and one tiny real run, marked slow)."""

from pathlib import Path

import pytest

from harness.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_tasks_lists_packaged_tasks_and_suites(capsys):
    code, out, _ = run_cli(capsys, "tasks")
    assert code == 0
    assert "sentiment" in out and "sst2" in out and "quick" in out


def test_validate_good_task(capsys):
    from tasks.registry import task_files

    code, out, _ = run_cli(capsys, "validate", str(task_files()["sst2"]))
    assert code == 0 and "valid task 'sst2'" in out


def test_validate_bad_task_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nkind: regression\ndata: {source: builtin, generator: sentiment}\nprimary_metric: f1\n")
    code, _, err = run_cli(capsys, "validate", str(bad))
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "bad.yaml" in err and "'kind'" in err and "similarity" in err


def test_unknown_task_exits_2_before_training(tmp_path, capsys):
    code, _, err = run_cli(capsys, "run", "--tasks", "sst3", "--out", str(tmp_path / "r"), "--quiet")
    assert code == 2
    assert "unknown task 'sst3'" in err and "did you mean 'sst2'" in err
    assert not (tmp_path / "r" / "results.json").exists()


def test_unknown_suite(tmp_path, capsys):
    code, _, err = run_cli(capsys, "run", "--suite", "quik", "--out", str(tmp_path / "r"))
    assert code == 2 and "did you mean 'quick'" in err


def test_local_task_without_data_dir(tmp_path, capsys):
    code, _, err = run_cli(capsys, "run", "--tasks", "sst2", "--out", str(tmp_path / "r"), "--quiet")
    assert code == 2 and "--data-dir" in err


def test_missing_teacher_path(tmp_path, capsys):
    code, _, err = run_cli(
        capsys, "run", "--teacher", str(tmp_path / "no-model"), "--out", str(tmp_path / "r"), "--quiet"
    )
    assert code == 2 and "no-model" in err and "not found" in err


def test_bad_student_spec(tmp_path, capsys):
    code, _, err = run_cli(capsys, "run", "--student", "depth=3", "--out", str(tmp_path / "r"), "--quiet")
    assert code == 2 and "depth=3" in err


@pytest.mark.parametrize("flag", ["--max-train", "--max-eval"])
@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_bad_caps_exit_2(capsys, flag, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", flag, value])
    assert exit_info.value.code == 2
    assert "positive integer" in capsys.readouterr().err


def test_unwritable_output_directory(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, _, err = run_cli(capsys, "run", "--out", str(blocker / "run"), "--quiet")
    assert code == 2 and "not writable" in err


def test_cuda_without_gpu_fails_clearly(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    code, _, err = run_cli(capsys, "run", "--device", "cuda", "--out", str(tmp_path / "r"), "--quiet")
    assert code == 2 and "no CUDA device" in err


# -- --version and the help texts ---------------------------------------------------------------------


def test_version_prints_the_installed_version(capsys):
    import re
    from importlib.metadata import version

    from harness.cli.version import __version__, package_version

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"reusebench {version('reusebench')}"
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert __version__ == re.search(r'(?m)^version = "([^"]+)"', pyproject).group(1) == package_version()


def test_version_falls_back_to_the_source_version(monkeypatch):
    import importlib.metadata

    from harness.cli import version as version_module

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert version_module.package_version() == version_module.__version__


def _parsers(parser):
    """The parser and every sub-command's parser, with their names."""
    import argparse

    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def test_every_option_has_help_and_states_its_default():
    import argparse

    from harness.cli import build_parser

    checked = 0
    for command, parser in _parsers(build_parser()):
        for action in parser._actions:
            if not action.option_strings or isinstance(action, argparse._HelpAction | argparse._VersionAction):
                continue
            flag = f"{command} {action.option_strings[-1]}"
            assert action.help, f"{flag}: no help text"
            if action.default not in (None, False, argparse.SUPPRESS):
                assert "default" in action.help, f"{flag}: help does not state its default {action.default!r}"
            checked += 1
    assert checked > 30


# -- validate takes what run takes, and refuses what run refuses ----------------------------------------


@pytest.mark.parametrize("name, expected", [("sst2", "valid task 'sst2'"), ("quick", "valid suite 'quick'")])
def test_validate_takes_packaged_names(capsys, name, expected):
    code, out, err = run_cli(capsys, "validate", name)
    assert code == 0, err
    assert out.startswith(f"{name}: {expected}")


def test_validate_an_unknown_name_suggests_tasks_and_suites(capsys):
    code, _, err = run_cli(capsys, "validate", "quik")
    assert code == 2 and err.count("\n") == 1
    assert "unknown task or suite 'quik'" in err and "did you mean 'quick'" in err


SENTIMENT = str(Path(__file__).parents[1] / "tasks" / "definitions" / "sentiment.yaml")
TASK_BASE = {"name": "bad", "kind": "classification", "data": {"source": "builtin", "generator": "sentiment"},
             "primary_metric": "accuracy"}
#: Files that ``run`` refuses before it reads any data: (file name, its YAML as a dict, a fragment of the message).
BAD_FILES = [
    ("metric.yaml", {**TASK_BASE, "primary_metric": "rouge1"}, "field 'primary_metric': got 'rouge1'"),
    ("kind.yaml", {**TASK_BASE, "kind": "regression"}, "field 'kind'"),
    ("generator.yaml", {**TASK_BASE, "data": {"source": "builtin", "generator": "sentimen"}}, "did you mean 'sentiment'"),
    ("weights.yaml", {**TASK_BASE, "distillation": {"weights": {"kd_foo": 1.0}}}, "kd_foo"),
    ("suite-task.yaml", {"name": "s", "tasks": ["sst3"]}, "unknown task 'sst3'"),
    ("suite-student.yaml", {"name": "s", "tasks": ["sentiment"], "students": ["depth=3"]}, "depth=3"),
    ("suite-twice.yaml", {"name": "s", "tasks": ["sentiment", SENTIMENT]}, "are the same task 'sentiment'"),
    ("suite-deep.yaml", {"name": "s", "tasks": ["sentiment"], "students": ["layers=9"]}, "only 6 layers"),
    ("suite-format.yaml", {"name": "s", "tasks": ["sentiment"], "formats": ["tflite"]}, "formats"),
]


@pytest.mark.parametrize("name, data, fragment", BAD_FILES, ids=[case[0] for case in BAD_FILES])
def test_validate_refuses_what_run_refuses_with_the_same_message(tmp_path, capsys, name, data, fragment):
    import yaml

    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    flag = "--suite" if "tasks" in data else "--tasks"
    out = tmp_path / "runs" / "r"
    run_code, _, run_err = run_cli(capsys, "run", flag, str(path), "--out", str(out), "--quiet", "--no-cache")
    code, stdout, err = run_cli(capsys, "validate", str(path))
    assert run_code == code == 2, (run_err, err)
    assert err == run_err and err.count("\n") == 1 and fragment in err, (err, run_err)
    assert stdout == "" and not (tmp_path / "runs").exists()


# -- a refused run leaves nothing behind ----------------------------------------------------------------


@pytest.mark.parametrize("args", [["--tasks", "sst2"], ["--tasks", "sentiment", "--student", "layers=9"]])
def test_a_refused_run_creates_no_run_folder(tmp_path, monkeypatch, capsys, args):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "run", *args, "--quiet", "--no-cache")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # no runs/, no runs/<id>/
    nested = tmp_path / "a" / "b" / "run"
    code, _, _ = run_cli(capsys, "run", *args, "--out", str(nested), "--quiet", "--no-cache")
    assert code == 2 and not (tmp_path / "a").exists()


def test_a_refused_run_keeps_an_existing_out_folder(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    code, _, _ = run_cli(capsys, "run", "--tasks", "sst2", "--out", str(out), "--quiet", "--no-cache")
    assert code == 2
    assert [p.name for p in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "keep me"


def test_the_run_label_names_what_was_run():
    from harness.options import RunOptions
    from tasks.registry import get_suite

    quick = get_suite("quick")
    assert RunOptions(suite=quick).label() == "quick"
    assert RunOptions(suite=quick, tasks=["/x/y/a.yaml", "b"]).label() == "tasks: a.yaml, b"
    long = RunOptions(suite=quick, tasks=[f"task{i}" for i in range(100)]).label()
    assert len(long) == 200 and long.endswith("…")
    assert RunOptions(suite=quick, tasks=["a\u202eb.yaml"]).label() == "tasks: a?b.yaml"


# -- stdout carries only what the command promises ------------------------------------------------------


def test_the_trainer_prints_nothing_on_stdout(tmp_path, capsys, caplog):
    """transformers' Trainer prints its loss dicts to stdout (PrinterCallback, or ProgressCallback's tqdm.write);
    route_output takes both off and logs the same entries through the 'reusebench' logger."""
    import logging

    import torch
    from tiny_models import save_tiny_model
    from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from harness.trainer_log import route_output

    model = AutoModelForSequenceClassification.from_pretrained(save_tiny_model(tmp_path / "m"), num_labels=2)
    rows = [{"input_ids": torch.tensor([101, 2000 + i, 102]), "attention_mask": torch.ones(3, dtype=torch.long),
             "labels": torch.tensor(i % 2)} for i in range(8)]
    for disable_tqdm in (False, True):  # ProgressCallback, then PrinterCallback
        args = TrainingArguments(output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, num_train_epochs=1,
                                 logging_steps=1, report_to="none", save_strategy="no", use_cpu=True,
                                 disable_tqdm=disable_tqdm)
        trainer = route_output(Trainer(model=model, args=args, train_dataset=rows), "fine-tuning", progress=True)
        assert not any(isinstance(cb, PrinterCallback | ProgressCallback) for cb in trainer.callback_handler.callbacks)
        with caplog.at_level(logging.INFO, logger="reusebench"):
            trainer.train()
        assert capsys.readouterr().out == ""
        lines = [r.getMessage() for r in caplog.records if "fine-tuning:" in r.getMessage()]
        assert any("loss" in line and "step 2/2" in line for line in lines), lines
        caplog.clear()


TINY_TASK = """
name: tiny-cli
kind: classification
data: {source: builtin, generator: sentiment, train_size: 16, eval_size: 8, seed: 1}
labels: [negative, positive]
max_length: 32
primary_metric: accuracy
training: {epochs: 1, batch_size: 8}
distillation: {epochs: 1}
"""
TINY_SUITE = """
name: tiny
tasks: [sentiment]
students: ["layers=1"]
formats: [pytorch]
measure: {batch_sizes: [1], warmup: 1, min_iterations: 2, min_seconds: 0.01}
"""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One real run (a tiny random BERT, 16 examples, one 1-layer student, PyTorch only) with --json and --tasks
    overriding the suite's tasks, as the command line prints it; then the same run again with --quiet (cached)."""
    from tiny_models import save_tiny_model

    root = tmp_path_factory.mktemp("cli-run")
    (root / "tiny-cli.yaml").write_text(TINY_TASK, encoding="utf-8")
    (root / "suite.yaml").write_text(TINY_SUITE, encoding="utf-8")
    teacher = save_tiny_model(root / "teacher")
    common = ["run", "--suite", str(root / "suite.yaml"), "--tasks", str(root / "tiny-cli.yaml"), "--teacher",
              str(teacher), "--cache-dir", str(root / "cache"), "--bootstrap", "20"]
    return root, common


@pytest.mark.slow
def test_json_stdout_is_one_json_document_and_progress_goes_to_stderr(tiny_run, capfd):
    import json

    root, common = tiny_run
    code = main([*common, "--out", str(root / "run-json"), "--json"])
    out, err = capfd.readouterr()
    assert code == 0, err
    summary = json.loads(out)  # the whole of stdout: no Trainer dict, no library print
    assert summary["results"] == str(root / "run-json" / "results.json")
    assert summary["suite"] == "tasks: tiny-cli.yaml"
    assert "{'loss'" not in out + err  # the loss dicts are log lines now, not printed dicts
    assert "running tasks: tiny-cli.yaml" in err
    assert "stage 1/4 finetune" in err and "elapsed" in err and "left" in err and "fine-tuning: epoch 1" in err
    scorecard = (root / "run-json" / "scorecard.md").read_text(encoding="utf-8")
    assert "(tasks `tiny-cli.yaml`)" in scorecard.splitlines()[0] and "`quick`" not in scorecard
    results = json.loads((root / "run-json" / "results.json").read_text(encoding="utf-8"))
    assert results["suite"] == "tasks: tiny-cli.yaml"


@pytest.mark.slow
def test_quiet_prints_only_the_results_path(tiny_run, capfd):
    root, common = tiny_run
    code = main([*common, "--out", str(root / "run-quiet"), "--quiet"])
    out, err = capfd.readouterr()
    assert code == 0, err
    assert out == f"{root / 'run-quiet' / 'results.json'}\n"
    assert "stage 1/" not in err and "elapsed" not in err
