"""Imports point one way: tasks <- harness <- reports <- leaderboard.

Every import statement counts: at module level, under ``TYPE_CHECKING`` and inside functions. The one
composition root allowed to reach up is the ``harness.cli`` package (the command line wires the runner
to reports and the results store). Harness modules must not import each other in a cycle either, even
through function-level imports that hide it at import time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("tasks", "harness", "reports", "leaderboard")
COMPOSITION_ROOT = "harness.cli"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for layer in LAYERS for p in sorted((ROOT / layer).rglob("*.py"))}


def _imports(name: str, path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import statement anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # ``from harness import runner`` imports the module harness.runner
            found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
    return found


def _layer(module: str) -> int | None:
    top = module.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else None


def _in_composition_root(module: str) -> bool:
    return module == COMPOSITION_ROOT or module.startswith(COMPOSITION_ROOT + ".")


def test_the_walker_sees_hidden_imports(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from harness.backends import Predictor\n"
        "def f():\n    import reports.html\n    from . import sibling\n"
    )
    targets = {module for _, module in _imports("tasks.kinds.mod", source)}
    assert {"harness.backends", "reports.html", "tasks.kinds.sibling"} <= targets


def test_imports_point_one_way():
    modules = _modules()
    assert len(modules) > 40, "the walker found too few modules"
    violations = []
    for name, path in modules.items():
        own = _layer(name)
        if _in_composition_root(name):
            continue
        for line, target in _imports(name, path):
            other = _layer(target)
            if other is not None and own is not None and other > own:
                violations.append(f"{path.relative_to(ROOT)}:{line}: {name} imports {target}")
    assert not violations, "imports against tasks <- harness <- reports <- leaderboard:\n" + "\n".join(violations)


def test_only_the_cli_package_is_a_composition_root():
    """Nothing outside harness.cli may import harness.cli (it is the top of the harness)."""
    offenders = [
        f"{name} imports {target}"
        for name, path in _modules().items()
        if not _in_composition_root(name)
        for _, target in _imports(name, path)
        if _in_composition_root(target)
    ]
    assert not offenders, offenders


def _harness_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if not name.startswith("harness"):
            continue
        graph[name] = {target for _, target in _imports(name, path) if target in modules and target != name}
    return graph


def test_no_import_cycles_inside_harness():
    graph = _harness_graph()
    # A package's __init__ that re-exports its submodules is not a cycle with them.
    for name, targets in graph.items():
        graph[name] = {t for t in targets if not (name.startswith(t + ".") and t in graph)}
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("layer", LAYERS)
def test_modules_stay_small(layer):
    too_big = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for p in sorted((ROOT / layer).rglob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert not too_big, f"modules over 400 lines: {too_big}"


def test_importing_the_cli_and_the_stages_does_not_import_torch():
    # docs/architecture.md: built-in modules import torch, transformers and onnxruntime inside the functions that
    # need them, so that `reusebench --help`, `validate` and the registries stay quick (a module-level import of
    # the probe's frozen body once pulled torch into every command)
    import subprocess
    import sys

    code = ("import sys, harness.cli, harness.stages, harness.runner, tasks.kinds; "
            "heavy = [m for m in ('torch', 'transformers', 'onnxruntime') if m in sys.modules]; "
            "print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
