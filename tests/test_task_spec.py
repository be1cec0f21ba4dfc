"""Task and suite definitions: packaged files validate; bad files fail naming file, field and values."""

from pathlib import Path

import pytest

from tasks.errors import ConfigError
from tasks.registry import get_suite, get_task, suite_files, task_files
from tasks.spec import load_suite_file, load_task_file

GOOD_TASK = """
name: my-task
kind: classification
data: {source: local, path: mydata, train: train.csv, eval: dev.csv}
columns: {text: sentence, label: label}
labels: [neg, pos]
primary_metric: accuracy
"""


def write(tmp_path: Path, text: str, name: str = "task.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", sorted(task_files()))
def test_every_packaged_task_validates(name):
    spec = get_task(name)
    assert spec.name == name
    assert spec.primary_metric


@pytest.mark.parametrize("name", sorted(suite_files()))
def test_every_packaged_suite_names_known_tasks(name):
    suite = get_suite(name)
    for task in suite.tasks:
        assert get_task(task).name == task


def test_good_task_file(tmp_path):
    spec = load_task_file(write(tmp_path, GOOD_TASK))
    assert spec.kind == "classification"
    assert spec.data.source == "local"
    assert spec.labels == ["neg", "pos"]
    assert spec.distillation.temperature == 3.0


def test_unknown_kind_names_field_and_allowed_values(tmp_path):
    path = write(tmp_path, GOOD_TASK.replace("kind: classification", "kind: clasification"))
    with pytest.raises(ConfigError) as err:
        load_task_file(path)
    message = str(err.value)
    assert str(path) in message and "'kind'" in message
    assert "classification" in message and "generation" in message


def test_unknown_data_source_lists_sources(tmp_path):
    path = write(tmp_path, GOOD_TASK.replace("source: local", "source: s3"))
    with pytest.raises(ConfigError, match="builtin, local, hub"):
        load_task_file(path)


def test_unknown_field_is_rejected(tmp_path):
    path = write(tmp_path, GOOD_TASK + "epochz: 3\n")
    with pytest.raises(ConfigError, match="field 'epochz': unknown field"):
        load_task_file(path)


def test_missing_required_field(tmp_path):
    path = write(tmp_path, GOOD_TASK.replace("primary_metric: accuracy\n", ""))
    with pytest.raises(ConfigError, match="field 'primary_metric'"):
        load_task_file(path)


def test_malformed_yaml_names_line(tmp_path):
    path = write(tmp_path, "name: x\nkind: [classification\n")
    with pytest.raises(ConfigError, match=r"invalid YAML \(line"):
        load_task_file(path)


def test_python_tag_is_refused_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = write(tmp_path, f"name: !!python/object/apply:os.system ['touch {marker}']\nkind: classification\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_task_file(path)
    assert not marker.exists()


def test_name_cannot_escape_directories(tmp_path):
    path = write(tmp_path, GOOD_TASK.replace("name: my-task", "name: ../../etc"))
    with pytest.raises(ConfigError, match="field 'name'"):
        load_task_file(path)


def test_data_path_must_stay_inside_data_dir(tmp_path):
    path = write(tmp_path, GOOD_TASK.replace("path: mydata", "path: ../../secrets"))
    with pytest.raises(ConfigError, match="field 'data.local.path'"):
        load_task_file(path)


def test_negative_hyperparameter(tmp_path):
    path = write(tmp_path, GOOD_TASK + "training: {learning_rate: -1}\n")
    with pytest.raises(ConfigError, match="training.learning_rate"):
        load_task_file(path)


def test_duplicate_labels(tmp_path):
    path = write(tmp_path, GOOD_TASK.replace("[neg, pos]", "[neg, neg]"))
    with pytest.raises(ConfigError, match="unique"):
        load_task_file(path)


def test_not_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_task_file(write(tmp_path, "- a\n- b\n"))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_task_file(tmp_path / "nope.yaml")


def test_unknown_task_suggests_close_name():
    with pytest.raises(ConfigError, match="did you mean 'sst2'"):
        get_task("sst3")


def test_unknown_suite_suggests_close_name():
    with pytest.raises(ConfigError, match="did you mean 'quick'"):
        get_suite("quik")


def test_suite_with_bad_format(tmp_path):
    path = write(tmp_path, "name: s\ntasks: [sentiment]\nformats: [onnx, tflite]\n", "suite.yaml")
    with pytest.raises(ConfigError, match="formats.1") as err:
        load_suite_file(path)
    assert "onnx-int8" in str(err.value)
