"""Cost estimates for ``--dry-run``: training FLOPs from the 6·N·D rule over a sustained throughput, a fraction of
this machine's measured fp32 matmul peak (:mod:`harness.peak`)."""

from __future__ import annotations

from functools import lru_cache

#: The share of the fp32 matmul peak that training sustains: a transformer's step is mostly matmuls, but also
#: attention softmax, layer norms, the optimizer and data loading; on the reference 2-core CPU training reached
#: about 70 % of the measured peak (see docs/measurement.md).
SUSTAINED_FRACTION = 0.7
#: The sustained throughput assumed when the peak cannot be measured: 70 % of the reference 2-core CPU's
#: measured peak (about 85 GFLOP/s).
ESTIMATE_FLOPS_PER_S = 60e9
#: Evaluation and measurement of one (model, format), scaled by the kind's ``params_per_encoder_param``: the
#: quick suite's 32 records took 1.0-2.2 s each (mean 1.5 s) on a 2-core Xeon, generation's 1.6-8.7 s (mean 4.5 s).
ESTIMATE_SECONDS_PER_RECORD = 1.8
#: The ONNX export of one model, and each int8 format quantized from it, scaled as records are: measured on
#: the same Xeon 1.5-1.9 s for the fp32 export and 0.8-1.0 s more for dynamic int8 (generation: 4.4 and 5.2 s).
ESTIMATE_SECONDS_PER_EXPORT = 1.6
ESTIMATE_SECONDS_PER_INT8 = 0.9


@lru_cache(maxsize=32)
def encoder_params(source: str) -> tuple[int, int]:
    """(layers, 12·L·H²): the usual non-embedding parameter estimate of a transformer."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(source)
    config = getattr(config, "encoder", None) or config
    layers = int(getattr(config, "num_hidden_layers", 0) or getattr(config, "n_layer", 0) or 0)
    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "n_embd", 0) or 0)
    return layers, 12 * layers * hidden * hidden


def estimate_flops_per_s() -> float:
    """Sustained training FLOP/s on this machine: :data:`SUSTAINED_FRACTION` of its measured matmul peak, or
    :data:`ESTIMATE_FLOPS_PER_S` when the peak cannot be measured."""
    from harness.peak import peak_or_none

    peak = peak_or_none()
    return SUSTAINED_FRACTION * peak.flops_per_s if peak is not None else ESTIMATE_FLOPS_PER_S


def training_seconds(trained_params: float, teacher_params: float, tokens: int, epochs: float) -> float:
    """Seconds to train ``trained_params`` on ``tokens`` for ``epochs`` (6·N·D), plus the forward passes
    of a teacher of ``teacher_params`` when distilling (2·N·D; 0 for fine-tuning)."""
    return (6.0 * trained_params + 2.0 * teacher_params) * tokens * epochs / estimate_flops_per_s()
