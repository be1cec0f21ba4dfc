"""PyTorch and ONNX Runtime behind one predict interface.

A predictor takes a batch of tokenized inputs as numpy arrays and returns the model's named
outputs (``logits``, ``start_logits``...) as numpy arrays; generation models return the token ids of
their greedy decoding (``sequences``). Evaluation and latency measurement use
the same predictors, so a metric and a latency always describe the same code path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tasks.errors import ModelError, unknown_name_error
from tasks.kinds.generation.decoding import greedy_new_tokens
from tasks.kinds.generation.families import CAUSAL, SEQ2SEQ, declared_family

# The protocol lives with the task kinds, which evaluate through it; re-exported here for the harness.
from tasks.kinds.predictor import Predictor  # noqa: F401

ONNX_FILE = "model.onnx"


def _select_inputs(batch: dict[str, np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
    """The model's inputs from ``batch``. A ``token_type_ids`` input the tokenizer does not produce (a BERT student
    read through an MPNet teacher's tokenizer, ``remapped=``) is all zeros, as transformers' BERT defaults it."""
    selected = {name: batch[name] for name in names if name in batch}
    if "token_type_ids" in names and "token_type_ids" not in batch and "input_ids" in batch:
        selected["token_type_ids"] = np.zeros_like(batch["input_ids"])
    return selected


class TorchPredictor:
    """A transformers model folder run in PyTorch (inference mode)."""

    fmt = "pytorch"

    def __init__(self, model_dir: str | Path, device: str = "cpu", threads: int | None = None) -> None:
        import torch

        from harness.models import load_saved_model

        if threads:
            torch.set_num_threads(threads)
        self.model = load_saved_model(model_dir).to(device).eval()
        self.device = device
        self._torch = torch
        forward_args = self.model.forward.__code__.co_varnames
        self.input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in forward_args]

    def forward(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        torch = self._torch
        tensors = {k: torch.from_numpy(v).to(self.device) for k, v in _select_inputs(batch, self.input_names).items()}
        with torch.inference_mode():
            output = self.model(**tensors)
        return {
            key: value.float().cpu().numpy()
            for key, value in output.items()
            if isinstance(value, torch.Tensor) and key != "loss"
        }


def onnx_providers(device: str) -> list[str]:
    """Execution providers for a device; asking for CUDA without it is an error, never a silent fallback."""
    import onnxruntime as ort

    if device == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ModelError(
                "--device cuda: onnxruntime has no CUDAExecutionProvider (install the 'gpu' extra: onnxruntime-gpu)"
            )
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def onnx_session_options(threads: int | None):
    """Session options used everywhere (evaluation, measurement, calibration), so they always match."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


class OnnxPredictor:
    """An ONNX file run through a bare ``onnxruntime.InferenceSession``."""

    def __init__(self, model_dir: str | Path, fmt: str = "onnx", device: str = "cpu", threads: int | None = None):
        import onnxruntime as ort

        path = Path(model_dir) / ONNX_FILE
        if not path.is_file():
            raise ModelError(f"{path}: ONNX model not found")
        self.fmt = fmt
        self.session = ort.InferenceSession(
            str(path), sess_options=onnx_session_options(threads), providers=onnx_providers(device)
        )
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def forward(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        inputs = {k: np.ascontiguousarray(v, dtype=np.int64) for k, v in _select_inputs(batch, self.input_names).items()}
        outputs = self.session.run(self.output_names, inputs)
        return dict(zip(self.output_names, outputs, strict=True))


# -- generation --------------------------------------------------------------------------------
# Folders of generation models: the harness tells them apart from encoder heads by their files and config,
# so that evaluation and the latency worker load them without being told the task kind.
ONNX_ENCODER_FILE = "encoder_model.onnx"
ONNX_MERGED_DECODER_FILE = "decoder_model_merged.onnx"
ONNX_DECODER_WITH_PAST_FILE = "decoder_with_past_model.onnx"
DEFAULT_MAX_NEW_TOKENS = 32


def _config_dict(model_dir: str | Path) -> dict:
    try:
        return json.loads((Path(model_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return {}


def generation_family(model_dir: str | Path) -> str | None:
    """``"seq2seq"`` or ``"causal"`` for a folder holding a generation model (any format), else None.

    Seq2seq: an ONNX encoder file, or ``is_encoder_decoder`` in config.json (BERT2BERT, T5, BART); causal: a
    ``*ForCausalLM`` / ``*LMHeadModel`` architecture (GPT-2 and the like).
    """
    if (Path(model_dir) / ONNX_ENCODER_FILE).is_file():
        return SEQ2SEQ
    return declared_family(_config_dict(model_dir))


class _GreedyGeneration:
    """Greedy decoding of a batch, shared by the PyTorch and ONNX Runtime generation predictors.

    ``forward`` returns ``{"sequences": int64 (batch, new tokens)}``: only the generated tokens (no decoder
    start token, no prompt), sequences that ended early padded with the pad id. ``last_generated_tokens`` is
    the number of decoding steps of the last call (the latency worker reports ``ms_per_token`` from it).
    """

    input_names = ["input_ids", "attention_mask"]
    last_generated_tokens: int | None = None

    def _read_generation_settings(self, model_dir: str | Path, family: str) -> None:
        from transformers import GenerationConfig

        try:
            settings = GenerationConfig.from_pretrained(model_dir)
        except OSError:
            settings = GenerationConfig()
        config = _config_dict(model_dir)
        self.family = family
        self.max_new_tokens = int(settings.max_new_tokens or DEFAULT_MAX_NEW_TOKENS)
        eos = settings.eos_token_id if settings.eos_token_id is not None else config.get("eos_token_id")
        eos = eos[0] if isinstance(eos, list) else eos
        pad = settings.pad_token_id if settings.pad_token_id is not None else config.get("pad_token_id")
        self.pad_id = int(pad if pad is not None else (eos or 0))

    def _generate(self, batch: dict[str, np.ndarray], model: Any, device: Any) -> dict[str, np.ndarray]:
        input_ids = np.asarray(batch["input_ids"], dtype=np.int64)
        mask = np.asarray(batch.get("attention_mask", np.ones_like(input_ids)), dtype=np.int64)
        new = greedy_new_tokens(
            model, input_ids, mask, causal=self.family == CAUSAL, pad_id=self.pad_id,
            max_new_tokens=self.max_new_tokens, device=device,
        )
        self.last_generated_tokens = int(new.shape[1])
        return {"sequences": new}


class TorchGenerationPredictor(_GreedyGeneration, TorchPredictor):
    """A transformers generation model (encoder-decoder or causal LM) decoding greedily in PyTorch."""

    def __init__(self, model_dir: str | Path, device: str = "cpu", threads: int | None = None) -> None:
        family = generation_family(model_dir)
        if family is None:
            raise ModelError(f"{model_dir}: not a generation model folder")
        TorchPredictor.__init__(self, model_dir, device=device, threads=threads)
        self.input_names = ["input_ids", "attention_mask"]
        self._read_generation_settings(model_dir, family)

    def forward(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self._generate(batch, self.model, self.device)


def import_onnx_generation_classes() -> tuple[type, type]:
    """optimum's ``(ORTModelForSeq2SeqLM, ORTModelForCausalLM)``.

    ``import optimum.onnxruntime`` is lazy: the first use of these names imports optimum's decoder modules,
    transformers' generation utilities and scikit-learn, about 4 s on 2 cores. A measurement server calls
    this once before it forks, so that no record counts that import in its ``load_s``."""
    from optimum.onnxruntime import ORTModelForCausalLM, ORTModelForSeq2SeqLM

    return ORTModelForSeq2SeqLM, ORTModelForCausalLM


class OnnxGenerationPredictor(_GreedyGeneration):
    """An exported generation model run by optimum's ONNX Runtime classes, decoding greedily.

    Encoder-decoders load with ``ORTModelForSeq2SeqLM``, with the KV cache when the export has one (T5/BART)
    and without it otherwise (a BERT decoder has none); causal LMs with ``ORTModelForCausalLM`` and the cache.
    The sessions get :func:`onnx_session_options`, as every other ONNX predictor.
    """

    def __init__(self, model_dir: str | Path, fmt: str = "onnx", device: str = "cpu", threads: int | None = None):
        import torch

        ORTModelForSeq2SeqLM, ORTModelForCausalLM = import_onnx_generation_classes()  # noqa: N806
        family = generation_family(model_dir)
        if family is None:
            raise ModelError(f"{model_dir}: not a generation model folder")
        if not any(Path(model_dir).glob("*.onnx")):
            raise ModelError(f"{model_dir}: no ONNX model files found")
        if threads:
            torch.set_num_threads(threads)  # the decoding loop itself runs in torch
        self.fmt = fmt
        options = {"session_options": onnx_session_options(threads), "providers": onnx_providers(device)}
        files = {path.name for path in Path(model_dir).glob("*.onnx")}
        try:
            if family == SEQ2SEQ:
                merged = ONNX_MERGED_DECODER_FILE in files
                with_past = merged or ONNX_DECODER_WITH_PAST_FILE in files
                self.model = ORTModelForSeq2SeqLM.from_pretrained(
                    str(model_dir), use_cache=with_past, use_merged=merged, **options
                )
            else:
                self.model = ORTModelForCausalLM.from_pretrained(str(model_dir), use_cache=True, **options)
        except (OSError, ValueError) as exc:
            raise ModelError(f"{model_dir}: cannot load the ONNX generation model: {exc}") from None
        self._read_generation_settings(model_dir, family)

    def forward(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self._generate(batch, self.model, self.model.device)


# -- formats ------------------------------------------------------------------------------------
#: A predictor loader: ``loader(model_dir, fmt=..., device=..., threads=...)``.
PredictorLoader = Callable[..., Predictor]


@dataclass(frozen=True)
class FormatLoaders:
    """How one format loads a model folder: an encoder head, and a generation model (None: not supported)."""

    encoder: PredictorLoader
    generation: PredictorLoader | None = None


_FORMATS: dict[str, FormatLoaders] = {}


def register_format(name: str, encoder: PredictorLoader, generation: PredictorLoader | None = None) -> None:
    """Make format ``name`` loadable by :func:`load_predictor`.

    Each loader is called as ``loader(model_dir, fmt=name, device=device, threads=threads)`` and returns a
    :class:`Predictor`; ``generation`` loads the folders :func:`generation_family` recognises (greedy decoding).
    """
    if name in _FORMATS and _FORMATS[name] != FormatLoaders(encoder, generation):
        raise ValueError(f"format {name!r} is registered twice")
    _FORMATS[name] = FormatLoaders(encoder, generation)


def unregister_format(name: str) -> None:
    """Forget format ``name`` (tests that register a toy format clean up with this)."""
    _FORMATS.pop(name, None)


def format_names() -> tuple[str, ...]:
    """The registered formats, in registration order."""
    return tuple(_FORMATS)


def format_loaders(fmt: str) -> FormatLoaders:
    """The loaders of format ``fmt``; an unknown format is a :class:`ModelError` with a "did you mean" hint."""
    if not isinstance(fmt, str) or fmt not in _FORMATS:
        raise unknown_name_error("format", fmt, format_names(), error=ModelError)
    return _FORMATS[fmt]


def _torch(model_dir: str | Path, fmt: str, device: str, threads: int | None) -> Predictor:
    return TorchPredictor(model_dir, device=device, threads=threads)


def _torch_generation(model_dir: str | Path, fmt: str, device: str, threads: int | None) -> Predictor:
    return TorchGenerationPredictor(model_dir, device=device, threads=threads)


register_format("pytorch", encoder=_torch, generation=_torch_generation)
register_format("onnx", encoder=OnnxPredictor, generation=OnnxGenerationPredictor)
register_format("onnx-int8", encoder=OnnxPredictor, generation=OnnxGenerationPredictor)
# Static int8 is made for single-graph models only (harness/quantize.py): no generation loader.
register_format("onnx-int8-static", encoder=OnnxPredictor)


def load_predictor(model_dir: str | Path, fmt: str, device: str = "cpu", threads: int | None = None) -> Predictor:
    """Load the model stored in ``model_dir`` in format ``fmt`` (one of :func:`format_names`: pytorch, onnx,
    onnx-int8, onnx-int8-static).

    Generation models (see :func:`generation_family`) get a predictor whose ``forward`` decodes greedily.
    """
    generation = generation_family(model_dir) is not None
    loaders = format_loaders(fmt)
    loader = loaders.generation if generation else loaders.encoder
    if loader is None:
        raise ModelError(f"{model_dir}: format {fmt!r} cannot run generation models")
    return loader(model_dir, fmt=fmt, device=device, threads=threads)
