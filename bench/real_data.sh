#!/usr/bin/env bash
# Real-data benchmark: the full reusebench pipeline (MiniLM teacher, 3-layer student, ONNX, int8) on every
# data set of DATA_DIR (the layout of ../shared/data), with the size caps below. Each run's results.json is
# copied to bench/results/<task>.json; bench/summarize.py writes bench/RESULTS.md from them.
#
#   bench/real_data.sh DATA_DIR [TASK ...]        # default: every task below
#   SCALE=0.1 bench/real_data.sh DATA_DIR sst2    # a tenth of each cap, for a quick look
#
# Caps (train / eval examples; a seeded subset, the same every time). The training sets of sst2, mrpc, stsb,
# conll2003, TyDi QA and AESLC run complete; ag_news and multi30k, and the generation tasks' evaluation sets,
# are capped so that the whole bench fits a few hours on 2 CPU cores (per task in bench/RESULTS.md). ag_news has no
# bar; the generation tasks decode greedily in five formats (ONNX without a KV cache), which makes them 5-10x
# dearer per example than the classification tasks. A task listed in RECIPE runs a bench recipe instead of its
# packaged definition.
set -euo pipefail
DATA_DIR=${1:?usage: bench/real_data.sh DATA_DIR [TASK ...]}
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
SCALE=${SCALE:-1}
# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"
declare -A TRAIN=( [sst2]=67349 [ag_news]=1000 [mrpc]=3668 [stsb]=5749 [conll2003]=14041
                   [tydiqa_goldp_en]=2196 [aeslc]=14436 [multi30k]=600 )
declare -A EVAL=(  [sst2]=872 [ag_news]=500 [mrpc]=408 [stsb]=1500 [conll2003]=3250
                   [tydiqa_goldp_en]=1000 [aeslc]=200 [multi30k]=200 )
# Bench recipes that differ from the packaged task definition (tasks/definitions/), with the reason in the file.
declare -A RECIPE=( [sst2]=bench/recipes/sst2.yaml )
ORDER=(sst2 ag_news mrpc stsb conll2003 tydiqa_goldp_en aeslc multi30k)
TASKS=("$@")
[ ${#TASKS[@]} -eq 0 ] && TASKS=("${ORDER[@]}")
mkdir -p "$ROOT/bench/results" "$ROOT/bench/runs"
for task in "${TASKS[@]}"; do
  [ -n "${TRAIN[$task]:-}" ] || { echo "unknown task $task (known: ${ORDER[*]})" >&2; exit 2; }
  train=$(scaled "${TRAIN[$task]}")
  eval=$(scaled "${EVAL[$task]}")
  out="$ROOT/bench/runs/$task"
  echo "== $task: $train train / $eval eval ($(date -u +%H:%M:%S))"
  start=$(date +%s)
  (cd "$ROOT" && "$PY" -m harness.cli run --tasks "${RECIPE[$task]:-$task}" --data-dir "$DATA_DIR" --max-train "$train" \
      --max-eval "$eval" --out "$out" --quiet)
  cp "$out/results.json" "$ROOT/bench/results/$task.json"
  echo "   done in $(( $(date +%s) - start )) s -> bench/results/$task.json"
done
"$PY" "$ROOT/bench/summarize.py"
