"""Registries of task kinds, metrics and formats: one registration adds an entry, a misspelt name gets a
"did you mean" error that lists the allowed values."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from tasks.errors import ConfigError, ModelError, did_you_mean, unknown_name_error
from tasks.kinds import KINDS, TaskKind, get_kind, kind_names, register_kind, unregister_kind
from tasks.kinds.classification import ClassificationKind
from tasks.spec import parse_task
from tests.toy_kind import TOY_TASK, ToyLengthKind, registered_toy_kind

BUILTIN_KINDS = ("classification", "similarity", "ner", "qa", "generation")


@pytest.fixture
def toy_kind():
    with registered_toy_kind() as kind:
        yield kind


# -- the helper -------------------------------------------------------------------------------------
def test_unknown_name_error_suggests_the_closest_name_and_lists_all():
    error = unknown_name_error("format", "onx", ["pytorch", "onnx", "onnx-int8"], error=ModelError)
    assert isinstance(error, ModelError)
    assert str(error) == "unknown format 'onx' (did you mean 'onnx'?); allowed values: pytorch, onnx, onnx-int8"
    error = unknown_name_error("executor", "zzz", ["local", "ray"], where="--executor")
    assert isinstance(error, ConfigError)
    assert str(error) == "--executor: unknown executor 'zzz'; allowed values: local, ray"
    assert did_you_mean("sst3", ["sst2", "mrpc"]) == " (did you mean 'sst2'?)"
    assert did_you_mean(["not", "a", "name"], ["sst2"]) == ""


# -- task kinds -------------------------------------------------------------------------------------
def test_builtin_kinds_in_their_documented_order():
    assert kind_names() == BUILTIN_KINDS
    assert tuple(KINDS) == BUILTIN_KINDS  # the old name still works: a snapshot of the registry
    assert all(issubclass(cls, TaskKind) and cls.name == name for name, cls in KINDS.items())
    from tasks import spec

    assert spec.KINDS == BUILTIN_KINDS


def test_a_registered_toy_kind_is_found_and_validates(toy_kind):
    kind = get_kind("toy")
    assert isinstance(kind, ToyLengthKind)
    assert kind_names() == (*BUILTIN_KINDS, "toy")
    spec = parse_task(yaml.safe_load(TOY_TASK), "toy.yaml")
    assert spec.kind == "toy" and spec.labels == ["short", "long"]
    assert kind.metric_name(spec) == "classification"  # an existing metric: no edit anywhere else


def test_unregistering_removes_the_kind_again(toy_kind):
    unregister_kind("toy")
    with pytest.raises(ConfigError, match="unknown task kind 'toy'"):
        get_kind("toy")
    with pytest.raises(ConfigError, match="field 'kind'"):
        parse_task(yaml.safe_load(TOY_TASK), "toy.yaml")
    register_kind(ToyLengthKind)  # the fixture unregisters it


def test_registering_another_class_under_a_taken_name_is_refused():
    class Impostor(ClassificationKind):
        name = "classification"

    with pytest.raises(ValueError, match="registered twice"):
        register_kind(Impostor)
    assert register_kind(ClassificationKind) is ClassificationKind  # the same class again is harmless
    with pytest.raises(ValueError, match="'name'"):
        register_kind(type("Nameless", (TaskKind,), {}))


def test_misspelt_kind_gets_a_suggestion():
    with pytest.raises(ConfigError) as err:
        get_kind("generaton")
    assert "did you mean 'generation'" in str(err.value)
    assert all(name in str(err.value) for name in BUILTIN_KINDS)
    task = {"name": "x", "kind": "clasification", "data": {"source": "builtin", "generator": "sentiment"},
            "primary_metric": "accuracy"}
    with pytest.raises(ConfigError) as err:
        parse_task(task, "task.yaml")
    message = str(err.value)
    assert message.startswith("task.yaml: field 'kind': got 'clasification'")
    assert "did you mean 'classification'" in message
    assert "allowed values: classification, similarity, ner, qa, generation" in message


def test_kind_is_checked_by_the_model_itself_too():
    """``TaskSpec.model_validate`` (without parse_task's early check) also names the field and the values."""
    from pydantic import ValidationError

    from tasks.spec import TaskSpec

    with pytest.raises(ValidationError) as err:
        TaskSpec.model_validate({"name": "x", "kind": "nerr", "data": {"source": "builtin", "generator": "ner"},
                                 "primary_metric": "f1"})
    assert "did you mean 'ner'" in str(err.value) and "allowed values" in str(err.value)


# -- metrics ----------------------------------------------------------------------------------------
def test_a_kind_can_bring_its_own_metric_with_one_call():
    import evaluate

    from tasks.metrics import bootstrap_ci, compute, metric_names, register_metric, unregister_metric

    def scores(predictions, references):
        return {"hits": float(np.mean([p == r for p, r in zip(predictions, references, strict=True)]))}

    class Hits(evaluate.Metric):
        def _info(self):
            import datasets

            return evaluate.MetricInfo(description="hits", citation="", inputs_description="",
                                       features=datasets.Features({"predictions": datasets.Value("int64"),
                                                                   "references": datasets.Value("int64")}))

        def _compute(self, predictions, references):
            return scores(predictions, references)

    register_metric("toy-hits", Hits, scores, keys=("hits",))
    try:
        assert metric_names()[-1] == "toy-hits"
        assert compute("toy-hits", [1, 0, 1, 1], [1, 1, 1, 1]) == {"hits": 0.75}
        low, high = bootstrap_ci("toy-hits", [1, 0, 1, 1], [1, 1, 1, 1], "hits", n_resamples=50)
        assert 0.0 <= low <= 0.75 <= high <= 1.0
    finally:
        unregister_metric("toy-hits")
    assert "toy-hits" not in metric_names()


def test_misspelt_metric_gets_a_suggestion():
    from tasks.metrics import bootstrap_ci, compute

    with pytest.raises(ValueError, match="did you mean 'seqeval'"):
        compute("seqevl", [1], [1])
    with pytest.raises(ValueError, match="did you mean 'regression'"):
        bootstrap_ci("regresion", [1.0], [1.0], "mse")


# -- formats ----------------------------------------------------------------------------------------
class _EchoPredictor:
    """A toy predictor: returns its input ids as "logits"."""

    input_names = ["input_ids"]

    def __init__(self, model_dir, fmt, device, threads):
        self.fmt, self.model_dir = fmt, model_dir

    def forward(self, batch):
        return {"logits": batch["input_ids"].astype(np.float32)}


def test_format_registry_lists_the_builtin_formats():
    from harness.backends import format_names

    assert format_names() == ("pytorch", "onnx", "onnx-int8", "onnx-int8-static")


def test_misspelt_format_gets_a_suggestion(tmp_path):
    from harness.backends import load_predictor

    with pytest.raises(ModelError) as err:
        load_predictor(tmp_path, "onx")
    assert "unknown format 'onx' (did you mean 'onnx'?)" in str(err.value)
    assert "allowed values: pytorch, onnx, onnx-int8, onnx-int8-static" in str(err.value)


def test_a_registered_format_is_loaded_through_load_predictor(tmp_path):
    from harness.backends import format_names, load_predictor, register_format, unregister_format

    register_format("echo", encoder=_EchoPredictor)
    try:
        assert format_names()[-1] == "echo"
        predictor = load_predictor(tmp_path, "echo", threads=1)
        assert isinstance(predictor, _EchoPredictor) and predictor.fmt == "echo"
        out = predictor.forward({"input_ids": np.array([[1, 2]])})
        assert out["logits"].tolist() == [[1.0, 2.0]]
        # A generation folder needs a generation loader, which "echo" does not have.
        (tmp_path / "config.json").write_text('{"is_encoder_decoder": true}')
        with pytest.raises(ModelError, match="cannot run generation models"):
            load_predictor(tmp_path, "echo")
    finally:
        unregister_format("echo")
    assert "echo" not in format_names()


def test_predictor_protocol_lives_in_tasks_and_stays_importable_from_harness():
    from harness import backends
    from tasks.kinds.predictor import Predictor

    assert backends.Predictor is Predictor


def test_the_suite_formats_and_the_predictor_registry_agree():
    """Suites are validated without importing the harness, so the format names a suite may list are declared in
    tasks/spec.py; every one of them needs a predictor loader in harness/backends.py, and no loader is orphaned."""
    from harness.backends import format_names
    from tasks.spec import FORMATS

    assert set(format_names()) == set(FORMATS)
