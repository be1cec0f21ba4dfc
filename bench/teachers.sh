#!/usr/bin/env bash
# Two teachers side by side on real data (issue #17): the packaged MiniLM (6 x 384, 22.7 M) and mpnet
# (all-mpnet-base-v2, 12 x 768, 109.5 M), as one matrix run per task: the same training subset, the same eval
# split, the same students (6, 4 and 3 layers, spread evenly over each teacher's depth, and the pretrained MiniLM
# re-indexed to the teacher's token ids, remapped=minilm), every format. bench/teachers.py then writes
# bench/results/teachers/TEACHERS.md: each teacher's score with its CI, their paired difference on the same eval
# examples, training cost and batch-1 latency, and each teacher's best student.
#
#   bench/teachers.sh DATA_DIR [TASK ...]          # default: every task below; needs 'reusebench models install mpnet'
#   SCALE=0.5 bench/teachers.sh DATA_DIR sst2      # half of each cap
#   NO_STUDENTS=1 bench/teachers.sh DATA_DIR stsb  # teachers and adaptation methods only (below)
#
# Students and methods: the quick suite's settings (its four adaptation methods, LoRA at 2e-3) plus the four
# students above. NO_STUDENTS=1 runs bench/recipes/adaptation-suite.yaml instead (estimates, probe, LoRA at 5e-4,
# full fine-tuning, PyTorch, no students): mpnet's ladder costs about 40 minutes a task on 2 cores.
#
# Caps (train / eval examples, seeded subsets: the same examples for both teachers and for every run). mpnet
# trains at about a fifth of MiniLM's speed on 2 CPU cores, so the training sets are capped to fit well under an hour
# per task; the packaged task definitions (tasks/definitions/) are used unchanged, for both teachers.
set -euo pipefail
DATA_DIR=${1:?usage: bench/teachers.sh DATA_DIR [TASK ...]}
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
SCALE=${SCALE:-1}
# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"
declare -A TRAIN=( [sst2]=1000 [mrpc]=1000 [stsb]=1000 [conll2003]=1000 [tydiqa_goldp_en]=500 )
declare -A EVAL=(  [sst2]=872  [mrpc]=408  [stsb]=500  [conll2003]=500  [tydiqa_goldp_en]=300 )
ORDER=(sst2 mrpc stsb conll2003 tydiqa_goldp_en)
TASKS=("$@")
[ ${#TASKS[@]} -eq 0 ] && TASKS=("${ORDER[@]}")
require_model mpnet
mkdir -p "$ROOT/bench/results/teachers" "$ROOT/bench/runs"
if [ "${NO_STUDENTS:-0}" = 1 ]; then
  PLAN=(--suite bench/recipes/adaptation-suite.yaml)
else
  PLAN=(--student layers=6 --student layers=4 --student layers=3 --student remapped=minilm)
fi
for task in "${TASKS[@]}"; do
  [ -n "${TRAIN[$task]:-}" ] || { echo "unknown task $task (known: ${ORDER[*]})" >&2; exit 2; }
  train=$(scaled "${TRAIN[$task]}")
  eval=$(scaled "${EVAL[$task]}")
  out="$ROOT/bench/runs/teachers-$task"
  echo "== $task: $train train / $eval eval, teachers minilm and mpnet ($(date -u +%H:%M:%S))"
  start=$(date +%s)
  (cd "$ROOT" && "$PY" -m harness.cli run --tasks "$task" --data-dir "$DATA_DIR" --teacher minilm --teacher mpnet \
      "${PLAN[@]}" --training-lanes 1 --max-train "$train" --max-eval "$eval" --out "$out" --quiet)
  cp "$out/results.json" "$ROOT/bench/results/teachers/$task.json"
  echo "   done in $(( $(date +%s) - start )) s -> bench/results/teachers/$task.json"
done
"$PY" "$ROOT/bench/teachers.py" "$ROOT"/bench/results/teachers/*.json
