"""Static int8 (``onnx-int8-static``) and the accuracy-aware int8 mode (the suite's ``int8:`` block).

One tiny BERT classifier is exported once for the module; each test quantizes it (about a second each).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pytest

from harness.export import copy_side_files, export_onnx, head_nodes
from harness.int8_control import Int8Maker, control_loop, keep_schedule
from harness.options import RunOptions
from harness.quantize import (
    QUANTIZATION_FILE,
    matmul_nodes,
    node_sensitivity,
    quantize_static_int8,
    single_graph,
)
from harness.unit import TaskUnit
from tasks.errors import ConfigError, ModelError
from tasks.registry import get_task
from tasks.spec import FORMATS, parse_suite
from tests.tiny_models import save_tiny_model

CPU = {"cpu_flags": ["avx", "avx2", "fma"]}
STATIC = "onnx-int8-static"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("int8-static")
    pt = save_tiny_model(root / "pt", head="sequence-classification")
    export_onnx(pt, root / "onnx", "text-classification")
    copy_side_files(pt, root / "onnx")
    return SimpleNamespace(root=root, pt=pt, onnx=root / "onnx")


def make_unit(tiny: SimpleNamespace, tmp_path: Path, int8: dict | None = None) -> TaskUnit:
    suite = parse_suite({
        "name": "int8", "tasks": ["sentiment"], "students": ["layers=1"],
        "formats": ["pytorch", "onnx", "onnx-int8", STATIC], "int8": int8 or {},
        "measure": {"batch_sizes": [1], "warmup": 1, "min_iterations": 3, "min_seconds": 0.05, "threads": 1},
    })
    options = RunOptions(suite=suite, teachers=[str(tiny.pt)], max_train=96, max_eval=16, threads=1)
    unit = TaskUnit(get_task("sentiment"), options, tmp_path / "run", CPU)
    unit.prepare_data()
    return unit


def _batches(unit: TaskUnit) -> list[dict[str, np.ndarray]]:
    return Int8Maker(unit, Path("unused")).inputs.calibration


def _fp32_matmuls(path: Path) -> set[str]:
    """The encoder's MatMul nodes whose weight is still a plain fp32 initializer (not behind a DequantizeLinear,
    not a MatMulInteger); the heads, always fp32, are left out."""
    graph = onnx.load(str(path)).graph
    initializers = {init.name for init in graph.initializer}
    return {n.name for n in graph.node
            if n.op_type == "MatMul" and n.input[1] in initializers and "/encoder/" in n.name}


def _quantized_products(path: Path) -> int:
    """How many products an int8 model computes in int8: dynamic MatMulInteger nodes, static MatMuls fed by
    a DequantizeLinear weight."""
    graph = onnx.load(str(path)).graph
    dequantized = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    return sum(n.op_type == "MatMulInteger" or (n.op_type == "MatMul" and n.input[1] in dequantized)
               for n in graph.node)


# -- the format ----------------------------------------------------------------------------------
def test_static_int8_is_a_registered_format_the_suite_may_list():
    from harness.backends import format_names
    from harness.preflight import ONNX_FORMATS

    assert STATIC in FORMATS and STATIC in format_names() and STATIC in ONNX_FORMATS
    assert STATIC not in parse_suite({"name": "s", "tasks": ["sentiment"]}).formats  # opt-in: not a default
    suite = parse_suite({"name": "s", "tasks": ["sentiment"], "formats": ["pytorch", "onnx", STATIC]})
    unit = SimpleNamespace(suite=suite)
    assert TaskUnit.formats_of(unit, "student") == ["pytorch", "onnx", STATIC]  # type: ignore[arg-type]
    assert TaskUnit.formats_of(unit, "teacher") == ["pytorch", "onnx"]  # type: ignore[arg-type]


def test_static_int8_of_a_tiny_classifier_loads_and_predicts(tiny, tmp_path):
    from harness.backends import load_predictor

    unit = make_unit(tiny, tmp_path)
    info = Int8Maker(unit, tiny.onnx).make(STATIC, tmp_path / STATIC)
    graph = onnx.load(str(tmp_path / STATIC / "model.onnx")).graph
    ops = [n.op_type for n in graph.node]
    assert ops.count("QuantizeLinear") >= 12 and "DequantizeLinear" in ops  # QDQ: 2 layers x 6 projections
    assert "/classifier/Gemm" in {n.name for n in graph.node if n.op_type == "Gemm"}  # the head stays fp32
    scales = [i for i in graph.initializer if i.name.endswith("_scale") and len(i.dims) == 1]
    assert any(i.dims[0] > 1 for i in scales)  # per-channel weight scales
    predictor = load_predictor(tmp_path / STATIC, STATIC, threads=1)
    batch = unit.measurement_inputs()
    inputs = {k.split("__", 1)[1]: v for k, v in np.load(batch).items()}
    logits = predictor.forward(inputs)["logits"]
    assert logits.shape == (1, 2) and np.isfinite(logits).all()
    assert info["method"] == "static" and info["calibration"] == "minmax" and info["format"] == "QDQ"
    assert info["calibration_examples"] == 96 and info["calibration_split"] == "train"  # all 96 of max_train
    assert "fewer than the 128 asked for" in info["notes"][0]
    assert info["reduce_range"] is True and info["cpu_isa"]["avx2"] and not info["cpu_isa"]["vnni"]  # no VNNI
    assert json.loads((tmp_path / STATIC / QUANTIZATION_FILE).read_text()) == info


def test_the_record_has_lineage_and_quantization(tiny, tmp_path):
    from harness.records import build_record
    from harness.results import Lineage
    from harness.stages.record import evaluate
    from harness.variants import Variant

    unit = make_unit(tiny, tmp_path, {"calibration": "percentile", "calibration_examples": 40})
    folder = tmp_path / STATIC
    Int8Maker(unit, tiny.onnx).make(STATIC, folder)
    variant = Variant(name="tiny", role="student", pytorch_dir=tiny.pt, params=1, train_cost=None, lineage=Lineage())
    reference = evaluate(unit, tiny.pt, "pytorch")
    record = build_record(unit, variant, STATIC, folder, evaluate(unit, folder, STATIC), reference, None,
                          {"latency_ms": {}})
    assert record.format == STATIC and record.lineage.quantized_from == "tiny (onnx)"
    assert record.lineage.exported_from == "tiny (pytorch)" and record.parity is not None
    assert record.quantization["method"] == "static" and record.quantization["calibration"] == "percentile"
    assert record.quantization["calibration_examples"] == 40 and "cpu_isa" in record.quantization
    assert record.size_mb > 0


def test_generation_exports_get_a_one_line_reason_not_a_static_model(tmp_path):
    folder = tmp_path / "onnx"
    folder.mkdir()
    for name in ("encoder_model.onnx", "decoder_model_merged.onnx"):
        (folder / name).write_bytes(b"")
    unit = SimpleNamespace(suite=SimpleNamespace(int8=parse_suite({"name": "s", "tasks": ["t"]}).int8),
                           environment=CPU)
    with pytest.raises(ModelError) as err:
        Int8Maker(unit, folder).make(STATIC, tmp_path / STATIC)  # raised before any data is sampled
    message = str(err.value)
    assert "\n" not in message and "single-graph" in message and "onnx-int8 (dynamic)" in message
    assert not (tmp_path / STATIC).exists()
    with pytest.raises(ModelError, match="encoder_model.onnx"):
        single_graph(folder)


# -- sensitivity ---------------------------------------------------------------------------------
def test_a_crafted_weight_ranks_first(tiny, tmp_path):
    """A crafted sensitivity: adding a large constant to every weight of the layer-0 query projection leaves
    its output unchanged (its input, a LayerNorm output with unit gain and no bias, sums to zero over the
    hidden size) but makes every rounding step huge, so that node must come out as the costliest."""
    unit = make_unit(tiny, tmp_path)
    source = tiny.onnx / "model.onnx"
    heads = head_nodes(source)
    target = next(n for n in matmul_nodes(source, heads) if n.name.endswith("layer.0/attention/self/query/MatMul"))
    model = onnx.load(str(source))
    init = next(i for i in model.graph.initializer
                if i.name == next(n for n in model.graph.node if n.name == target.name).input[1])
    init.CopyFrom(onnx.numpy_helper.from_array(target.weight + 100 * np.abs(target.weight).max(), init.name))
    onnx.save(model, str(tmp_path / "crafted.onnx"))
    for method in ("static", "dynamic"):
        errors = node_sensitivity(tmp_path / "crafted.onnx", _batches(unit), method, CPU["cpu_flags"], exclude=heads)
        assert len(errors) == 16 and all(e >= 0 for e in errors.values())  # 2 x (6 projections + 2 attention)
        ranked = sorted(errors, key=errors.get, reverse=True)
        assert ranked[0] == target.name and errors[ranked[0]] > 10 * errors[ranked[1]], method


# -- the accuracy loop ---------------------------------------------------------------------------
def test_keep_schedule_doubles_up_to_all_candidates_within_the_bound():
    assert keep_schedule(12, 10) == [0, 1, 2, 4, 8, 12]
    assert keep_schedule(12, 3) == [0, 1, 2]
    assert keep_schedule(0, 4) == [0]
    assert keep_schedule(5, 1) == [0]


def _fake_loop(tmp_path, drops_by_kept, max_drop, max_attempts):
    made = []

    def quantize(kept, folder):
        folder.mkdir(parents=True)
        (folder / "kept").write_text(str(len(kept)))
        made.append(list(kept))

    def score(folder):
        return 1.0 - drops_by_kept[int((folder / "kept").read_text())]

    ranked = [f"n{i}" for i in range(8)]
    chosen, attempts = control_loop(quantize, score, lambda: ranked, 1.0, max_drop, max_attempts, tmp_path)
    return chosen, attempts, made


def test_the_loop_keeps_the_costliest_nodes_until_the_drop_fits(tmp_path):
    drops = {0: 0.2, 1: 0.1, 2: 0.05, 4: 0.005, 8: 0.0}
    chosen, attempts, made = _fake_loop(tmp_path, drops, 0.01, 10)
    assert made == [[], ["n0"], ["n0", "n1"], ["n0", "n1", "n2", "n3"]]
    assert chosen.kept == ["n0", "n1", "n2", "n3"] and chosen.drop == pytest.approx(0.005)
    assert [a.as_dict()["kept_fp32"] for a in attempts] == [0, 1, 2, 4]


def test_the_loop_stops_at_the_bound_and_keeps_the_smallest_drop(tmp_path):
    drops = {0: 0.2, 1: 0.1, 2: 0.15, 4: 0.3}
    chosen, attempts, _ = _fake_loop(tmp_path, drops, 0.01, 4)
    assert len(attempts) == 4 and chosen.kept == ["n0"] and chosen.drop == pytest.approx(0.1)


def test_a_first_attempt_within_max_drop_ranks_nothing(tmp_path):
    chosen, attempts, made = _fake_loop(tmp_path, {0: 0.0}, 0.0, 5)
    assert made == [[]] and chosen.kept == []


def test_forced_accuracy_control_keeps_nodes_fp32_and_records_them(tiny, tmp_path, monkeypatch):
    """A crafted check: each of the 16 products computed in int8 costs 0.01, so max_drop 0.05 needs 11 kept
    in fp32. Four attempts (0, 1, 2, 4 kept) stop at the bound, over the limit; six reach 16 kept."""

    def crafted_score(self, folder):
        return 1.0 - 0.01 * _quantized_products(Path(folder) / "model.onnx")

    monkeypatch.setattr(Int8Maker, "check_score", crafted_score)
    unit = make_unit(tiny, tmp_path, {"max_drop": 0.05, "check_examples": 32, "calibration_examples": 32})
    info = Int8Maker(unit, tiny.onnx).make(STATIC, tmp_path / STATIC)
    assert [a["kept_fp32"] for a in info["attempts"]] == [0, 1, 2, 4]
    assert [a["drop"] for a in info["attempts"]] == pytest.approx([0.16, 0.15, 0.14, 0.12])
    assert info["within_max_drop"] is False and info["max_attempts"] == 4 and info["max_drop"] == 0.05
    assert len(info["nodes_kept_fp32"]) == 4 and info["candidate_nodes"] == 16 and info["drop"] == 0.12
    assert _quantized_products(tmp_path / STATIC / "model.onnx") == 12  # the chosen attempt: the smallest drop
    assert info["check_split"] == "train" and info["check_examples"] == 32 and info["calibration_examples"] == 32
    assert [s["node"] for s in info["sensitivity"][:4]] == info["nodes_kept_fp32"]

    unit = make_unit(tiny, tmp_path, {"max_drop": 0.05, "max_attempts": 6, "check_examples": 32})
    info = Int8Maker(unit, tiny.onnx).make("onnx-int8", tmp_path / "onnx-int8")  # dynamic int8: same loop
    assert [a["kept_fp32"] for a in info["attempts"]] == [0, 1, 2, 4, 8, 16]
    assert [a["drop"] for a in info["attempts"]] == pytest.approx([0.16, 0.15, 0.14, 0.12, 0.08, 0.0])
    assert info["within_max_drop"] is True and len(info["nodes_kept_fp32"]) == 16 and info["candidate_nodes"] == 16
    assert info["method"] == "dynamic" and _quantized_products(tmp_path / "onnx-int8" / "model.onnx") == 0
    assert _fp32_matmuls(tmp_path / "onnx-int8" / "model.onnx") >= {n for n in info["nodes_kept_fp32"] if "dense" in n}


def test_calibration_reuses_its_ranges_across_attempts(tiny, tmp_path):
    unit = make_unit(tiny, tmp_path)
    batches = _batches(unit)
    cache = tmp_path / "calibration.json"
    quantize_static_int8(tiny.onnx, tmp_path / "a", batches, CPU["cpu_flags"], cache_path=cache)
    assert cache.is_file()
    keep = [matmul_nodes(tiny.onnx / "model.onnx")[0].name]
    quantize_static_int8(tiny.onnx, tmp_path / "b", [], CPU["cpu_flags"], keep_fp32=keep, cache_path=cache)
    assert keep[0] in _fp32_matmuls(tmp_path / "b" / "model.onnx")


# -- bad configuration ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("int8", "fragments"),
    [
        ({"max_dorp": 0.01}, ["int8", "'max_dorp'", "did you mean 'max_drop'"]),
        ({"max_drop": -0.1}, ["int8.max_drop", "greater than or equal to 0", "-0.1"]),
        ({"calibration_examples": 0}, ["int8.calibration_examples", "greater than 0", "got 0"]),
        ({"calibration": "entropy"}, ["int8.calibration", "'entropy'", "minmax", "percentile"]),
        ({"method": "static"}, ["int8", "'method'", "onnx-int8-static"]),
        ({"max_attempts": 0}, ["int8.max_attempts", "got 0"]),
        ({"max_drop": True}, ["int8.max_drop", "boolean"]),
    ],
)
def test_a_bad_int8_block_is_a_one_line_error_naming_the_field(int8, fragments):
    with pytest.raises(ConfigError) as err:
        parse_suite({"name": "s", "tasks": ["sentiment"], "int8": int8}, "suite.yaml")
    message = str(err.value)
    assert message.startswith("suite.yaml: field 'int8") and "\n" not in message
    assert all(fragment in message for fragment in fragments), message
