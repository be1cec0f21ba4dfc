"""Trained models as the stages pass them on: a :class:`Variant` (teacher or student) and its formats."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.results import Lineage
from harness.train import TrainCost


@dataclass
class Variant:
    """One trained model (teacher or student) and the folders of its formats."""

    name: str
    role: str
    pytorch_dir: Path
    params: int
    train_cost: TrainCost | None
    lineage: Lineage
    format_dirs: dict[str, Path] = field(default_factory=dict)
    format_errors: dict[str, str] = field(default_factory=dict)
    key: str = ""
    # Which training produced these weights. Later stages key on it rather than on ``key``: a model retrained
    # under the same key (its entry evicted or lost) must not inherit the exports and records of the old one.
    build: str = ""
    label: str = "teacher"
    cached: bool = False
    #: for role "adapted": the method ("probe", "lora") and the parameters it trained
    method: str | None = None
    trainable_params: int | None = None


def build_of(metadata: dict[str, Any], key: str) -> str:
    """The build (training) identity stored in a cache entry's metadata; entries written before builds
    were recorded are identified by their key."""
    return str(metadata.get("build") or key)


def model_identity(source: str) -> dict[str, Any]:
    """What identifies a starting model in a cache key: a Hub id, or a folder's config and weights."""
    path = Path(source)
    if not path.is_dir():
        return {"hub_id": source}
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".json", ".safetensors", ".bin", ".txt"))
    return {"folder_files": {p.name: p.stat().st_size for p in files}, "config": (path / "config.json").read_text()}


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch so that a model built next is the same in every run."""
    from transformers import set_seed

    set_seed(seed)
