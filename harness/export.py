"""ONNX export through optimum and dynamic int8 quantization through onnxruntime (static int8: harness.quantize).

Each format lives in its own folder holding ``model.onnx`` plus the config and tokenizer files,
so any format folder can be loaded on its own. Generation models export to several files instead
(``encoder_model.onnx`` + ``decoder_model.onnx`` for BERT2BERT, or an encoder plus a merged decoder with
a KV cache for T5/BART); every ``.onnx`` file of a folder is quantized on its own.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import warnings
from collections.abc import Iterable, Sequence
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
def quiet():
    """Silence the exporter's and quantizer's expected warnings (tracer warnings, opset notes) but keep errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                yield
        finally:
            logging.disable(previous)


def onnx_files(folder: Path) -> list[Path]:
    """The ONNX model files of a format folder, sorted by name."""
    return sorted(p for p in Path(folder).glob("*.onnx") if p.is_file())


def _main_file(folder: Path, files: list[Path]) -> Path:
    for name in (ONNX_FILE, "encoder_model.onnx"):
        if (folder / name).is_file():
            return folder / name
    return files[0]


# A merged decoder (one graph with and without the KV cache) replaces these two; optimum loads the merged one.
_SUPERSEDED_BY_MERGED = ("decoder_model.onnx", "decoder_with_past_model.onnx")


def export_onnx(model_dir: Path, out_dir: Path, onnx_task: str) -> Path:
    """Export a transformers model folder to ONNX in ``out_dir`` with optimum; returns the main file.

    The main file is ``model.onnx`` for single-graph exports and ``encoder_model.onnx`` for encoder-decoders.
    When optimum writes a merged decoder, the separate decoders it replaces are removed, so that the folder
    holds (and its size counts) only what is loaded.

    ``library_name="transformers"`` is required: without it optimum detects a sentence-transformers
    folder (modules.json) and refuses token-classification and QA tasks.
    """
    from optimum.exporters.onnx import main_export

    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with quiet():
            main_export(
                str(model_dir), output=str(out_dir), task=onnx_task, library_name="transformers", do_validation=False
            )
    except (ValueError, KeyError, NotImplementedError) as exc:
        raise ModelError(f"{model_dir}: ONNX export as {onnx_task!r} is not supported: {exc}") from None
    files = onnx_files(out_dir)
    if not files:
        raise ModelError(f"{out_dir}: the exporter wrote no ONNX file")
    if (out_dir / "decoder_model_merged.onnx").is_file():
        for name in _SUPERSEDED_BY_MERGED:
            (out_dir / name).unlink(missing_ok=True)
        files = onnx_files(out_dir)
    return _main_file(out_dir, files)


# Per-channel weight scales: one scale per output row instead of one per matrix. Per-tensor scales lost
# 3.2 F1 points on the built-in QA student (span heads read small logit differences); per-channel costs
# nothing at inference on ORT's dynamic MatMulInteger path.
INT8_PER_CHANNEL = True
# Task heads (and BERT's pooler) stay in fp32: they are a tiny share of the weights, and their outputs are
# the predictions themselves, so their rounding error is not averaged away by later layers.
INT8_FP32_HEADS = ("/pooler/", "/classifier/", "/qa_outputs/", "/score/")


def head_nodes(onnx_file: Path) -> list[str]:
    """Names of the MatMul/Gemm nodes of ``onnx_file`` that belong to a task head (kept fp32)."""
    import onnx

    graph = onnx.load(str(onnx_file), load_external_data=False).graph
    names = []
    for node in graph.node:
        if node.op_type in ("MatMul", "Gemm") and any(part in node.name for part in INT8_FP32_HEADS):
            names.append(node.name)
            if node.op_type == "Gemm":  # onnxruntime's quantizer first splits a Gemm into <name>_MatMul + Add
                names.append(f"{node.name}_MatMul")
    return names


def quantize_dynamic_int8(
    onnx_dir: Path, out_dir: Path, cpu_flags: Iterable[str] | None, keep_fp32: Sequence[str] = ()
) -> Path:
    """Dynamic int8 quantization of every ``.onnx`` file of ``onnx_dir`` into ``out_dir`` (same file names).

    Weights u8, activations u8 (optimum's AVX2 config) on CPUs without VNNI: the ORT docs warn that
    u8s8 can saturate there. With AVX512-VNNI, the VNNI config (u8/s8) is used. Weight scales are
    per channel (``INT8_PER_CHANNEL``); task heads stay fp32 (``INT8_FP32_HEADS``), and so do the nodes
    named in ``keep_fp32`` (an accuracy-aware quantization's choice). Returns the main file.
    """
    from optimum.onnxruntime import ORTQuantizer
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    flags = set(cpu_flags or ())
    vnni = "avx512_vnni" in flags or "avx_vnni" in flags
    make_config = AutoQuantizationConfig.avx512_vnni if vnni else AutoQuantizationConfig.avx2
    files = onnx_files(onnx_dir)
    if not files:
        raise ModelError(f"{onnx_dir}: no ONNX file to quantize")
    out_dir.mkdir(parents=True, exist_ok=True)
    for source in files:
        keep = [*head_nodes(source), *keep_fp32]
        qconfig = make_config(is_static=False, per_channel=INT8_PER_CHANNEL, nodes_to_exclude=keep)
        with quiet():
            # One quantizer per file: optimum's ORTQuantizer does not quantize multi-file models at once.
            quantizer = ORTQuantizer.from_pretrained(str(onnx_dir), file_name=source.name)
            quantizer.quantize(save_dir=str(out_dir), quantization_config=qconfig)
        written = out_dir / f"{source.stem}_quantized.onnx"
        if not written.is_file():
            raise ModelError(f"{out_dir}: quantization of {source.name} wrote no {written.name}")
        written.replace(out_dir / source.name)
    copy_side_files(onnx_dir, out_dir)
    return _main_file(out_dir, onnx_files(out_dir))


def copy_side_files(src: Path, dst: Path) -> None:
    """Copy config and tokenizer files so a format folder stands on its own."""
    for name in _SIDE_FILES:
        if (src / name).is_file() and not (dst / name).exists():
            shutil.copy2(src / name, dst / name)


def folder_size_mb(folder: Path, pattern: str) -> float:
    """Size on disk of the weight files of a format folder."""
    return sum(p.stat().st_size for p in folder.glob(pattern)) / 1e6
