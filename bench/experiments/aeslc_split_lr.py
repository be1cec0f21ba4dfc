"""Experiment driver (not a reusebench feature): fine-tune with a separate learning rate for the parameters
that a BERT2BERT warm start creates (the decoder's cross-attention and its LM-head transform), then run the
reusebench CLI as usual.

It patches ``transformers.Trainer.create_optimizer`` for this process only, so run it with ``--no-cache``
(the stage cache's keys do not know about the patch):

    NEW_LR=5e-4 .venv/bin/python bench/experiments/aeslc_split_lr.py run --suite SUITE.yaml \\
        --data-dir ../shared/data --max-train 1000 --max-eval 200 --out OUT --no-cache --quiet

The task's ``training.learning_rate`` applies to every other parameter. Used for the AESLC experiments in
bench/results/experiments/aeslc-split-lr-*.json (bench/RESULTS.md, "Full real-data benchmark").
"""

from __future__ import annotations

import os
import sys
from typing import Any

NEW_PARAMETER_MARKERS = ("crossattention", "cls.predictions")


def is_new(name: str) -> bool:
    """Whether a parameter of a warm-started BERT2BERT model is absent from the encoder checkpoint."""
    return any(marker in name for marker in NEW_PARAMETER_MARKERS)


def _create_optimizer(self: Any) -> Any:
    import torch

    if self.optimizer is None:
        new_lr = float(os.environ["NEW_LR"])
        decay = set(self.get_decay_parameter_names(self.model))
        groups = []
        for new in (False, True):
            for decayed in (True, False):
                params = [
                    p
                    for n, p in self.model.named_parameters()
                    if p.requires_grad and is_new(n) == new and (n in decay) == decayed
                ]
                if params:
                    groups.append(
                        {
                            "params": params,
                            "weight_decay": self.args.weight_decay if decayed else 0.0,
                            "lr": new_lr if new else self.args.learning_rate,
                        }
                    )
        print("parameter groups (tensors, lr):", [(len(g["params"]), g["lr"]) for g in groups], file=sys.stderr)
        self.optimizer = torch.optim.AdamW(groups, lr=self.args.learning_rate)
    return self.optimizer


def main() -> int:
    import transformers

    from harness.cli import main as reusebench_main

    if "NEW_LR" not in os.environ:
        sys.exit("set NEW_LR, the learning rate of the new parameters (e.g. NEW_LR=5e-4)")
    transformers.Trainer.create_optimizer = _create_optimizer
    return reusebench_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
