#!/usr/bin/env bash
# Real-data benchmark: the full reusebench pipeline (MiniLM teacher, 3-layer student, ONNX, int8) on every
# data set of DATA_DIR (the layout of ../shared/data), with the size caps below. Each run's results.json is
# copied to bench/results/<task>.json; bench/summarize.py turns them into the README's table.
#
#   bench/real_data.sh DATA_DIR [TASK ...]        # default: every task below
#   SCALE=0.1 bench/real_data.sh DATA_DIR sst2    # a tenth of each cap, for a quick look
#
# Caps (train / eval examples; a seeded subset, the same every time). sst2 trains on 20,000 of its 67,349 phrases;
# mrpc, stsb and conll2003 run complete; the rest is capped so that the whole bench takes under two hours on
# 2 CPU cores (1 h 44 min measured; per task in the README). ag_news has no bar; TyDi QA trains on 384-token
# windows and the generation tasks decode greedily in five formats (ONNX without a KV cache), which makes them
# 5-10x dearer per example than the classification tasks.
set -euo pipefail
DATA_DIR=${1:?usage: bench/real_data.sh DATA_DIR [TASK ...]}
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
SCALE=${SCALE:-1}
declare -A TRAIN=( [sst2]=20000 [ag_news]=1000 [mrpc]=3668 [stsb]=5749 [conll2003]=14041
                   [tydiqa_goldp_en]=600 [aeslc]=1000 [multi30k]=600 )
declare -A EVAL=(  [sst2]=872 [ag_news]=500 [mrpc]=408 [stsb]=1500 [conll2003]=3250
                   [tydiqa_goldp_en]=300 [aeslc]=200 [multi30k]=200 )
ORDER=(sst2 ag_news mrpc stsb conll2003 tydiqa_goldp_en aeslc multi30k)
TASKS=("$@")
[ ${#TASKS[@]} -eq 0 ] && TASKS=("${ORDER[@]}")
mkdir -p "$ROOT/bench/results" "$ROOT/bench/runs"
for task in "${TASKS[@]}"; do
  [ -n "${TRAIN[$task]:-}" ] || { echo "unknown task $task (known: ${ORDER[*]})" >&2; exit 2; }
  train=$(SCALE=$SCALE N=${TRAIN[$task]} "$PY" -c 'import os; print(max(1, round(float(os.environ["SCALE"]) * int(os.environ["N"]))))')
  eval=$(SCALE=$SCALE N=${EVAL[$task]} "$PY" -c 'import os; print(max(1, round(float(os.environ["SCALE"]) * int(os.environ["N"]))))')
  out="$ROOT/bench/runs/$task"
  echo "== $task: $train train / $eval eval ($(date -u +%H:%M:%S))"
  start=$(date +%s)
  (cd "$ROOT" && "$PY" -m harness.cli run --tasks "$task" --data-dir "$DATA_DIR" --max-train "$train" \
      --max-eval "$eval" --out "$out" --quiet)
  cp "$out/results.json" "$ROOT/bench/results/$task.json"
  echo "   done in $(( $(date +%s) - start )) s -> bench/results/$task.json"
done
"$PY" "$ROOT/bench/summarize.py"
