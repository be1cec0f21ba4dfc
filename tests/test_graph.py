"""The stage graph's cache-key rules, without training anything.

A fake run writes an entry (with a build id for trained models) for every node of a unit's graph; the
plan of a changed run then says which nodes are still cached. Changing X must re-run exactly the
stages that depend on X, and the plan must name the same keys the run would use.
"""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from harness.cache import StageCache
from harness.graph import Graph, StageBase, downstream_stages, node_key, plan_graph
from harness.options import RunOptions
from harness.stages import STAGES, forced_stages
from harness.unit import TaskUnit
from tasks.errors import ReusebenchError
from tasks.registry import get_task
from tasks.spec import SuiteSpec
from tests.tiny_models import save_tiny_model

ENVIRONMENT = {"cpu_flags": ["avx2"]}


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    return str(save_tiny_model(tmp_path_factory.mktemp("graph") / "tiny-bert", layers=4, max_positions=128))


def make_unit(teacher: str, cache: StageCache, tmp_path, *, students=("layers=2",), task_changes=None, **changes):
    suite = SuiteSpec.model_validate(
        {
            "name": "graph",
            "tasks": ["sentiment"],
            "students": list(students),
            "formats": ["pytorch", "onnx", "onnx-int8"],
            "measure": {"batch_sizes": [1], "warmup": 1, "min_iterations": 3, "min_seconds": 0.05, "threads": 1},
            **changes.pop("suite", {}),
        }
    )
    settings = {"teachers": [teacher], "max_train": 32, "max_eval": 16, "cache": cache, **changes}
    options = RunOptions(suite=suite, **settings)
    spec = get_task("sentiment")
    if task_changes:
        spec = spec.model_copy(update=task_changes)
    unit = TaskUnit(spec, options, tmp_path / "run", ENVIRONMENT)
    unit.prepare_data()
    return unit


def fake_run(unit: TaskUnit) -> None:
    """Write an entry for every node, as a run would (trained models get a fresh build id)."""
    graph = unit.build_graph()
    for node in graph.nodes:
        node.key = node_key(unit, node)
        with unit.cache.write(node.stage.name, node.key) as (folder, meta):
            if node.stage.name in ("finetune", "distill"):
                meta["build"] = uuid.uuid4().hex
            (folder / "done").write_text("x")
        node.build = node.stage.build(node, meta)


def cached_stages(unit: TaskUnit) -> dict[str, set[bool]]:
    rows = unit.plan()
    result: dict[str, set[bool]] = {}
    for row in rows:
        result.setdefault(f"{row['stage']}:{row['model']}", set()).add(row["cached"])
    return {name: values.pop() for name, values in result.items()}


@pytest.fixture()
def done(teacher, tmp_path):
    cache = StageCache(tmp_path / "cache")
    fake_run(make_unit(teacher, cache, tmp_path))
    return cache


def rerun(cached: dict[str, bool]) -> set[str]:
    return {name for name, hit in cached.items() if not hit}


TEACHER = "tiny-bert"


def test_the_graph_has_every_stage_in_run_order(teacher, tmp_path):
    unit = make_unit(teacher, StageCache(tmp_path / "c"), tmp_path)
    names = [(n.stage.name, n.subject) for n in unit.build_graph().nodes]
    assert names == [
        ("finetune", TEACHER),
        ("distill", "layers=2"),
        ("export", TEACHER),
        ("export", "layers=2"),
        ("record", f"{TEACHER} (pytorch)"),
        ("record", f"{TEACHER} (onnx)"),
        ("record", "layers=2 (pytorch)"),
        ("record", "layers=2 (onnx)"),
        ("record", "layers=2 (onnx-int8)"),  # int8 only for the suite's int8_roles (students)
    ]


def test_roles_outside_onnx_roles_get_no_export_and_pytorch_records_only(teacher, tmp_path):
    suite = {"adaptation": ["probe", "full"], "onnx_roles": ["student"]}
    unit = make_unit(teacher, StageCache(tmp_path / "c"), tmp_path, suite=suite)
    names = [(n.stage.name, n.subject) for n in unit.build_graph().nodes]
    assert names == [
        ("finetune", TEACHER),
        ("distill", "layers=2"),
        ("adapt", f"{TEACHER} (probe)"),
        ("export", "layers=2"),  # the only role exported
        ("record", f"{TEACHER} (pytorch)"),
        ("record", "layers=2 (pytorch)"),
        ("record", "layers=2 (onnx)"),
        ("record", "layers=2 (onnx-int8)"),
        ("record", f"{TEACHER} (probe) (pytorch)"),
    ]


@pytest.mark.parametrize("roles", [{"onnx_roles": ["teacher"]}, {"onnx_roles": ["teacher"], "int8_roles": ["student"]},
                                   {"onnx_roles": ["student"], "int8_roles": ["student", "adapted"]}])
def test_int8_for_a_role_that_is_not_exported_is_refused(roles):
    with pytest.raises(ValueError, match="int8_roles lists .*which onnx_roles does not export"):
        SuiteSpec.model_validate({"name": "s", "tasks": ["sentiment"], "formats": ["pytorch", "onnx-int8"], **roles})
    # without an int8 format there is nothing to quantize, and no conflict
    SuiteSpec.model_validate({"name": "s", "tasks": ["sentiment"], "formats": ["pytorch", "onnx"], **roles})


def test_an_empty_cache_plans_every_stage_and_only_the_first_has_a_key(teacher, tmp_path):
    rows = make_unit(teacher, StageCache(tmp_path / "c"), tmp_path).plan()
    assert not any(row["cached"] for row in rows)
    assert [row["key"] != "-" for row in rows] == [True] + [False] * (len(rows) - 1)
    assert rows[0]["estimate_s"] > 0


def test_an_identical_run_is_cached_everywhere(done, teacher, tmp_path):
    assert rerun(cached_stages(make_unit(teacher, done, tmp_path))) == set()


def test_the_eval_split_reruns_only_the_records(done, teacher, tmp_path):
    changed = rerun(cached_stages(make_unit(teacher, done, tmp_path, max_eval=8)))
    assert changed == {name for name in changed if name.startswith("record:")}
    assert len(changed) == 5


@pytest.mark.parametrize(
    "suite_change",
    [{"measure": {"batch_sizes": [1, 2]}}, {"export_tolerance": 0.05}],
    ids=["measurement", "export-tolerance"],
)
def test_measurement_settings_rerun_only_the_records(done, teacher, tmp_path, suite_change):
    changed = rerun(cached_stages(make_unit(teacher, done, tmp_path, suite=suite_change)))
    assert changed and all(name.startswith("record:") for name in changed)


def test_the_distillation_recipe_reruns_the_student_and_what_follows(done, teacher, tmp_path):
    spec = get_task("sentiment")
    distillation = spec.distillation.model_copy(update={"temperature": 5.0})
    changed = rerun(cached_stages(make_unit(teacher, done, tmp_path, task_changes={"distillation": distillation})))
    assert changed == {
        "distill:layers=2",
        "export:layers=2",
        "record:layers=2 (pytorch)",
        "record:layers=2 (onnx)",
        "record:layers=2 (onnx-int8)",
    }


def test_the_training_recipe_reruns_everything(done, teacher, tmp_path):
    spec = get_task("sentiment")
    training = spec.training.model_copy(update={"learning_rate": 1e-3})
    cached = cached_stages(make_unit(teacher, done, tmp_path, task_changes={"training": training}))
    assert not any(cached.values())


@pytest.mark.parametrize("change", [{"seed": 7}, {"max_train": 16}], ids=["seed", "training-data"])
def test_the_seed_and_the_training_data_rerun_everything(done, teacher, tmp_path, change):
    cached = cached_stages(make_unit(teacher, done, tmp_path, **change))
    assert not any(cached.values())


def test_a_new_student_runs_only_its_own_stages(done, teacher, tmp_path):
    changed = rerun(cached_stages(make_unit(teacher, done, tmp_path, students=("layers=2", "layers=1"))))
    assert changed == {
        "distill:layers=1",
        "export:layers=1",
        "record:layers=1 (pytorch)",
        "record:layers=1 (onnx)",
        "record:layers=1 (onnx-int8)",
    }


@pytest.mark.parametrize(
    "force,expected",
    [
        ("finetune", {"finetune", "distill", "export", "record"}),
        ("distill", {"distill", "export", "record"}),
        ("export", {"export", "record"}),
        ("record", {"record"}),
    ],
)
def test_force_reruns_the_stage_and_every_stage_that_consumes_it(done, teacher, tmp_path, force, expected):
    assert forced_stages([force]) == expected
    changed = rerun(cached_stages(make_unit(teacher, done, tmp_path, force=forced_stages([force]))))
    assert {name.partition(":")[0] for name in changed} == expected


def test_an_unknown_forced_stage_names_the_allowed_ones():
    with pytest.raises(ReusebenchError, match="allowed values: estimate, finetune, distill, adapt, export, record"):
        forced_stages(["exports"])


def test_a_retrained_teacher_invalidates_everything_after_it(done, teacher, tmp_path):
    """A teacher trained again (its entry evicted) is a new build: nothing downstream may be reused."""
    unit = make_unit(teacher, done, tmp_path)
    teacher_node = unit.build_graph().nodes[0]
    key = node_key(unit, teacher_node)
    import shutil

    shutil.rmtree(done.path_for("finetune", key))
    fake_run(make_unit(teacher, done, tmp_path))  # the new teacher and everything after it, new builds
    # the old student entries are still in the cache, but under keys nobody asks for any more
    assert rerun(cached_stages(make_unit(teacher, done, tmp_path))) == set()
    assert len(list((done.root / "distill").iterdir())) == 2


def test_downstream_stages_follow_the_declared_inputs():
    class A(StageBase):
        name = "a"

    class B(StageBase):
        name, after = "b", ("a",)

    class C(StageBase):
        name, after = "c", ("b",)

    class D(StageBase):
        name = "d"

    assert downstream_stages([A(), B(), C(), D()], ["a"]) == {"a", "b", "c"}
    assert downstream_stages([A(), B(), C(), D()], ["d"]) == {"d"}
    assert set(STAGES.names()) == {"estimate", "finetune", "distill", "adapt", "export", "record"}
    assert forced_stages(["estimate"]) == {"estimate"}  # no stage consumes the estimates
    # forcing the adapted models' training recomputes their exports and records, not the teacher's
    assert forced_stages(["adapt"]) == {"adapt", "export", "record"}


def test_a_node_needs_its_inputs_in_the_graph_first():
    class A(StageBase):
        name = "a"

    graph, other = Graph(), Graph()
    upstream = other.add(A(), "elsewhere")
    with pytest.raises(ValueError, match="not in the graph"):
        graph.add(A(), "x", inputs={"model": upstream})


def test_plan_and_run_use_the_same_keys(done, teacher, tmp_path):
    unit = make_unit(teacher, done, tmp_path)
    planned = {(row["stage"], row["model"]): row["key"] for row in unit.plan()}
    written = {
        (stage_dir.name, entry.name) for stage_dir in done.root.iterdir() if stage_dir.is_dir() for entry in stage_dir.iterdir()
    }
    assert {(stage, key) for (stage, _), key in planned.items()} == written
    graph = unit.build_graph()
    assert plan_graph(unit, graph, done, frozenset()) == unit.plan()
    assert dataclasses.is_dataclass(unit.options)
