"""Task kinds behind one protocol (:class:`tasks.kinds.base.TaskKind`)."""

from __future__ import annotations

from tasks.errors import ConfigError
from tasks.kinds.base import EvalOutput, TaskKind
from tasks.kinds.classification import ClassificationKind
from tasks.kinds.generation import GenerationKind
from tasks.kinds.ner import NerKind
from tasks.kinds.qa import QaKind
from tasks.kinds.similarity import SimilarityKind

KINDS: dict[str, type[TaskKind]] = {
    "classification": ClassificationKind,
    "similarity": SimilarityKind,
    "ner": NerKind,
    "qa": QaKind,
    "generation": GenerationKind,
}


def get_kind(name: str) -> TaskKind:
    """The task-kind implementation for ``name``."""
    if name not in KINDS:
        raise ConfigError(f"task kind {name!r} is not implemented yet; available: {', '.join(KINDS)}")
    return KINDS[name]()


__all__ = ["KINDS", "EvalOutput", "TaskKind", "get_kind"]
