#!/usr/bin/env bash
# The decoder-only teacher on real data (issue #17): smollm2 (SmolLM2-135M-Instruct, 30 x 576, 134.5 M, from a
# Q4_1 GGUF dequantised to float32) fine-tuned as a causal LM on a prompt through its chat template (loss on the
# target tokens only; bench/recipes/<task>-lm.yaml), a student that keeps 10 of its 30 decoder layers distilled
# with word-level KD, and every format: ONNX with a KV cache (text-generation-with-past) and dynamic int8.
# bench/teachers.py then writes bench/results/smollm2/SMOLLM2.md (score and CI, training time, batch-1 latency,
# the students).
#
#   bench/smollm2.sh DATA_DIR [TASK ...]     # default: multi30k; needs 'reusebench models install smollm2'
#   SCALE=0.5 bench/smollm2.sh DATA_DIR      # half of each cap
#
# Caps (train / eval examples, seeded subsets): a 135 M decoder trains at ~110 tokens/s on 2 CPU cores and
# decodes each eval example token by token in five formats, so a task is capped to fit about an hour.
set -euo pipefail
DATA_DIR=${1:?usage: bench/smollm2.sh DATA_DIR [TASK ...]}
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
SCALE=${SCALE:-1}
# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"
declare -A TRAIN=( [multi30k]=2000 [aeslc]=1000 )
declare -A EVAL=(  [multi30k]=200  [aeslc]=100 )
ORDER=(multi30k)
TASKS=("$@")
[ ${#TASKS[@]} -eq 0 ] && TASKS=("${ORDER[@]}")
require_model smollm2
mkdir -p "$ROOT/bench/results/smollm2" "$ROOT/bench/runs"
for task in "${TASKS[@]}"; do
  [ -n "${TRAIN[$task]:-}" ] || { echo "unknown task $task (known: ${!TRAIN[*]})" >&2; exit 2; }
  train=$(scaled "${TRAIN[$task]}")
  eval=$(scaled "${EVAL[$task]}")
  out="$ROOT/bench/runs/smollm2-$task"
  echo "== $task: $train train / $eval eval, teacher smollm2 ($(date -u +%H:%M:%S))"
  start=$(date +%s)
  (cd "$ROOT" && "$PY" -m harness.cli run --tasks "bench/recipes/$task-lm.yaml" --data-dir "$DATA_DIR" \
      --suite bench/recipes/smollm2-suite.yaml --training-lanes 1 \
      --max-train "$train" --max-eval "$eval" --out "$out" --quiet)
  cp "$out/results.json" "$ROOT/bench/results/smollm2/$task.json"
  echo "   done in $(( $(date +%s) - start )) s -> bench/results/smollm2/$task.json"
done
"$PY" "$ROOT/bench/teachers.py" "$ROOT"/bench/results/smollm2/*.json --out "$ROOT/bench/results/smollm2/SMOLLM2.md"
