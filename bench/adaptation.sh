#!/usr/bin/env bash
# Real-data adaptation bench (issue #18): transferability estimates, a linear probe, LoRA and full fine-tuning
# of the MiniLM model on SST-2, STS-B and MRPC (bench/recipes/adaptation-suite.yaml), each training set capped
# at MAX_TRAIN examples (a seeded subset, the same every time) so that the run fits a quarter of an hour on 2
# cores. Writes bench/results/adaptation/results.json and the run's scorecard.md (its "Adaptation" section is
# the table).
#
#   bench/adaptation.sh DATA_DIR                  # DATA_DIR: the layout of ../shared/data
#   MAX_TRAIN=8000 bench/adaptation.sh DATA_DIR
set -euo pipefail
DATA_DIR=${1:?usage: bench/adaptation.sh DATA_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
MAX_TRAIN=${MAX_TRAIN:-2000}
MAX_EVAL=${MAX_EVAL:-1500}
OUT="$ROOT/bench/results/adaptation"
mkdir -p "$OUT" "$ROOT/bench/runs"
start=$(date +%s)
(cd "$ROOT" && HF_HUB_OFFLINE=1 "$PY" -m harness.cli run --suite bench/recipes/adaptation-suite.yaml \
    --data-dir "$DATA_DIR" --max-train "$MAX_TRAIN" --max-eval "$MAX_EVAL" --no-cache \
    --out "$ROOT/bench/runs/adaptation" --quiet)
cp "$ROOT/bench/runs/adaptation/results.json" "$ROOT/bench/runs/adaptation/scorecard.md" "$OUT/"
echo "done in $(( $(date +%s) - start )) s -> $OUT"
