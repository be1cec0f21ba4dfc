"""Test-wide settings: offline, quiet, deterministic."""

import os

# Set before transformers/datasets are imported by any test: nothing may touch the Hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

# Runs made by tests go to a throw-away results store, never the user's.
if "REUSEBENCH_DB" not in os.environ:
    import tempfile

    os.environ["REUSEBENCH_DB"] = "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="reusebench-test-db-"), "results.db")

# The user's named-model folder, read before the cache is replaced below: the slow tests that load the real
# mpnet and smollm2 look there (and skip when they are not installed); every other test installs into its own.
if "REUSEBENCH_USER_MODELS" not in os.environ:
    from harness.named_models import models_dir

    os.environ["REUSEBENCH_USER_MODELS"] = str(models_dir())

# ... and a throw-away stage cache, so that no test reuses another run's (or the user's) trained models.
if "REUSEBENCH_CACHE" not in os.environ:
    import tempfile

    os.environ["REUSEBENCH_CACHE"] = tempfile.mkdtemp(prefix="reusebench-test-cache-")

# ... and no test measures this machine's matmul peak (harness.peak): the peak whose 70 % is the reference CPU's
# 60 GFLOP/s, so that estimates stay those of the reference machine.
os.environ.setdefault("REUSEBENCH_PEAK_FLOPS", str(60e9 / 0.7))

# Under pytest-xdist (``make test`` runs two workers), each worker keeps to a CPU of its own, so that a test's
# threads (torch, ONNX Runtime, the measurement servers it starts, which inherit the mask) never compete with
# the other worker's: every thread count reusebench derives comes from this process's affinity mask.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and hasattr(os, "sched_setaffinity"):
    _cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {_cpus[int(_worker[2:]) % len(_cpus)]})



# Longest modules first (LPT scheduling). ``make test`` hands whole modules to two workers (--dist loadscope, so
# that module fixtures are built once) in collection order (--no-loadscope-reorder: xdist would otherwise order
# them by test count, which put the few-but-slow end-to-end modules last and left one worker idle for minutes).
# tests/module_seconds.json holds each module's measured seconds (bench/test_durations.py writes it from a JUnit
# file); a module missing from it counts as the median. The order only moves whole modules: a module's tests keep
# their order, and every worker computes the same order.
def pytest_collection_modifyitems(session, config, items):
    import json
    import statistics
    from pathlib import Path

    costs_file = Path(__file__).with_name("module_seconds.json")
    try:
        costs = json.loads(costs_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    default = statistics.median(costs.values()) if costs else 0.0
    items.sort(key=lambda item: -costs.get(item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1], default))
