"""PyTorch and ONNX Runtime behind one predict interface.

A predictor takes a batch of tokenized inputs as numpy arrays and returns the model's named
outputs (``logits``, ``start_logits``...) as numpy arrays. Evaluation and latency measurement use
the same predictors, so a metric and a latency always describe the same code path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from tasks.errors import ModelError

ONNX_FILE = "model.onnx"


class Predictor(Protocol):
    """What evaluation and measurement need from a loaded model."""

    fmt: str
    input_names: list[str]

    def forward(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the model on one batch; returns named output arrays."""
        ...


def _select_inputs(batch: dict[str, np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
    return {name: batch[name] for name in names if name in batch}


class TorchPredictor:
    """A transformers model folder run in PyTorch (inference mode)."""

    fmt = "pytorch"

    def __init__(self, model_dir: str | Path, device: str = "cpu", threads: int | None = None) -> None:
        import torch
        import transformers

        if threads:
            torch.set_num_threads(threads)
        config = transformers.AutoConfig.from_pretrained(model_dir)
        architecture = (config.architectures or [None])[0]
        # Only classes that transformers itself defines: never code from the model folder.
        model_class = getattr(transformers, architecture or "", None)
        if model_class is None:
            raise ModelError(f"{model_dir}: config.json names no transformers architecture ({architecture!r})")
        self.model = model_class.from_pretrained(model_dir).to(device).eval()
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


def load_predictor(model_dir: str | Path, fmt: str, device: str = "cpu", threads: int | None = None) -> Predictor:
    """Load the model stored in ``model_dir`` in format ``fmt`` (pytorch, onnx or onnx-int8)."""
    if fmt == "pytorch":
        return TorchPredictor(model_dir, device=device, threads=threads)
    if fmt in ("onnx", "onnx-int8"):
        return OnnxPredictor(model_dir, fmt=fmt, device=device, threads=threads)
    raise ModelError(f"unknown format {fmt!r}; allowed values: pytorch, onnx, onnx-int8")
