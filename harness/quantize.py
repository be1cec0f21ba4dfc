"""Static int8 quantization (QDQ, calibrated on training inputs) through onnxruntime, and the per-node error
estimate an accuracy-aware quantization ranks MatMul/Gemm nodes by.

Static int8 is made for single-graph models (``model.onnx``) only. A generation model exports several graphs
(an encoder, and a decoder fed by the decoding loop and its KV cache): their calibration inputs exist only
while decoding, which ``quantize_static``'s data reader does not run, so the static format of a generation
model is a failed record whose reason says so (the dynamic ``onnx-int8`` quantizes them).

Each int8 format folder holds a ``quantization.json`` saying how it was made; :mod:`harness.records` copies
it into ``record.quantization``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from harness.backends import ONNX_FILE
from tasks.errors import ModelError

#: The int8 formats and their method.
INT8_METHODS = {"onnx-int8": "dynamic", "onnx-int8-static": "static"}
INT8_FORMATS = tuple(INT8_METHODS)
QUANTIZATION_FILE = "quantization.json"
#: The products an accuracy-aware quantization may keep in fp32: they hold the weights and the time.
MATMUL_OPS = ("MatMul", "Gemm")
#: What static int8 quantizes: the products, and the embedding tables (Gather), as dynamic int8 does; without
#: the tables the sentiment student's static model was 53.8 MB against 18.1 MB.
STATIC_OPS = (*MATMUL_OPS, "Gather")
#: Examples per calibration batch (padded to the batch's longest, as evaluation batches are).
CALIBRATION_BATCH = 16
#: The sensitivity estimate runs on the first calibration examples only: enough to rank the nodes.
SENSITIVITY_EXAMPLES = 32
#: The percentile calibration's quantile (onnxruntime's default).
PERCENTILE = 99.999
#: The CPU flags that decide int8 speed and saturation (VNNI: 8-bit dot products; AMX: int8 tiles).
INT8_ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def has_vnni(cpu_flags: Iterable[str] | None) -> bool:
    """True on CPUs with an 8-bit dot-product instruction (AVX512-VNNI or AVX-VNNI)."""
    flags = set(cpu_flags or ())
    return "avx512_vnni" in flags or "avx_vnni" in flags


def int8_isa(cpu_flags: Iterable[str] | None) -> dict[str, Any]:
    """The int8-relevant CPU flags, each True/False (None when the flags are unknown)."""
    if cpu_flags is None:
        return {"known": False}
    flags = set(cpu_flags)
    return {**{name: name in flags for name in INT8_ISA_FLAGS}, "vnni": has_vnni(flags)}


def static_settings(cpu_flags: Iterable[str] | None) -> dict[str, Any]:
    """What :func:`quantize_static_int8` uses: onnxruntime's advice for x86 CPUs (u8 activations, s8 weights;
    7-bit weights without VNNI, where u8 x s8 products can saturate)."""
    return {
        "format": "QDQ",
        "activations": "uint8 asymmetric, calibrated ranges",
        "weights": "int8 symmetric, per channel",
        "reduce_range": not has_vnni(cpu_flags),
        "ops": list(STATIC_OPS),
    }


def single_graph(onnx_dir: Path) -> Path:
    """The ``model.onnx`` of ``onnx_dir``; a :class:`ModelError` for the multi-graph exports of generation models."""
    path = Path(onnx_dir) / ONNX_FILE
    if not path.is_file():
        found = ", ".join(p.name for p in sorted(Path(onnx_dir).glob("*.onnx"))) or "no .onnx file"
        raise ModelError(
            f"{onnx_dir}: static int8 is made for single-graph models only ({found}): the decoder of a generation "
            "model is fed by the decoding loop, which calibration cannot replay; use onnx-int8 (dynamic)"
        )
    return path


class BatchReader:
    """An onnxruntime ``CalibrationDataReader`` over prepared batches, keeping the model's own inputs."""

    def __init__(self, batches: Sequence[dict[str, np.ndarray]], input_names: Sequence[str]) -> None:
        self._batches = [{k: v for k, v in b.items() if k in input_names} for b in batches]
        self._next = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        """The next batch, or None at the end."""
        if self._next >= len(self._batches):
            return None
        self._next += 1
        return self._batches[self._next - 1]

    def __iter__(self) -> BatchReader:
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        batch = self.get_next()
        if batch is None:
            raise StopIteration
        return batch

    def __len__(self) -> int:
        return len(self._batches)


def quantize_static_int8(
    onnx_dir: Path,
    out_dir: Path,
    batches: Sequence[dict[str, np.ndarray]],
    cpu_flags: Iterable[str] | None,
    calibration: str = "minmax",
    keep_fp32: Sequence[str] = (),
    cache_path: Path | None = None,
) -> Path:
    """Static int8 (QDQ) of ``onnx_dir/model.onnx`` into ``out_dir/model.onnx``, calibrated on ``batches``.

    The MatMul/Gemm nodes (the projections, and attention's two activation products) and the embedding tables
    are quantized, as dynamic int8 quantizes them; weights per channel; task heads (``INT8_FP32_HEADS``) and
    ``keep_fp32`` stay fp32. ``cache_path``
    keeps the calibrated ranges, so that a second quantization of the same model skips calibration.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from harness.export import head_nodes, quiet

    source = single_graph(onnx_dir)
    if not batches and not (cache_path is not None and Path(cache_path).is_file()):
        raise ModelError(f"{onnx_dir}: static int8 needs calibration inputs, and the training split gave none")
    method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}[calibration]
    extra: dict[str, Any] = {"WeightSymmetric": True, "ActivationSymmetric": False}
    if calibration == "percentile":
        extra["CalibPercentile"] = PERCENTILE
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with quiet():
            quantize_static(
                str(source),
                str(out_dir / ONNX_FILE),
                BatchReader(batches, _input_names(source)),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(STATIC_OPS),
                per_channel=True,
                reduce_range=static_settings(cpu_flags)["reduce_range"],
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=[*head_nodes(source), *keep_fp32],
                calibrate_method=method,
                extra_options=extra,
                calibration_cache_path=str(cache_path) if cache_path is not None else None,
            )
    except OSError:
        raise  # a disk error stops the run (the export stage says so), it is not the model's
    except Exception as exc:  # the quantizer's errors for an op or graph it cannot handle share no type
        raise ModelError(
            f"{source}: onnxruntime cannot quantize this model statically: {type(exc).__name__}: {exc}"
        ) from None
    return out_dir / ONNX_FILE


def _input_names(onnx_file: Path) -> list[str]:
    import onnx

    graph = onnx.load(str(onnx_file), load_external_data=False).graph
    initializers = {init.name for init in graph.initializer}
    return [i.name for i in graph.input if i.name not in initializers]


# -- sensitivity -------------------------------------------------------------------------------
class Product(NamedTuple):
    """A MatMul/Gemm int8 quantizes: ``a @ weight`` (a constant, as (in, out)) or ``a @ b`` (two activations)."""

    name: str
    a: str
    weight: np.ndarray | None
    b: str | None = None


def matmul_nodes(onnx_file: Path, exclude: Iterable[str] = (), activations: bool = True) -> list[Product]:
    """The products int8 quantizes, in graph order: MatMul/Gemm with a constant weight, and (``activations``)
    MatMuls of two activations, attention's scores and context, which both int8 methods quantize too."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_file)).graph
    initializers = {init.name: init for init in graph.initializer}
    skip = set(exclude)
    found = []
    for node in graph.node:
        if node.op_type not in MATMUL_OPS or node.name in skip or len(node.input) < 2:
            continue
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        a, b = node.input[0], node.input[1]
        if a in initializers or attributes.get("transA"):
            continue
        if b not in initializers:
            if activations and node.op_type == "MatMul":
                found.append(Product(node.name, a, None, b))
            continue
        weight = numpy_helper.to_array(initializers[b]).astype(np.float32)
        if weight.ndim == 2:
            found.append(Product(node.name, a, weight.T if attributes.get("transB") else weight))
    return found


def _fake_quant_weight(weight: np.ndarray, levels: int) -> np.ndarray:
    """Symmetric per-output-channel rounding, as the quantizer does (``levels`` = the largest code)."""
    scale = np.maximum(np.abs(weight).max(axis=0, keepdims=True), 1e-12) / levels
    return np.clip(np.round(weight / scale), -levels, levels) * scale


def _fake_quant_activation(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """Asymmetric uint8 rounding of ``x`` in the range ``[low, high]`` (zero always representable)."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = max(high - low, 1e-12) / 255.0
    zero = np.round(-low / scale)
    return (np.clip(np.round(x / scale) + zero, 0, 255) - zero) * scale


def _range(values: list[np.ndarray], calibration: str) -> tuple[float, float]:
    """A tensor's calibrated range over all batches (static int8)."""
    if calibration == "percentile":
        bound = float(np.percentile(np.abs(np.concatenate([v.ravel() for v in values])), PERCENTILE))
        return (-bound if min(float(v.min()) for v in values) < 0 else 0.0), bound
    return min(float(v.min()) for v in values), max(float(v.max()) for v in values)


def _capture(onnx_file: Path, names: list[str], batches: Sequence[dict[str, np.ndarray]]) -> dict[str, list]:
    """The fp32 values of the tensors ``names`` on each batch (one pass, the tensors added as outputs)."""
    import onnx
    import onnxruntime as ort

    from harness.backends import onnx_session_options

    model = onnx.load(str(onnx_file))
    outputs = {o.name for o in model.graph.output}
    model.graph.output.extend(onnx.ValueInfoProto(name=name) for name in names if name not in outputs)
    session = ort.InferenceSession(
        model.SerializeToString(), sess_options=onnx_session_options(None), providers=["CPUExecutionProvider"]
    )
    captured: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for batch in BatchReader(batches, [i.name for i in session.get_inputs()]):
        for name, value in zip(names, session.run(names, batch), strict=True):
            captured[name].append(np.asarray(value, dtype=np.float32))
    return captured


def node_sensitivity(
    onnx_file: Path,
    batches: Sequence[dict[str, np.ndarray]],
    method: str,
    cpu_flags: Iterable[str] | None,
    calibration: str = "minmax",
    exclude: Iterable[str] = (),
) -> dict[str, float]:
    """Per quantized MatMul/Gemm: the error int8 rounding adds to its output, ``|AB - A'B'|^2 / |AB|^2``.

    ``A`` (and ``B``, for a product of two activations) are the node's inputs as the fp32 model computes them
    on ``batches`` (one fp32 pass); ``A'`` and ``B'`` are rounded as ``method`` rounds them: activations in the
    calibrated range (static) or in each batch's range (dynamic), weights symmetric per channel (7-bit without
    VNNI for static). Rounding each node alone, on exact inputs, isolates its own share of the loss (as
    onnxruntime's ``qdq_loss_debug`` compares tensors): one fp32 pass ranks every node, where quantizing with
    each node left out would cost one quantization and one evaluation per node.
    """
    nodes = matmul_nodes(onnx_file, exclude)
    if not nodes or not batches:
        return {}
    captured = _capture(onnx_file, list(dict.fromkeys(t for n in nodes for t in (n.a, n.b) if t)), batches)
    levels = 63 if method == "static" and static_settings(cpu_flags)["reduce_range"] else 127
    ranges = {name: _range(values, calibration) for name, values in captured.items()} if method == "static" else {}

    def rounded(name: str, x: np.ndarray) -> np.ndarray:
        low, high = ranges[name] if method == "static" else (float(x.min()), float(x.max()))
        return _fake_quant_activation(x, low, high)

    errors = {}
    for node in nodes:
        weight = _fake_quant_weight(node.weight, levels) if node.weight is not None else None
        noise = signal = 0.0
        for index, a in enumerate(captured[node.a]):
            if node.weight is not None:
                a = a.reshape(-1, a.shape[-1])
                exact, approx = a @ node.weight, rounded(node.a, a) @ weight
            else:
                b = captured[node.b][index]  # type: ignore[index]
                exact, approx = a @ b, rounded(node.a, a) @ rounded(node.b, b)  # type: ignore[arg-type]
            noise += float(np.square(exact - approx).sum())
            signal += float(np.square(exact).sum())
        errors[node.name] = noise / signal if signal > 0 else 0.0
    return errors


# -- the record of how a format was made ----------------------------------------------------------
def _finite(value: Any) -> Any:
    """JSON-safe: non-finite floats become None, floats are rounded (results files refuse NaN)."""
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_quantization(folder: Path, info: dict[str, Any]) -> dict[str, Any]:
    """Write ``info`` as the folder's ``quantization.json``; returns what was written."""
    clean = _finite(info)
    (Path(folder) / QUANTIZATION_FILE).write_text(json.dumps(clean, indent=1, allow_nan=False), encoding="utf-8")
    return clean


def read_quantization(folder: Path) -> dict[str, Any] | None:
    """The ``quantization.json`` of an int8 format folder, or None (an older export, or none written)."""
    try:
        data = json.loads((Path(folder) / QUANTIZATION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
