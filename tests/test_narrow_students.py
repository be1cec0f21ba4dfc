"""``narrow=LxH[xA]`` students: parsing, the narrow configuration and its one-line errors, the projected
embeddings, and a distillation run with the width-crossing terms (hidden_mse's projection, relation_kl)."""

from __future__ import annotations

import json

import pytest
import torch
import transformers

from harness.cli import main
from harness.narrow_students import build_narrow_student, embedding_projection, narrow_config
from harness.students import parse_student
from tasks.errors import ConfigError
from tests.test_intermediate_distill import TASK
from tests.tiny_models import save_tiny_model

# the tiny classification task of the intermediate-term tests: 64 training examples, a distillation block to fill
SUITE = """
name: tiny-narrow
tasks: [{task}]
students: ["{student}"]
formats: [pytorch]
measure: {{batch_sizes: [1], warmup: 1, min_iterations: 2, min_seconds: 0.01, threads: 1}}
"""


def teacher_config(**overrides) -> transformers.BertConfig:
    settings = {"hidden_size": 16, "num_attention_heads": 2, "num_hidden_layers": 4, "intermediate_size": 64,
                "vocab_size": 50}
    return transformers.BertConfig(**{**settings, **overrides})


def test_the_spec_parses_into_depth_width_and_heads():
    spec = parse_student("narrow=4x192")
    assert (spec.layer_count, spec.hidden, spec.heads, spec.label) == (4, 192, None, "narrow4x192")
    spec = parse_student("narrow=2x96x3")
    assert (spec.layer_count, spec.hidden, spec.heads, spec.label) == (2, 96, 3, "narrow2x96x3")


@pytest.mark.parametrize("value", ["4", "4x", "0x192", "4x0", "4x192x0", "4x192x3x1", "ax192", "4 x 192"])
def test_a_bad_spec_names_the_student(value):
    with pytest.raises(ConfigError, match=rf"student 'narrow={value}': expected 'narrow=LAYERSxHIDDEN'"):
        parse_student(f"narrow={value}")


def test_the_configuration_scales_width_heads_and_feed_forward():
    config = narrow_config(teacher_config(), "narrow=2x8", 2, 8, None)
    # the teacher's heads are 8 wide: a width of 8 gets one head; the feed-forward keeps the teacher's 4x
    assert (config.hidden_size, config.num_attention_heads, config.num_hidden_layers, config.intermediate_size) \
        == (8, 1, 2, 32)
    assert config.vocab_size == 50 and teacher_config().hidden_size == 16  # the teacher's is left alone
    assert narrow_config(teacher_config(), "narrow=2x8x4", 2, 8, 4).num_attention_heads == 4


@pytest.mark.parametrize(("config", "args", "message"), [
    (teacher_config(), (2, 32, None), "width 32 is wider than the teacher's 16"),
    (teacher_config(), (5, 8, None), "5 layers, but the teacher has only 4"),
    (teacher_config(), (2, 8, 3), "3 attention heads do not divide the width 8"),
    (transformers.LlamaConfig(hidden_size=16, num_attention_heads=2, num_hidden_layers=2, intermediate_size=32),
     (1, 8, None), "narrow students are built for encoder teachers"),
    (transformers.EncoderDecoderConfig.from_encoder_decoder_configs(teacher_config(), teacher_config()),
     (1, 8, None), "narrow students are built for encoder teachers"),
])
def test_a_student_that_does_not_fit_is_a_one_line_error(config, args, message):
    with pytest.raises(ConfigError) as error:
        narrow_config(config, "narrow=x", *args)
    assert message in str(error.value) and "'narrow=x'" in str(error.value) and "\n" not in str(error.value)


def test_the_student_has_the_teachers_head_and_its_projected_embeddings():
    torch.manual_seed(0)
    teacher = transformers.BertForSequenceClassification(teacher_config(num_labels=3)).eval()
    student = build_narrow_student(teacher, parse_student("narrow=2x8")).eval()
    assert type(student) is type(teacher) and student.config.num_labels == 3
    assert sum(p.numel() for p in student.parameters()) < sum(p.numel() for p in teacher.parameters()) / 3
    projection = embedding_projection(teacher.get_input_embeddings().weight, 8)
    assert projection.shape == (16, 8)
    torch.testing.assert_close(projection.T @ projection, torch.eye(8), atol=1e-5, rtol=0)  # orthonormal columns
    for name in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        expected = getattr(teacher.bert.embeddings, name).weight @ projection
        torch.testing.assert_close(getattr(student.bert.embeddings, name).weight, expected)
    # the first principal direction keeps the most of the word table's spread
    centred = teacher.get_input_embeddings().weight - teacher.get_input_embeddings().weight.mean(0)
    spread = (centred @ projection).var(0)
    assert spread[0] >= spread[-1]
    logits = student(input_ids=torch.tensor([[2, 7, 9, 3]])).logits
    assert logits.shape == (1, 3) and torch.isfinite(logits).all()


def _run(tmp_path, student: str, distillation: str, tasks: str | None = None) -> int:
    teacher = save_tiny_model(tmp_path / "pretrained", layers=2)
    task = tmp_path / "tiny-inter.yaml"
    task.write_text(TASK.format(distillation=distillation))
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(task=task, student=student))
    extra = ["--tasks", tasks] if tasks else []
    return main(["run", "--suite", str(suite), "--teacher", str(teacher), "--quiet", "--bootstrap", "20",
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "run"), *extra])


def test_a_narrow_student_learns_through_the_projected_hidden_states_and_relations(tmp_path):
    distillation = "{epochs: 1, weights: {hard_ce: 0.5, kd_kl: 0.5, hidden_mse: 1.0, relation_kl: 1.0}}"
    assert _run(tmp_path, "narrow=1x8", distillation) == 0
    records = json.loads((tmp_path / "run" / "results.json").read_text())["records"]
    student = next(r for r in records if r["role"] == "student")
    teacher = next(r for r in records if r["role"] == "teacher")
    assert student["status"] == "ok" and student["model"].endswith("narrow1x8")
    assert student["params"] < teacher["params"]
    assert set(student["train"]["loss_terms"]) == {"hard_ce", "kd_kl", "hidden_mse", "relation_kl"}
    (saved,) = (tmp_path / "cache" / "distill").glob("*/config.json")
    config = json.loads(saved.read_text())
    assert (config["hidden_size"], config["num_attention_heads"], config["num_hidden_layers"]) == (8, 1, 1)


@pytest.mark.parametrize(("student", "distillation", "tasks", "message"), [
    # attention maps are compared head by head: 1 head against the teacher's 2
    ("narrow=1x8", "{weights: {hard_ce: 1.0, attention_kl: 1.0}}", None, "attention_kl compares attention maps"),
    ("narrow=1x32", "{epochs: 1}", None, "width 32 is wider than the teacher's 16"),
    ("narrow=1x8", "{epochs: 1}", "generation", "kind 'generation' builds its own"),
])
def test_a_student_that_cannot_be_built_fails_before_training(tmp_path, capsys, student, distillation, tasks,
                                                               message):
    assert _run(tmp_path, student, distillation, tasks) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not (tmp_path / "cache" / "finetune").exists()  # nothing was trained
