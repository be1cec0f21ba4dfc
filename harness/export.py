"""ONNX export through optimum and dynamic int8 quantization through onnxruntime.

Each format lives in its own folder holding ``model.onnx`` plus the config and tokenizer files,
so any format folder can be loaded on its own.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import warnings
from pathlib import Path

from harness.backends import ONNX_FILE
from tasks.errors import ModelError

_SIDE_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "generation_config.json",
)


@contextlib.contextmanager
def _quiet():
    """Silence the exporter's expected warnings (tracer warnings, opset notes) but keep errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                yield
        finally:
            logging.disable(previous)


def export_onnx(model_dir: Path, out_dir: Path, onnx_task: str) -> Path:
    """Export a transformers model folder to ``out_dir/model.onnx`` with optimum.

    ``library_name="transformers"`` is required: without it optimum detects a sentence-transformers
    folder (modules.json) and refuses token-classification and QA tasks.
    """
    from optimum.exporters.onnx import main_export

    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with _quiet():
            main_export(
                str(model_dir), output=str(out_dir), task=onnx_task, library_name="transformers", do_validation=False
            )
    except (ValueError, KeyError, NotImplementedError) as exc:
        raise ModelError(f"{model_dir}: ONNX export as {onnx_task!r} is not supported: {exc}") from None
    path = out_dir / ONNX_FILE
    if not path.is_file():
        raise ModelError(f"{out_dir}: the exporter wrote no {ONNX_FILE}")
    return path


def quantize_dynamic_int8(onnx_dir: Path, out_dir: Path, cpu_flags: list[str]) -> Path:
    """Dynamic int8 quantization of ``onnx_dir/model.onnx`` into ``out_dir/model.onnx``.

    Weights u8, activations u8 (optimum's AVX2 config) on CPUs without VNNI: the ORT docs warn that
    u8s8 can saturate there. With AVX512-VNNI, the VNNI config (u8/s8) is used.
    """
    from optimum.onnxruntime import ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    vnni = "avx512_vnni" in cpu_flags or "avx_vnni" in cpu_flags
    make_config = AutoQuantizationConfig.avx512_vnni if vnni else AutoQuantizationConfig.avx2
    qconfig = make_config(is_static=False, per_channel=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _quiet():
        quantizer = ORTQuantizer.from_pretrained(str(onnx_dir), file_name=ONNX_FILE)
        quantizer.quantize(save_dir=str(out_dir), quantization_config=qconfig)
    written = sorted(out_dir.glob("*quantized*.onnx"))
    if not written:
        raise ModelError(f"{out_dir}: quantization wrote no model")
    written[0].replace(out_dir / ONNX_FILE)
    copy_side_files(onnx_dir, out_dir)
    return out_dir / ONNX_FILE


def copy_side_files(src: Path, dst: Path) -> None:
    """Copy config and tokenizer files so a format folder stands on its own."""
    for name in _SIDE_FILES:
        if (src / name).is_file() and not (dst / name).exists():
            shutil.copy2(src / name, dst / name)


def folder_size_mb(folder: Path, pattern: str) -> float:
    """Size on disk of the weight files of a format folder."""
    return sum(p.stat().st_size for p in folder.glob(pattern)) / 1e6
