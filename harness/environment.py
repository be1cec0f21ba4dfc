"""What a result was measured on: software versions, CPU and its vector ISA, GPU, threads, git commit.

Nothing here imports torch (versions come from package metadata) and the hostname is not recorded.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGES = (
    "torch",
    "transformers",
    "onnxruntime",
    "optimum",
    "optimum-onnx",
    "datasets",
    "evaluate",
    "numpy",
    "tokenizers",
)
# Vector and matrix extensions that decide which kernels (and which int8 paths) are fast.
CPU_FLAGS = (
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)
# The directory that holds the harness package.
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        if distribution == "onnxruntime":  # the GPU build has another distribution name
            return _version("onnxruntime-gpu")
        return None


def _cpuinfo() -> tuple[str | None, set[str] | None]:
    """(model name, flags) from /proc/cpuinfo; (None, None) where it does not exist."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None, None
    model, flags = None, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    return model, flags


def isa_summary(flags: set[str] | None) -> str:
    """One line such as ``"AVX2, no VNNI, no AMX"`` from a set of /proc/cpuinfo flags."""
    if not flags:
        return "unknown"
    if "avx512f" in flags:
        vector = "AVX-512"
    elif "avx2" in flags:
        vector = "AVX2"
    elif "avx" in flags:
        vector = "AVX"
    else:
        vector = "no AVX"
    vnni = [name for flag, name in (("avx512_vnni", "AVX512-VNNI"), ("avx_vnni", "AVX-VNNI")) if flag in flags]
    parts = [vector, ", ".join(vnni) if vnni else "no VNNI"]
    if "avx512_bf16" in flags:
        parts.append("AVX512-BF16")
    parts.append("AMX" if "amx_tile" in flags else "no AMX")
    return ", ".join(parts)


def _onnxruntime_providers() -> list[str] | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    return list(onnxruntime.get_available_providers())


def _gpu() -> dict | None:
    """Name(s), driver and count from nvidia-smi, or None without it."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        proc = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    rows = [[c.strip() for c in line.split(",")] for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not rows:
        return None
    names = list(dict.fromkeys(row[0] for row in rows))
    return {"name": "; ".join(names), "driver": rows[0][-1], "count": len(rows)}


def _git(*args: str) -> str | None:
    # GIT_OPTIONAL_LOCKS=0: `git status` must not rewrite the index of the checkout it inspects.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        proc = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, timeout=5, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _git_state() -> tuple[str | None, bool | None]:
    """(HEAD commit, dirty); (None, None) outside a git checkout, (None, dirty) before the first commit."""
    if _git("rev-parse", "--is-inside-work-tree") is None:
        return None, None
    head = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain")
    return (head.strip() if head else None), (bool(status.strip()) if status is not None else None)


def capture_environment(seed: int | None = None, threads: int | None = None) -> dict:
    """Describe the software and hardware a result is measured on (no hostname, torch not imported)."""
    model, flags = _cpuinfo()
    commit, dirty = _git_state()
    try:
        usable_cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable_cpus = os.cpu_count()
    versions = {name: _version(name) for name in PACKAGES}
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        # The contract names these three at the top level; every version is also under "versions".
        "torch": versions.get("torch"),
        "transformers": versions.get("transformers"),
        "onnxruntime": versions.get("onnxruntime"),
        "versions": versions,
        "cpu": model or platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable_cpus,
        "cpu_flags": [f for f in CPU_FLAGS if f in flags] if flags is not None else None,
        "isa_summary": isa_summary(flags),
        "threads": threads,
        "thread_env": {n: os.environ.get(n) for n in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")},
        "onnxruntime_providers": _onnxruntime_providers(),
        "gpu": _gpu(),
        "git_commit": commit,
        "git_dirty": dirty,
        "seed": seed,
    }
