"""The environment of a measurement process (started fresh, or a measurement server's)."""

from __future__ import annotations

import os
from pathlib import Path

# harness/measure/child_env.py -> the directory that holds the harness package.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def child_env(threads: int) -> dict[str, str]:
    """The environment of a measurement process: the parent's, with thread counts pinned and offline mode."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(threads)
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["HF_HUB_OFFLINE"] = "1"
    # So that `-m harness.measure.worker` resolves from any working directory, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    return env
