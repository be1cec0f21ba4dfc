"""Training throughput probe (issue #22): fine-tune MiniLM on N examples of TASK for one epoch with T threads.

Usage: ``python train_threads.py THREADS N [TASK]``; prints one JSON line (wall s, CPU s, tokens per second).
Run two at once with THREADS=1 to compare two single-thread trainings side by side with one two-thread training.
"""

import json
import sys
import tempfile
from pathlib import Path

import torch

from harness.models import load_model_for_kind, load_tokenizer, resolve_model_source
from harness.train import fine_tune
from harness.variants import seed_everything
from tasks.data import load_splits
from tasks.kinds import get_kind
from tasks.registry import get_tasks


def main(threads: int, examples: int, task: str) -> None:
    torch.set_num_threads(threads)
    spec = get_tasks([task], "probe")[0]
    kind = get_kind(spec.kind)
    raw = load_splits(spec, None, examples, 50)
    train = kind.prepare_split(spec, raw.train, raw.train_origin, is_train=True)
    source = resolve_model_source("minilm", allow_pickle=False)
    tokenizer = load_tokenizer(source, trust_remote_code=False)
    features = kind.tokenize(spec, tokenizer, train)
    seed_everything(42)
    model = kind.build_model(source, spec) or load_model_for_kind(source, kind.auto_class, kind.model_kwargs(spec))
    config = spec.training.model_copy(update={"epochs": 1})
    cost = fine_tune(model, kind, tokenizer, features, config, Path(tempfile.mkdtemp()), 42, progress=False)
    print(json.dumps({"threads": threads, "n": examples, "task": task, "wall_s": round(cost.wall_s, 2),
                      "cpu_s": round(cost.cpu_s, 2), "tok_per_s": round(cost.tokens / cost.wall_s)}))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "sentiment")
