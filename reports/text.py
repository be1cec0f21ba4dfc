"""Text shared by the Markdown and HTML outputs: numbers with a dash when missing, CI brackets, batch keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from harness.results import Record, RunResults

MISSING = "–"


def fmt(value: float | None, digits: int = 3, suffix: str = "") -> str:
    """``value`` with ``digits`` decimals and a suffix; ``–`` when missing."""
    return MISSING if value is None else f"{value:.{digits}f}{suffix}"


def ci_text(ci: Iterable[float] | None, digits: int = 3) -> str:
    """`` [low, high]`` (with its leading space) for a CI given as a pair or a
    :class:`harness.results.ScoreInterval`; empty when there is none."""
    if ci is None:
        return ""
    low, high = ci
    return f" [{low:.{digits}f}, {high:.{digits}f}]"


def batch_order(key: str) -> tuple[int, str]:
    """Sort key for ``latency_ms`` keys (``batch_N``): by batch size, keys without one last."""
    size = key.split("_")[-1]
    return (int(size) if size.isdigit() else 2**63, key)


def latency_keys(records: Sequence[Record]) -> list[str]:
    """Every ``latency_ms`` key measured in ``records``, smallest batch first."""
    return sorted({k for r in records for k in r.latency_ms}, key=batch_order)


def batch_label(key: str) -> str:
    """``batch_8`` → ``batch 8``: a latency key as shown in headers and messages."""
    return key.replace("_", " ")


def measure_settings(results: RunResults) -> dict[str, Any]:
    """The suite's ``measure`` settings recorded in the run's config (empty when absent or malformed)."""
    suite = results.config.get("suite")
    measure = suite.get("measure") if isinstance(suite, dict) else None
    return measure if isinstance(measure, dict) else {}


def ran_what(suite_label: str) -> tuple[str, str]:
    """A results file's ``suite`` as a header says it: ``("suite", "quick")``, or ``("tasks", "a.yaml, b")``
    for a run whose ``--tasks`` replaced the suite's tasks (its label starts with ``tasks: ``)."""
    if suite_label.startswith("tasks: "):
        return "tasks", suite_label[len("tasks: "):]
    return "suite", suite_label
