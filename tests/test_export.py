"""ONNX export and int8 quantization: per-channel weights, task heads kept in fp32."""

from pathlib import Path

import onnx
import pytest

from harness.export import export_onnx, head_nodes, quantize_dynamic_int8


@pytest.fixture(scope="module")
def classifier_onnx(tmp_path_factory) -> Path:
    from transformers import BertConfig, BertForSequenceClassification

    root = tmp_path_factory.mktemp("export")
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, num_labels=3)
    BertForSequenceClassification(config).save_pretrained(root / "pt")
    export_onnx(root / "pt", root / "onnx", "text-classification")
    return root / "onnx"


def _ops(path: Path) -> dict[str, list[str]]:
    ops: dict[str, list[str]] = {}
    for node in onnx.load(str(path)).graph.node:
        ops.setdefault(node.op_type, []).append(node.name)
    return ops


def test_head_nodes_are_the_pooler_and_classifier(classifier_onnx):
    heads = head_nodes(classifier_onnx / "model.onnx")
    assert heads and all("/pooler/" in name or "/classifier/" in name for name in heads)
    assert "/classifier/Gemm" in heads and "/classifier/Gemm_MatMul" in heads  # the name after Gemm -> MatMul
    assert any("/classifier/" in name for name in heads)


def test_int8_quantizes_the_encoder_and_keeps_the_head_fp32(classifier_onnx, tmp_path):
    main = quantize_dynamic_int8(classifier_onnx, tmp_path / "int8", cpu_flags=["avx2"])
    ops = _ops(main)
    quantized = ops.get("MatMulInteger", []) + ops.get("DynamicQuantizeMatMul", [])
    assert len(quantized) >= 12  # 2 layers x (q, k, v, attention output, intermediate, output)
    fp32 = ops.get("MatMul", []) + ops.get("Gemm", [])
    assert any("/classifier/" in name for name in fp32), fp32
    # Per-channel: the weight scales of a quantized projection are vectors, not one number.
    model = onnx.load(str(main))
    scales = [init for init in model.graph.initializer if init.name.endswith("_scale") and len(init.dims) == 1]
    assert any(init.dims[0] > 1 for init in scales)
