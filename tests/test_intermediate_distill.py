"""Intermediate-layer distillation in a run: layer maps, the pre-flight checks, and the terms in the log and record.

The loss terms themselves are tested against hand-computed values in tests/test_intermediate_losses.py.
"""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.intermediate import INTERMEDIATE_TERMS, check_intermediate, resolve_layer_map
from tasks.errors import ConfigError
from tasks.kinds import get_kind
from tasks.spec import DistillationConfig
from tests.tiny_models import save_tiny_model

TASK = """
name: tiny-inter
kind: classification
data: {{source: builtin, generator: sentiment, train_size: 64, eval_size: 16, seed: 1}}
columns: {{text: text, label: label}}
labels: [negative, positive]
max_length: 32
primary_metric: accuracy
training: {{epochs: 1, learning_rate: 1.0e-4, batch_size: 16}}
distillation: {distillation}
"""
SUITE = """
name: tiny-inter
tasks: [{task}]
students: ["layers=1"]
formats: [pytorch]
measure: {{batch_sizes: [1], warmup: 1, min_iterations: 2, min_seconds: 0.01, threads: 1}}
"""
ALL_TERMS = "{epochs: 1, weights: {hard_ce: 0.5, kd_kl: 0.5, hidden_mse: 1.0, attention_kl: 1.0, relation_kl: 1.0}}"


def _run(tmp_path, distillation: str) -> int:
    teacher = save_tiny_model(tmp_path / "pretrained", layers=2)
    task = tmp_path / "tiny-inter.yaml"
    task.write_text(TASK.format(distillation=distillation))
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(task=task))
    return main(["run", "--suite", str(suite), "--teacher", str(teacher), "--quiet", "--bootstrap", "20",
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "run")])


def test_layer_maps():
    assert resolve_layer_map("uniform", 3, 6) == {0: 1, 1: 3, 2: 5}  # TinyBERT's g(m) = 2m, 1-based
    assert resolve_layer_map("uniform", 4, 12) == {0: 2, 1: 5, 2: 8, 3: 11}
    assert resolve_layer_map("last", 3, 6) == {2: 5}
    assert resolve_layer_map("last-2", 3, 6) == {1: 4, 2: 5}
    assert resolve_layer_map({0: 0, 2: 4}, 3, 6) == {0: 0, 2: 4}
    with pytest.raises(ConfigError, match=r"'distillation.layer_map': student layer 3 does not exist .*0-2"):
        resolve_layer_map({3: 1}, 3, 6)
    with pytest.raises(ConfigError, match=r"'distillation.layer_map': teacher layer 6 does not exist .*0-5"):
        resolve_layer_map({0: 6}, 3, 6)
    with pytest.raises(ConfigError, match="'last-4' needs 4 layers, but the student has 3"):
        resolve_layer_map("last-4", 3, 6)
    with pytest.raises(ValueError, match="'first' is not a layer map"):
        DistillationConfig(layer_map="first")


def test_configuration_checks_name_the_field():
    from types import SimpleNamespace

    teacher = SimpleNamespace(num_hidden_layers=6, num_attention_heads=12, hidden_size=384)
    narrow = SimpleNamespace(num_hidden_layers=4, num_attention_heads=4, hidden_size=256)
    with pytest.raises(ConfigError, match="attention_kl compares attention maps head by head.*4 heads and the teacher 12"):
        check_intermediate({"attention_kl": 1.0}, DistillationConfig(), teacher, narrow)
    with pytest.raises(ConfigError, match="'distillation.relation_heads': 12 relation heads do not divide the "
                                          "student's hidden size 256"):
        check_intermediate({"relation_kl": 1.0}, DistillationConfig(), teacher, narrow)
    check_intermediate({"relation_kl": 1.0, "hidden_mse": 1.0}, DistillationConfig(relation_heads=8), teacher, narrow)
    check_intermediate({"attention_kl": 0.0}, DistillationConfig(layer_map={9: 9}), teacher, narrow)  # unused: fine


def test_every_encoder_kind_accepts_the_terms_and_generation_refuses_them():
    for name in ("classification", "similarity", "ner", "qa"):
        assert get_kind(name).intermediate_terms == INTERMEDIATE_TERMS
    assert get_kind("generation").intermediate_terms == ()


def test_a_run_records_each_term_and_saves_no_projection(tmp_path):
    assert _run(tmp_path, ALL_TERMS) == 0
    records = json.loads((tmp_path / "run" / "results.json").read_text())["records"]
    student = next(r for r in records if r["role"] == "student")
    terms = student["train"]["loss_terms"]
    assert set(terms) == {"hard_ce", "kd_kl", *INTERMEDIATE_TERMS}
    assert all(value >= 0 for value in terms.values())
    teacher = next(r for r in records if r["role"] == "teacher")
    assert "loss_terms" not in teacher["train"]  # fine-tuning has one loss
    log = (tmp_path / "run" / "run.log").read_text()
    assert "term_hidden_mse" in log and "term_relation_kl" in log
    from safetensors import safe_open

    (weights,) = (tmp_path / "cache" / "distill").glob("*/model.safetensors")
    with safe_open(str(weights), "pt") as handle:
        assert not [key for key in handle.keys() if "distillation_projections" in key]


def test_a_layer_map_beyond_the_student_fails_before_training(tmp_path, capsys):
    code = _run(tmp_path, "{weights: {hard_ce: 1.0, hidden_mse: 1.0}, layer_map: {1: 0}}")
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "distillation.layer_map" in err and "student layer 1 does not exist" in err and "\n" not in err
    assert not (tmp_path / "cache" / "finetune").exists()  # nothing was trained
