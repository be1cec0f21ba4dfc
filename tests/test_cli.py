"""The command line: exit codes and one-line errors for bad input (no training happens here)."""

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
