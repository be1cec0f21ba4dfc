#!/usr/bin/env bash
# The quick suite on one CUDA GPU: bf16/fp16 training, ONNX Runtime through the CUDA execution provider.
# Fails (exit 2, one line) when CUDA is asked for but absent: never a silent CPU fallback.
# Usage: bench/gpu_check.sh [OUT_DIR]
# Set-up: make install; then swap the CPU runtime for the GPU one (they must not both be installed):
#   .venv/bin/pip uninstall -y onnxruntime && .venv/bin/pip install ".[gpu]"
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/gpu-check}
start=$(date +%s)
.venv/bin/python - <<'PY'
import sys
import onnxruntime as ort
import torch
if not torch.cuda.is_available():
    sys.exit("gpu_check: torch sees no CUDA device")
if "CUDAExecutionProvider" not in ort.get_available_providers():
    sys.exit("gpu_check: onnxruntime has no CUDAExecutionProvider (pip install '.[gpu]')")
print("gpu:", torch.cuda.get_device_name(0), "| bf16:", torch.cuda.is_bf16_supported())
PY
.venv/bin/reusebench run --device cuda --out "$out" --quiet
echo "gpu_check: wall $(( $(date +%s) - start )) s; table above, results in $out/results.json"
