"""Cost estimates for ``--dry-run``: training FLOPs from the 6·N·D rule over an assumed throughput."""

from __future__ import annotations

from functools import lru_cache

# Sustained training throughput assumed by --dry-run's estimates: about 70 % of the fp32 matmul peak
# measured on the reference 2-core CPU (85 GFLOP/s in training; see docs/measurement.md).
ESTIMATE_FLOPS_PER_S = 60e9
#: export, evaluation and measurement of one (model, format), on the reference CPU (the export's share included).
ESTIMATE_SECONDS_PER_RECORD = 8.0


@lru_cache(maxsize=32)
def encoder_params(source: str) -> tuple[int, int]:
    """(layers, 12·L·H²): the usual non-embedding parameter estimate of a transformer."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(source)
    config = getattr(config, "encoder", None) or config
    layers = int(getattr(config, "num_hidden_layers", 0) or getattr(config, "n_layer", 0) or 0)
    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "n_embd", 0) or 0)
    return layers, 12 * layers * hidden * hidden


def training_seconds(trained_params: float, teacher_params: float, tokens: int, epochs: float) -> float:
    """Seconds to train ``trained_params`` on ``tokens`` for ``epochs`` (6·N·D), plus the forward passes
    of a teacher of ``teacher_params`` when distilling (2·N·D; 0 for fine-tuning)."""
    return (6.0 * trained_params + 2.0 * teacher_params) * tokens * epochs / ESTIMATE_FLOPS_PER_S
