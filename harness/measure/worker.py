"""Measurement worker: ``python -m harness.measure.worker JOB.json RESULT.json``.

Meant to run in a fresh process: started for one job (see :mod:`harness.measure.isolated`), or forked
for it by a server that imported the runtime already (:mod:`harness.measure.forkserver`). ONNX formats never import torch
(except generation exports, which decode through optimum), which keeps start-up fast and memory honest.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from harness.measure.latency import measure_latency
from harness.measure.memory import PeakRSSSampler, cuda_peak_mb

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def import_runtime(fmt: str, model_dir: str) -> None:
    """Import what measuring ``fmt`` needs (for PyTorch, the model's architecture classes too)."""
    # Imported before the RSS baseline and the load timer: peak_rss_mb and load_s are then the model
    # itself, while process_peak_rss_mb includes the runtime.
    if fmt == "pytorch":
        import torch  # noqa: F401
        import transformers

        # transformers imports model classes lazily (seconds for the first one): resolve it here too.
        try:
            architectures = json.loads((Path(model_dir) / "config.json").read_text()).get("architectures") or []
        except (OSError, ValueError):
            architectures = []
        for name in architectures:
            getattr(transformers, name, None)
    else:
        import onnxruntime  # noqa: F401

        from harness.backends import generation_family, import_onnx_generation_classes

        if generation_family(model_dir):
            # Generation exports decode through optimum's ORT classes (and torch for the loop): runtime too.
            import_onnx_generation_classes()


def _batch_inputs(data: np.lib.npyio.NpzFile, batch_size: int) -> dict[str, np.ndarray]:
    prefix = f"b{batch_size}__"
    batch = {key[len(prefix):]: data[key] for key in data.files if key.startswith(prefix)}
    if not batch:
        raise ValueError(f"inputs file has no arrays for batch size {batch_size} (names starting {prefix!r})")
    return batch


def run_job(job: dict, import_s: float | None = None) -> dict:
    """Load the model in ``job``, time each batch size and return the result dict.

    ``import_s``: the runtime's import time when a pre-started worker already imported it."""
    from harness.backends import load_predictor

    threads = int(job.get("threads") or 1)
    t0 = time.perf_counter()
    import_runtime(job["fmt"], job["model_dir"])
    import_s = time.perf_counter() - t0 if import_s is None else import_s
    data = np.load(job["inputs"])
    batches = {int(b): _batch_inputs(data, int(b)) for b in job["batch_sizes"]}
    latency: dict[str, dict] = {}
    with PeakRSSSampler() as rss:
        t0 = time.perf_counter()
        predictor = load_predictor(job["model_dir"], job["fmt"], device=job.get("device", "cpu"), threads=threads)
        load_s = time.perf_counter() - t0
        for batch_size, batch in batches.items():
            seq_len = int(next(iter(batch.values())).shape[1])
            stats = measure_latency(
                lambda batch=batch: predictor.forward(batch),
                warmup=job.get("warmup", 5),
                min_iterations=job.get("min_iterations", 20),
                min_seconds=job.get("min_seconds", 1.0),
                max_cv=job.get("max_cv", 0.15),
                max_other_load=job.get("max_other_load", 0.25),
                retries=job.get("retries", 2),
                batch_size=batch_size,
                seq_len=seq_len,
                threads=threads,
            )
            block = stats.to_dict()
            # Generation predictors report their decoding steps: latency per generated token (per step of
            # the whole batch; greedy decoding of the same inputs always takes the same number of steps).
            generated = getattr(predictor, "last_generated_tokens", None)
            if generated:
                block["generated_tokens"] = int(generated)
                block["ms_per_token"] = block["p50"] / generated
            latency[f"batch_{batch_size}"] = block
    largest = latency[f"batch_{max(batches)}"]
    return {
        "latency_ms": latency,
        "throughput_per_s": largest["batch_size"] * 1000.0 / largest["mean"] if largest["mean"] > 0 else None,
        "peak_rss_mb": rss.peak_above_baseline_mb,
        "process_peak_rss_mb": rss.peak_mb,
        "baseline_rss_mb": rss.baseline_mb,
        "load_s": load_s,
        "runtime_import_s": import_s,
        "threads": threads,
        "thread_env": {name: os.environ.get(name) for name in THREAD_ENV},
        "cuda_peak_mb": cuda_peak_mb(),
        "torch_imported": "torch" in sys.modules,
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m harness.measure.worker JOB.json RESULT.json", file=sys.stderr)
        return 2
    job = json.loads(Path(args[0]).read_text())
    result = run_job(job)
    Path(args[1]).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
