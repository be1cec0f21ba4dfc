"""The predict interface the task kinds evaluate through.

It lives with the task kinds (the lowest layer that uses it): :mod:`harness.backends` implements it for
PyTorch and ONNX Runtime, and re-exports it as ``harness.backends.Predictor``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Predictor(Protocol):
    """What evaluation and measurement need from a loaded model."""

    fmt: str
    input_names: list[str]

    def forward(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the model on one batch; returns named output arrays."""
        ...
