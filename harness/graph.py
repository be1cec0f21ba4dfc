"""The stage graph of one unit of a run, walked the same way to run it and to plan it.

A :class:`Stage` declares what it consumes (``after``: the stage types whose outputs its key depends on),
its cache-key payload, how to compute its output and how to read it back from the stage cache. A
:class:`Node` is one application of a stage (the teacher's fine-tuning, one student's distillation, one
model's export, one (model, format) record). :func:`run_graph` and :func:`plan_graph` walk the same nodes
with the same keys and the same ``--force`` rule, so a plan cannot promise what the run will not do.

Keys chain through *builds*: a node's key hashes its payload, and its payload names the builds of the
nodes it consumes (a trained model's build is a fresh id per training, an export's is its own key), so a
retrained teacher gives every stage after it a new key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from harness.cache import CacheEntry, StageCache, stage_key

#: What :meth:`Stage.shortcut` returns when a node must go through the cache as usual.
PROCEED = object()


class Stage(Protocol):
    """One kind of step. ``unit`` is the :class:`harness.unit.TaskUnit` the node belongs to."""

    name: ClassVar[str]
    #: the stage types whose outputs this stage consumes: forcing one of them forces this one too.
    after: ClassVar[tuple[str, ...]]

    def payload(self, unit: Any, node: Node) -> dict[str, Any]:
        """Everything the output depends on, besides the library versions (those are always keyed)."""
        ...

    def compute(self, unit: Any, node: Node, folder: Path, meta: dict[str, Any]) -> Any:
        """Compute the output into ``folder`` (a temporary folder that becomes the cache entry) and
        ``meta`` (stored with it); return the in-memory result."""
        ...

    def load(self, unit: Any, node: Node, entry: CacheEntry) -> Any:
        """The result of a cached entry."""
        ...

    def stored(self, unit: Any, node: Node, result: Any, path: Path) -> Any:
        """The result once its entry is in place at ``path`` (the temporary folder is gone)."""
        ...

    def shortcut(self, unit: Any, node: Node) -> Any:
        """A result that bypasses the cache (an upstream failure), or :data:`PROCEED`."""
        ...

    def build(self, node: Node, metadata: dict[str, Any]) -> str:
        """The identity downstream keys use for this node's output, given its entry's metadata."""
        ...

    def estimate_s(self, unit: Any, node: Node) -> float:
        """Estimated seconds to compute the node on this machine (for ``--dry-run``)."""
        ...


class StageBase:
    """Defaults for the optional parts of :class:`Stage`."""

    after: ClassVar[tuple[str, ...]] = ()

    def stored(self, unit: Any, node: Node, result: Any, path: Path) -> Any:
        return result

    def shortcut(self, unit: Any, node: Node) -> Any:
        return PROCEED

    def build(self, node: Node, metadata: dict[str, Any]) -> str:
        return str(node.key)

    def estimate_s(self, unit: Any, node: Node) -> float:
        return 0.0


@dataclass(eq=False)
class Node:
    """One application of a stage, and (once walked) its key, build and result."""

    stage: Stage
    #: what the node is about, as the plan shows it ("all-MiniLM-L6-v2", "layers=3", "layers=3 (onnx)").
    subject: str
    #: upstream nodes whose builds enter this node's key, by role ("model", "teacher", "export").
    inputs: dict[str, Node] = field(default_factory=dict)
    #: upstream nodes whose results this node reads but whose builds do not enter its key.
    needs: dict[str, Node] = field(default_factory=dict)
    #: stage-specific parameters (the student spec, the format...).
    params: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    build: str | None = None
    cached: bool = False
    result: Any = None

    def input_build(self, role: str) -> str:
        """The build of the input ``role`` (walkers only call payloads once every input build is known)."""
        build = self.inputs[role].build
        assert build is not None, f"{self.subject}: input {role!r} has no build yet"
        return build


class Graph:
    """The nodes of one unit, in an order where every node comes after its inputs."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []

    def add(
        self,
        stage: Stage,
        subject: str,
        inputs: dict[str, Node] | None = None,
        needs: dict[str, Node] | None = None,
        **params: Any,
    ) -> Node:
        """Append a node; its inputs must already be in the graph."""
        node = Node(stage, subject, dict(inputs or {}), dict(needs or {}), params)
        for upstream in [*node.inputs.values(), *node.needs.values()]:
            if upstream not in self.nodes:
                raise ValueError(f"{stage.name} {subject}: an input is not in the graph yet")
        self.nodes.append(node)
        return node

    def of_stage(self, name: str) -> list[Node]:
        """The nodes of one stage type, in graph order."""
        return [node for node in self.nodes if node.stage.name == name]


def downstream_stages(stages: Iterable[Stage], requested: Iterable[str]) -> frozenset[str]:
    """The stage types ``requested`` and every stage type that consumes them, directly or not."""
    stages = list(stages)
    forced = set(requested)
    changed = True
    while changed:
        changed = False
        for stage in stages:
            if stage.name not in forced and forced & set(stage.after):
                forced.add(stage.name)
                changed = True
    return frozenset(forced)


def node_key(unit: Any, node: Node) -> str | None:
    """The node's cache key, or None while an input's build is unknown (a plan of stages not yet run)."""
    if any(upstream.build is None for upstream in node.inputs.values()):
        return None
    return stage_key(node.stage.name, node.stage.payload(unit, node))


class GraphObserver(Protocol):
    """What watches a graph walk (:class:`harness.progress.StageProgress`): told the graph first, then each
    node as it is computed or read from the cache."""

    def observe(self, graph: Graph) -> None: ...

    def running(self, node: Node, cached: bool) -> AbstractContextManager[None]: ...


def run_graph(
    unit: Any, graph: Graph, cache: StageCache, force: frozenset[str], observer: GraphObserver | None = None
) -> None:
    """Walk the graph: each node's result comes from the cache when it is there (and not forced),
    else it is computed and stored; ``observer`` sees each node that is loaded or computed. A node whose key
    is in ``unit.handed`` (:mod:`harness.training_pass`) was computed by this run already and is read back."""
    handed = getattr(unit, "handed", None) or {}
    if observer is not None:
        observer.observe(graph)
    for node in graph.nodes:
        stage = node.stage
        shortcut = stage.shortcut(unit, node)
        if shortcut is not PROCEED:
            node.result = shortcut
            continue
        node.key = node_key(unit, node)
        assert node.key is not None  # every input was walked before
        entry = None
        if node.key in handed:  # trained by this run's training pass: read back even when forced or uncached
            entry = cache.read_written(stage.name, node.key)
        if entry is None and stage.name not in force:
            entry = cache.lookup(stage.name, node.key)
        watch = observer.running if observer is not None else _unwatched
        if entry is not None:
            node.cached = True
            node.build = stage.build(node, entry.metadata)
            with watch(node, True):
                node.result = stage.load(unit, node, entry)
            continue
        with watch(node, False), cache.write(stage.name, node.key, replace=stage.name in force) as (folder, meta):
            result = stage.compute(unit, node, folder, meta)
        node.build = stage.build(node, meta)
        node.result = stage.stored(unit, node, result, cache.path_for(stage.name, node.key))


@contextmanager
def _unwatched(node: Node, cached: bool) -> Iterator[None]:
    yield


def plan_graph(unit: Any, graph: Graph, cache: StageCache, force: frozenset[str]) -> list[dict[str, Any]]:
    """What :func:`run_graph` would do: per node, its key, whether it is cached and an estimated cost.

    A node after one that must be computed has no key yet (a new training is a new build), so it is
    not cached either."""
    rows = []
    for node in graph.nodes:
        stage = node.stage
        node.key = node_key(unit, node)
        metadata = None
        if node.key is not None and stage.name not in force:
            metadata = cache.peek_metadata(stage.name, node.key)
        node.cached = metadata is not None
        node.build = stage.build(node, metadata) if metadata is not None else None
        rows.append(
            {
                "task": unit.spec.name,
                "stage": stage.name,
                "model": node.subject,
                "key": node.key or "-",
                "cached": node.cached,
                "estimate_s": 0.0 if node.cached else stage.estimate_s(unit, node),
            }
        )
    return rows
