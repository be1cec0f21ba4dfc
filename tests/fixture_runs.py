"""Helpers shared by the report, store, compare and leaderboard tests: the fixture run and variants of it.

``fixtures/results_small.json`` is a real run of the end-to-end test's tiny suite (one task, the packaged
MiniLM teacher and a 3-layer student, in PyTorch, ONNX and ONNX int8).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"


def fixture_dict() -> dict[str, Any]:
    """A fresh copy of the fixture run as a dict."""
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def write_run(folder: Path, data: dict[str, Any], name: str = "results.json") -> Path:
    """Write a results dict into ``folder/name`` and return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def variant(mutate: Callable[[dict[str, Any]], None], **top: Any) -> dict[str, Any]:
    """A copy of the fixture, changed by ``mutate`` and with top-level fields replaced."""
    data = copy.deepcopy(fixture_dict())
    mutate(data)
    data.update(top)
    return data


def scale_students(
    score: float = 1.0, latency: float = 1.0, *, ci: bool = True
) -> Callable[[dict[str, Any]], None]:
    """Multiply every student's score (and CI, primary metric) and latency percentiles."""

    def mutate(data: dict[str, Any]) -> None:
        for record in data["records"]:
            if record["role"] != "student":
                continue
            record["score"] *= score
            record["metrics"][record["primary_metric"]] *= score
            if ci:
                record["score_ci"] = [v * score for v in record["score_ci"]]
            for block in record["latency_ms"].values():
                for key in ("p50", "p90", "p99", "mean", "min", "max"):
                    block[key] *= latency

    return mutate


def rename_model(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    """Rename a model everywhere (records and scorecards)."""

    def mutate(data: dict[str, Any]) -> None:
        for record in data["records"]:
            if record["model"] == old:
                record["model"] = new
        for card in data["scorecards"]:
            for key in ("teacher", "student"):
                if card[key] == old:
                    card[key] = new

    return mutate


def rename_task(new: str) -> Callable[[dict[str, Any]], None]:
    """Rename the fixture's task everywhere."""

    def mutate(data: dict[str, Any]) -> None:
        for item in data["records"] + data["scorecards"]:
            item["task"] = new

    return mutate
